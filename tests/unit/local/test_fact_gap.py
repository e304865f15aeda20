"""A reader that falls behind the log's rotation loses display lines, never facts (#27): the
lines of the fact record from the stretch rotated away come first in the next chunk, each
progress line exactly once, and the chunk says how many bytes were skipped."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

from wavedeck.agents.local.factscan import FactScanner
from wavedeck.agents.local.logfiles import facts_path
from wavedeck.agents.local.runner import WRAPPER
from wavedeck.agents.local.segments import SegmentWriter
from wavedeck.agents.local.tail import LogTailer


def _writer(log: Path, max_bytes: int, keep: int) -> SegmentWriter:
    return SegmentWriter(
        str(log), max_bytes, keep, facts=FactScanner(str(facts_path(log)), "generic")
    )


def test_a_gap_gives_its_recorded_lines_first_and_says_how_many_bytes(tmp_path: Path) -> None:
    log = tmp_path / "w1-a1.log"
    writer = _writer(log, 1000, 1)
    writer.write(b"first line\n")
    tailer = LogTailer(log)
    assert tailer.read_available().lines == ("first line",)
    for n in range(300):  # ~6 KB: far past one segment and the live file
        writer.write(
            b"noise %04d\n" % n + (b"wavedeck: done api-%d fixed\n" % n if n % 50 else b"")
        )
    writer.write(b"last line\n")
    # The file it held open is read to its end first (the descriptor keeps it), then the gap.
    chunks = [tailer.read_available() for _ in range(3)]
    gaps = [c for c in chunks if c.skipped]
    assert len(gaps) == 1 and gaps[0].recovered > 0
    gap = gaps[0]
    assert sum(c.skipped for c in chunks) == gap.skipped == tailer.skipped > 0
    recovered = gap.lines[: gap.recovered]
    assert all(line.startswith("wavedeck: done ") for line in recovered)
    lines = [line for c in chunks for line in c.lines] + list(tailer.flush().lines)
    assert lines[-1] == "last line" and lines.count("first line") == 0
    done = [line for line in lines if line.startswith("wavedeck: done ")]
    assert done == [f"wavedeck: done api-{n} fixed" for n in range(300) if n % 50]


def test_a_slow_reader_sees_every_progress_line_once(tmp_path: Path) -> None:
    """Lines of any length, rotations anywhere (a line cut between two files too), a reader
    that reads now and then: every done line once, in order."""
    log = tmp_path / "w1-a1.log"
    writer = _writer(log, 700, 1)
    tailer = LogTailer(log)
    draw = random.Random(27)
    seen: list[str] = []
    skipped = 0
    expected = []
    for n in range(3000):
        if n % 7 == 0:
            line = f"wavedeck: done i-{n} ok"
            expected.append(line)
        else:
            line = "x" * draw.randrange(0, 300)
        data = (line + "\n").encode()
        cut = draw.randrange(len(data) + 1)
        writer.write(data[:cut])
        writer.write(data[cut:])
        if draw.random() < 0.02:
            chunk = tailer.read_available()
            seen.extend(chunk.lines)
            skipped += chunk.skipped
    last = tailer.flush()
    seen.extend(last.lines)
    skipped += last.skipped
    assert skipped > 0  # the reader really fell behind
    assert [line for line in seen if line.startswith("wavedeck: done ")] == expected


def test_the_agent_runs_on_without_a_record_and_its_log_says_why(tmp_path: Path) -> None:
    log, exit_file = tmp_path / "a.log", tmp_path / "a.exit"
    argv = [sys.executable, "-I", str(WRAPPER), str(exit_file), "--log", str(log)]
    argv += ["--facts", str(tmp_path / "missing" / "a.facts"), "--facts-of", "claude"]
    done = subprocess.run([*argv, "--", "echo", "wavedeck: done api-1 ok"], timeout=30)
    assert done.returncode == 0
    text = log.read_text("utf-8")
    assert "wavedeck: no fact record, cannot open" in text
    assert "wavedeck: done api-1 ok" in text
