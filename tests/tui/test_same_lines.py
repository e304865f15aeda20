"""One line rule (issue #11): the same bytes give the same lines live (local tail, remote stream)
and read back (a pane's history on re-attach, the ``l`` full-log view), rotated or not."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tui.helpers import reference_plan
from wavedeck.agents.lines import MAX_LINE_BYTES, SPLIT_MARK, LineDecoder, decode_all
from wavedeck.agents.local.segments import SegmentWriter
from wavedeck.agents.local.tail import LogTailer
from wavedeck.tui.adapter import RunView
from wavedeck.tui.widgets.history import LineIndex
from wavedeck.tui.widgets.log_view import LogBuffer

EURO = "€".encode()  # three bytes: chunk boundaries are put inside it below
LONG = b"L" * (70 * 1024)  # a 70 KiB line: two pieces
PAYLOAD = (
    b"plain line\n"
    b"progress 10%\rprogress 50%\rprogress 100%\r\n"
    b"bad \xff\xfe bytes\n"
    + b"price "
    + EURO
    + b" 5\n"
    + LONG
    + b"\n"
    + b"x" * 1000
    + EURO * 30000
    + b"\n"  # ~91 KiB of multibyte characters in one line
    + b"last line without newline"
)


def _chunks(data: bytes) -> list[bytes]:
    """Chunks whose boundaries fall inside multibyte characters and inside long lines."""
    cuts = [data.index(EURO) + 1, data.index(EURO) + 2, len(data) // 3, len(data) // 2 + 1]
    cuts += [i for i in range(0, len(data), 4093)]
    cuts = sorted(set(c for c in cuts if 0 < c < len(data)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def _live_local(log: Path, chunks: list[bytes], max_bytes: int) -> tuple[list[str], int]:
    writer = SegmentWriter(str(log), max_bytes, 10_000)
    tailer = LogTailer(log)
    lines: list[str] = []
    for chunk in chunks:
        writer.write(chunk)
        lines.extend(tailer.read_available().lines)
    lines.extend(tailer.flush().lines)
    return lines, tailer.offset


def _live_remote(chunks: list[bytes]) -> list[str]:
    splitter = LineDecoder()
    lines: list[str] = []
    for chunk in chunks:
        lines.extend(splitter.feed(chunk)[0])
    lines.extend(splitter.flush()[0])
    return lines


@pytest.mark.parametrize("max_bytes", [0, 5000], ids=["one-file", "rotated"])
def test_live_and_read_back_lines_are_the_same(tmp_path: Path, max_bytes: int) -> None:
    chunks = _chunks(PAYLOAD)
    log = tmp_path / "w1-a1.log"
    local, offset = _live_local(log, chunks, max_bytes)
    assert offset == len(PAYLOAD)

    view = RunView(reference_plan())
    agent = next(iter(view.agents))
    view.load_history(agent, log, offset)  # re-attach
    index = LineIndex(log)  # the `l` view
    index.update()

    expected = decode_all(PAYLOAD)
    assert local == expected
    assert _live_remote(chunks) == expected
    live_pane = LogBuffer()  # what the pane held before the control room was closed
    live_pane.extend(local)
    assert list(view.agents[agent].log.lines) == list(live_pane.lines)
    assert index.line_count == len(expected)
    assert index.read_lines(0, len(expected)) == expected
    assert index.read_lines(4, 3) == expected[4:7]
    # The rules themselves, so a change to one shared rule still has to mean the same.
    assert expected[:4] == ["plain line", "progress 100%", "bad \ufffd\ufffd bytes", "price € 5"]
    assert expected[4] == "L" * MAX_LINE_BYTES + SPLIT_MARK
    assert expected[5] == "L" * (len(LONG) - MAX_LINE_BYTES)
    assert all(line.endswith(SPLIT_MARK) for line in expected[6:7])
    assert "".join(line.removesuffix(SPLIT_MARK) for line in expected[6:8]) == "x" * 1000 + (
        "€" * 30000
    )
    assert expected[-1] == "last line without newline"


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=1, max_value=len(PAYLOAD) - 1), max_size=12))
def test_any_chunking_gives_the_same_lines(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [PAYLOAD[a:b] for a, b in zip([0, *points], [*points, len(PAYLOAD)], strict=True)]
    decoder = LineDecoder()
    lines: list[str] = []
    counted = 0
    counter = LineDecoder()
    for chunk in chunks:
        lines.extend(decoder.feed(chunk)[0])
        counted += counter.count(chunk)[0]
    assert counted == len(lines)
    lines.extend(decoder.flush()[0])
    assert lines == decode_all(PAYLOAD)
