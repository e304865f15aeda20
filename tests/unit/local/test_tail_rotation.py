"""Log rotation (issue #12.11, B6): a flooding agent's log stays bounded on disk, and every line
reaches the control room exactly once across rotations, also when it closes and re-attaches."""

from __future__ import annotations

import os
from pathlib import Path

from tests.unit.local.prockit import flood_numbers, launch, sim_argv, wait_for_log
from wavedeck.agents.local.logfiles import LogFile, logical_size
from wavedeck.agents.local.runner import LocalRunner
from wavedeck.agents.local.segments import SegmentWriter, list_segments
from wavedeck.agents.local.tail import LogTailer

MAX = 16 * 1024


def _disk_use(log: Path) -> int:
    total = 0
    for path in log.parent.iterdir():
        if path.name.startswith(log.name):
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                pass  # pruned while we looked
    return total


def test_segment_writer_rotates_and_keeps_n_files(tmp_path: Path) -> None:
    log = tmp_path / "w1-a1.log"
    writer = SegmentWriter(str(log), 1000, 2)
    payload = b"".join(b"line %05d\n" % n for n in range(1000))  # 11,000 bytes
    for i in range(0, len(payload), 333):
        writer.write(payload[i : i + 333])
        assert _disk_use(log) <= 3 * 1000
    rotated, live_start = list_segments(str(log))
    # A full live file is rotated by the next write, not before: 10,000.. is live.
    assert [start for start, _ in rotated] == [8000, 9000]
    assert live_start == 10000 and log.stat().st_size == 1000
    assert logical_size(log) == len(payload)
    # Logical reads span files and match the bytes written.
    assert LogFile(log).pread(1500, 8500) == payload[8500:10000]
    assert LogFile(log).pread(5000, 8500) == payload[8500:]
    assert LogFile(log).pread(10, 0) == b""  # rotated away


def test_tailer_crosses_rotations_without_loss_or_repeat(tmp_path: Path) -> None:
    log = tmp_path / "w1-a1.log"
    writer = SegmentWriter(str(log), 700, 1000)
    tailer = LogTailer(log)
    seen: list[str] = []
    for n in range(3000):
        writer.write(b"entry %06d\n" % n)
        if n % 97 == 0:
            seen.extend(tailer.read_available().lines)
    seen.extend(tailer.flush().lines)
    assert seen == [f"entry {n:06d}" for n in range(3000)]
    assert tailer.offset == logical_size(log) and tailer.error is None


def test_a_line_cut_by_a_rotation_is_one_line(tmp_path: Path) -> None:
    log = tmp_path / "w1-a1.log"
    writer = SegmentWriter(str(log), 10, 1000)
    writer.write("näive ünïcode\r progress\r done 100%\n".encode() + b"\xff bad\n")
    lines = list(LogTailer(log).flush().lines)
    assert lines == [" done 100%", "\ufffd bad"]


def test_an_offset_rotated_away_resumes_at_the_oldest_byte_and_says_so(tmp_path: Path) -> None:
    log = tmp_path / "w1-a1.log"
    writer = SegmentWriter(str(log), 100, 1)
    for n in range(100):
        writer.write(b"entry %04d\n" % n)  # 11 bytes each: 1100 bytes, 100 kept + live
    tailer = LogTailer(log, 0)
    chunk = tailer.read_available()
    oldest = LogFile(log).start()
    assert oldest > 0 and tailer.skipped == oldest
    assert tailer.error is not None and "rotated away" in tailer.error
    lines = [*chunk.lines, *tailer.flush().lines]
    assert lines[-1] == "entry 0099" and len(lines) <= 20


async def test_flood_through_rotations_with_a_reattach_mid_flood(
    repo: Path, token: str, tmp_path: Path
) -> None:
    """A flooding agent, a 16 KiB log limit: the control room reads a while, closes (a new
    runner object, as after a restart), re-attaches at its saved offset; every line arrives
    exactly once, in order."""
    runner = LocalRunner(repo / ".wavedeck", log_max_bytes=MAX, log_keep=10_000)
    count = 60_000  # ~1.5 MB: about a hundred rotations
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--flood", str(count)))
    numbers: list[int] = []
    offset = 0
    async for chunk in runner.follow(handle, 0):
        numbers.extend(flood_numbers(list(chunk.lines), token))
        offset = chunk.offset
        if len(numbers) >= 5_000:
            break  # the control room goes away mid-flood
    reopened = LocalRunner(repo / ".wavedeck", log_max_bytes=MAX, log_keep=10_000)
    async for chunk in reopened.follow(handle, offset):
        numbers.extend(flood_numbers(list(chunk.lines), token))
    assert numbers == list(range(1, count + 1))
    rotated, _ = list_segments(handle.log_path)
    assert len(rotated) > 50
    assert all(Path(p).stat().st_size == MAX for _, p in rotated)


async def test_flood_keeps_disk_use_bounded(repo: Path, token: str) -> None:
    keep = 3
    runner = LocalRunner(repo / ".wavedeck", log_max_bytes=MAX, log_keep=keep)
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--flood", "40000"))
    log = Path(handle.log_path)
    peak = 0
    last: list[int] = []  # the flood's numbers in the last chunk holding any (the agent's last
    async for chunk in runner.follow(handle, 0):  # line may come on its own, after the flood)
        peak = max(peak, _disk_use(log))
        last = flood_numbers(list(chunk.lines), token) or last
    assert peak <= (keep + 1) * MAX
    assert _disk_use(log) <= (keep + 1) * MAX
    assert len(list_segments(str(log))[0]) == keep
    assert logical_size(log) > 10 * MAX
    assert last[-1] == 40000
    assert not [n for n in os.listdir(log.parent) if n.endswith(".tmp")]


async def test_lines_rotated_away_unread_are_told_to_the_operator(repo: Path, token: str) -> None:
    """A follower that comes back after its lines were rotated away (keep 1) is told once how
    many bytes it skipped, and goes on with what is left; no read error, no 'reads again'."""
    events: list[object] = []
    runner = LocalRunner(repo / ".wavedeck", events.append, log_max_bytes=MAX, log_keep=1)
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--flood", "20000"))
    await wait_for_log(handle, f"flood {token} 0020000")  # ~440 KB written: most rotated away
    numbers = [
        n
        async for chunk in runner.follow(handle, 0)
        for n in flood_numbers(list(chunk.lines), token)
    ]
    assert numbers[-1] == 20000 and numbers[0] > 1
    assert numbers == list(range(numbers[0], 20001))
    notices = [str(getattr(e, "message", "")) for e in events]
    assert len([n for n in notices if "rotated away before they were read" in n]) == 1
    assert not [n for n in notices if "reads again" in n or "cannot read" in n]
