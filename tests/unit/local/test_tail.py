"""LogTailer: byte offsets, partial lines, long lines, invalid UTF-8, \\r, read errors (B6, B7, E4)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.eventkit import until
from tests.unit.local.prockit import collect, flood_numbers, launch, sim_argv
from wavedeck.agents.lines import MAX_LINE_BYTES, SPLIT_MARK
from wavedeck.agents.local import tail
from wavedeck.agents.local.runner import LocalRunner
from wavedeck.agents.local.tail import LogTailer

pytestmark = pytest.mark.timeout(60)


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as handle:
        handle.write(data)


def test_partial_last_line_waits_for_its_newline(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    append(log, b"one\ntw")
    tailer = LogTailer(log)
    chunk = tailer.read_available()
    assert chunk.lines == ("one",) and chunk.offset == 4
    assert tailer.read_available().lines == ()
    append(log, b"o\nthree")
    chunk = tailer.read_available()
    assert chunk.lines == ("two",) and chunk.offset == 8
    last = tailer.flush()
    assert last.lines == ("three",) and last.offset == log.stat().st_size


def test_missing_file_is_not_an_error_until_it_appears(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    tailer = LogTailer(log)
    assert tailer.read_available().lines == ()
    assert tailer.error is not None and tailer.errors == 1
    append(log, b"hello\n")
    assert tailer.read_available().lines == ("hello",)
    assert tailer.error is None


def test_b7_invalid_utf8_is_replaced_never_raised(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    append(log, b"ok \xff\xfe bad\n\xc3\xa9t\xc3\xa9\n\xe2\x82\n")
    chunk = LogTailer(log).read_available()
    assert chunk.lines == ("ok \ufffd\ufffd bad", "été", "\ufffd")
    assert chunk.offset == log.stat().st_size


def test_b7_long_line_is_split_marked_and_every_byte_accounted(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    # A multi-byte character straddles each 64 KiB boundary: pieces must not cut it.
    body = ("é" * 40_000 + "x") * 10
    append(log, body.encode() + b"\nafter\n")
    tailer = LogTailer(log)
    lines: list[str] = []
    while chunk := tailer.read_available():
        if not chunk.lines:
            break
        lines.extend(chunk.lines)
    assert lines[-1] == "after"
    pieces = lines[:-1]
    assert len(pieces) > 10
    assert all(piece.endswith(SPLIT_MARK) for piece in pieces[:-1])
    assert not pieces[-1].endswith(SPLIT_MARK)
    assert all(len(p.removesuffix(SPLIT_MARK).encode()) <= MAX_LINE_BYTES for p in pieces)
    assert "".join(p.removesuffix(SPLIT_MARK) for p in pieces) == body
    assert "\ufffd" not in "".join(pieces)
    assert tailer.offset == log.stat().st_size


def test_b7_long_partial_line_is_bounded_in_memory(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    append(log, b"z" * (MAX_LINE_BYTES * 3 + 10))  # no newline yet
    tailer = LogTailer(log)
    chunk = tailer.read_available(max_bytes=1 << 30)
    assert len(chunk.lines) == 3 and chunk.offset == MAX_LINE_BYTES * 3
    assert tailer.flush().lines == ("z" * 10,)


def test_resuming_inside_a_split_line_loses_nothing(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    body = ("ü" * 1000 + "-") * 150  # ~300 KB, written in odd-sized pieces
    data = body.encode() + b"\ntail\n"
    pieces: list[str] = []
    offset = 0
    for start in range(0, len(data), 70_001):
        append(log, data[start : start + 70_001])
        tailer = LogTailer(log, offset)  # a new control room each time
        pieces.extend(tailer.read_available().lines)
        offset = tailer.offset
        tailer.close()
    assert pieces[-1] == "tail"
    assert "".join(p.removesuffix(SPLIT_MARK) for p in pieces[:-1]) == body
    assert offset == len(data)


def test_carriage_return_progress_keeps_the_last_text(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    append(log, b"10%\r50%\r100%\r\nplain\r\nbare\rend\nrepeat\r\r\n")
    assert LogTailer(log).read_available().lines == ("100%", "plain", "end", "repeat")


@pytest.mark.slow
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(
        st.one_of(
            st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40).map(
                lambda text: text.encode()
            ),
            st.binary(max_size=30),
        ).map(lambda raw: raw.replace(b"\n", b"")),
        min_size=1,
        max_size=40,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=8),
    restarts=st.lists(st.booleans(), max_size=8),
)
def test_resuming_at_the_offset_never_repeats_or_loses_a_line(
    tmp_path: Path, lines: list[bytes], cuts: list[int], restarts: list[bool]
) -> None:
    """Write a log in arbitrary pieces; read between pieces, sometimes with a new tailer
    started at the saved offset (a control-room restart): the lines match a one-shot read."""
    log = tmp_path / f"prop-{uuid.uuid4().hex}.log"  # tmp_path is shared by the examples
    data = b"".join(line + b"\n" for line in lines)
    positions = [*sorted({min(c, len(data)) for c in cuts}), len(data)]
    got: list[str] = []
    tailer = LogTailer(log)
    written = 0
    for index, position in enumerate(positions):
        append(log, data[written:position])
        written = position
        got.extend(tailer.read_available().lines)
        if index < len(restarts) and restarts[index]:
            tailer.close()
            tailer = LogTailer(log, tailer.offset)
    got.extend(tailer.flush().lines)
    expected = LogTailer(log).flush().lines
    assert tuple(got) == expected
    assert len(expected) == len(lines)


def test_e4_read_error_is_reported_and_retried(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    append(log, b"one\n")
    tailer = LogTailer(log)
    assert tailer.read_available().lines == ("one",)
    tailer.close()
    saved = tmp_path / "saved.log"
    log.rename(saved)
    log.mkdir()  # the path now names a directory: every read fails
    for _ in range(3):
        assert tailer.read_available().lines == ()
    assert tailer.errors == 3 and tailer.error is not None and str(log) in tailer.error
    log.rmdir()
    append(saved, b"two\n")
    saved.rename(log)
    assert tailer.read_available().lines == ("two",)
    assert tailer.error is None


def test_replaced_log_is_reported(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    append(log, b"one\n")
    tailer = LogTailer(log)
    assert tailer.read_available().lines == ("one",)
    log.unlink()
    assert tailer.read_available().lines == ()  # deleted: not an error, the fd still reads
    assert tailer.error is None
    append(log, b"another file\n")
    assert tailer.read_available().lines == ()
    assert tailer.error is not None and "replaced" in tailer.error


def test_e4_shrunken_log_is_reported(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    append(log, b"one\ntwo\n")
    tailer = LogTailer(log)
    tailer.read_available()
    log.write_bytes(b"")
    assert tailer.read_available().lines == ()
    assert tailer.error is not None and "shrank" in tailer.error


async def test_follow_reports_errors_and_ends_when_finished(tmp_path: Path) -> None:
    log = tmp_path / "dir.log"
    log.mkdir()
    errors: list[str] = []
    done = False
    polls = 0

    async def finished() -> bool:  # asked once per idle poll
        nonlocal polls
        polls += 1
        return done

    async def consume() -> list[str]:
        return [
            line
            async for chunk in tail.follow(
                LogTailer(log), finished, idle_s=0.005, on_error=errors.append
            )
            for line in chunk.lines
        ]

    task = asyncio.create_task(consume())
    await until(lambda: polls >= 5, 5, "five polls of the unreadable log")
    assert len(errors) == 1  # reported once, not at every poll
    shutil.rmtree(log)
    append(log, b"late\npartial")
    done = True
    assert await asyncio.wait_for(task, 5) == ["late", "partial"]


async def test_b6_flood_is_followed_live_in_order(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--flood", "200000"))
    numbers: list[int] = []
    async for chunk in runner.follow(handle, 0):
        numbers.extend(flood_numbers(list(chunk.lines), token))
    # Kept up: the last line was delivered soon after the agent ended.
    ended = json.loads(Path(handle.exit_path).read_text())["ended_at"]
    assert time.time() - ended < 3.0
    assert numbers == list(range(1, 200_001))


RSS_PROBE = """
import json, sys
from wavedeck.agents.local.tail import LogTailer
def hwm():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1])
before = hwm()
tailer = LogTailer(sys.argv[1])
count = 0
while True:
    chunk = tailer.read_available()
    if not chunk.lines:
        break
    count += len(chunk.lines)
count += len(tailer.flush().lines)
print(json.dumps({"lines": count, "growth_kb": hwm() - before}))
"""


def test_b6_tailer_memory_stays_bounded_on_a_big_log(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    line = b"x" * 120 + b"\n"
    with open(log, "wb") as handle:
        for _ in range(200):
            handle.write(line * 1000)  # 200k lines, ~24 MB
    result = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, str(log)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["lines"] == 200_000
    assert report["growth_kb"] < 8 * 1024, report  # bounded by the read size, not the log size


async def test_b7_one_megabyte_line_from_a_real_agent(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--line-bytes", "1000000"))
    chunks = await asyncio.wait_for(collect(runner, handle), 20)
    lines = [line for chunk in chunks for line in chunk.lines]
    pieces = [line for line in lines if line.startswith("L")]
    assert sum(len(p.removesuffix(SPLIT_MARK)) for p in pieces) == 999_999
    assert sum(p.endswith(SPLIT_MARK) for p in pieces) == len(pieces) - 1
    assert lines[-1].endswith("finished: 0 issues")
