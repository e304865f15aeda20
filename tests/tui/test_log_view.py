"""The log widget: escapes neutralised, markup literal, a bounded ring, coalesced repaints,
follow, search, and the on-disk history view (matrix D13, D14, E5)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from tests.tui.helpers import log_at_tail, settle, wait_for
from tests.tui.screen_text import screen_text
from wavedeck.tui.widgets.ansi import sanitize
from wavedeck.tui.widgets.history import HistoryView, LineIndex
from wavedeck.tui.widgets.log_view import MAX_LINES, LogBuffer, LogView

HOSTILE = [
    "\x1b]52;c;cm0gLXJmIH4=\x07clipboard",  # OSC 52: write the clipboard
    "\x1b[2Jcleared",  # clear the screen
    "\x1b[10;5Hmoved \x1b[Aup \x1b7saved\x1b8",  # cursor moves, save/restore
    "\x1b]8;;file:///etc/passwd\x1b\\link\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "\x1b]0;pwned title\x07title",  # window title
    "\x1bPq#0;2;0;0;0\x1b\\dcs",  # DCS (sixel)
    "[link=file:///etc/passwd]x[/link]",
    "[bold red]not bold[/bold red]",
    "bidi \u202eevil\u202c",
    "\x1b[31mred\x1b[0m plain",
]


class LogApp(App[None]):
    def __init__(self, buffer: LogBuffer) -> None:
        super().__init__()
        self.buffer = buffer

    def compose(self) -> ComposeResult:
        yield LogView(self.buffer, id="log")


@pytest.mark.parametrize("line", HOSTILE)
def test_sanitize_keeps_only_sgr(line: str) -> None:
    clean = sanitize(line)
    without_sgr = clean.replace("\x1b[31m", "").replace("\x1b[0m", "")
    assert "\x1b" not in without_sgr
    assert "\x07" not in clean and "\u202e" not in clean


def test_sanitize_plain_line_is_untouched() -> None:
    line = "plain ascii and ünïcode ✓"
    assert sanitize(line) is line


async def test_hostile_output_is_shown_harmlessly() -> None:
    """D13/D14: nothing escapes to the terminal, markup is shown as typed, colours survive."""
    buffer = LogBuffer()
    buffer.extend(HOSTILE)
    app = LogApp(buffer)
    async with app.run_test(size=(100, 20)) as pilot:
        await settle(pilot, lambda: "red plain" in screen_text(app), "the last line drawn")
        text = screen_text(app)
        assert "[link=file:///etc/passwd]x[/link]" in text
        assert "[bold red]not bold[/bold red]" in text
        for word in ("clipboard", "cleared", "moved up saved", "link", "title", "dcs"):
            assert word in text
        assert "pwned" not in text and "cm0gLXJmIH4" not in text
        assert "<U+202E>" in text
        strips = app.screen._compositor.render_strips()
        segments = [seg for strip in strips for seg in strip]
        assert all("\x1b" not in seg.text and "\x07" not in seg.text for seg in segments)
        red = [seg for seg in segments if seg.text.startswith("red") and seg.style]
        assert red and red[0].style.color is not None
        triplet = red[0].style.color.get_truecolor()
        assert triplet.red > 150 and triplet.green < 100  # SGR 31 survived as a red colour
        link_segments = [seg for seg in segments if seg.style and seg.style.link]
        assert link_segments == []


@pytest.mark.slow
async def test_million_lines_keep_exactly_max_lines() -> None:
    """E5: 1M lines into the widget: it holds exactly 10,000, the newest, and shows the last."""
    buffer = LogBuffer()
    app = LogApp(buffer)
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.query_one(LogView)  # mounted
        for start in range(0, 1_000_000, 50_000):
            buffer.extend(f"line {n}" for n in range(start, start + 50_000))
        await settle(
            pilot,
            lambda: log_at_tail(view) and "line 999999" in screen_text(app),
            "the newest line drawn",
        )
        assert len(buffer) == MAX_LINES
        assert buffer.appended == 1_000_000
        assert buffer.lines[0] == f"line {1_000_000 - MAX_LINES}"
        assert "line 999999" in screen_text(app)


async def test_repaints_are_coalesced() -> None:
    """Writing does not repaint; the timer repaints at most ~20 times a second."""
    buffer = LogBuffer()
    app = LogApp(buffer)
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.query_one(LogView)
        before = view.repaints
        start = time.monotonic()
        for n in range(20_000):
            buffer.append(f"l{n}")
            if n % 500 == 0:
                await pilot.pause()  # one refresh cycle: the timer may repaint meanwhile
        await settle(
            pilot, lambda: log_at_tail(view) and "l19999" in screen_text(app), "the last line drawn"
        )
        elapsed = time.monotonic() - start
        repaints = view.repaints - before
        assert 1 <= repaints <= elapsed * 20 + 2, (repaints, elapsed)
        assert "l19999" in screen_text(app)


class ManyLogsApp(App[None]):
    def __init__(self, buffers: list[LogBuffer]) -> None:
        super().__init__()
        self.buffers = buffers

    def compose(self) -> ComposeResult:
        for n, buffer in enumerate(self.buffers):
            yield LogView(buffer, id=f"log{n}")


async def test_views_mounted_together_each_take_their_lines_in() -> None:
    """A wave's views, mounted together, each flush on a timer of their own: every one of them
    keeps taking in what its buffer receives, none waits on a timer that never runs."""
    buffers = [LogBuffer() for _ in range(7)]
    app = ManyLogsApp(buffers)
    async with app.run_test(size=(80, 70)):
        views = list(app.query(LogView))
        assert len(views) == 7
        for turn in range(3):
            for n, buffer in enumerate(buffers):
                buffer.append(f"view {n} line {turn}")
            # Nothing else (a resize, a key) makes a view flush here: only its timer.
            await wait_for(
                lambda: all(v._seen[0] == b.appended for v, b in zip(views, buffers, strict=True))
            )


@pytest.mark.slow
async def test_follow_search_and_scrolling() -> None:
    buffer = LogBuffer()
    buffer.extend(f"entry {n}" + (" needle" if n % 100 == 0 else "") for n in range(1000))
    app = LogApp(buffer)
    async with app.run_test(size=(60, 10)) as pilot:
        view = app.query_one(LogView)
        view.focus()
        # At its tail for good: the scrollbars a long log needs take a row, shown after it
        # scrolled (under load the assertion below once read that moment, the tail row hidden).
        await settle(
            pilot, lambda: log_at_tail(view) and "entry 999" in screen_text(app), "the tail drawn"
        )
        assert view.follow and "entry 999" in screen_text(app)
        await pilot.press("pageup")
        assert not view.follow  # scrolling up stops following
        seen = view.repaints
        buffer.append("entry 1000")
        await wait_for(lambda: view.repaints > seen)  # the view took the new line in
        assert "entry 1000" not in screen_text(app)
        await pilot.press("end")
        await settle(
            pilot,
            lambda: log_at_tail(view) and "entry 1000" in screen_text(app),
            "the new tail drawn",
        )
        assert view.follow and "entry 1000" in screen_text(app)
        # Following the tail, a search starts at the oldest match: match 1 of 10, not the last.
        assert view.search("NEEDLE") == (1, 10)
        await settle(pilot, lambda: "entry 0 needle" in screen_text(app), "the first match drawn")
        assert view.current_match == 0 and "entry 0 needle" in screen_text(app)
        assert not view.follow and view.status() == "⏸ paused (f: follow) · /NEEDLE 1 of 10"
        await pilot.press("n")
        assert view.current_match == 100 and view.match_rank == (1 + 1, 10)
        await pilot.press("N")
        assert view.current_match == 0 and view.match_rank == (1, 10)
        # Scrolled away from the tail, it starts at the first match on screen or below.
        view.scroll_to(y=450, animate=False, immediate=True, force=True)
        assert view.search("needle") == (6, 10) and view.current_match == 500
        assert "entry 500 needle" in screen_text(app)
        await pilot.press("f")
        assert view.follow and view.status() == "/needle 6 of 10"


def test_line_index_reads_any_line(tmp_path: Path) -> None:
    path = tmp_path / "agent.log"
    lines = [f"{n} " + "x" * (n % 300) for n in range(60_000)]
    path.write_text("\n".join(lines) + "\n")
    index = LineIndex(path)
    index.update()
    assert index.line_count == 60_000
    for first in (0, 1, 4095, 33_333, 59_998):
        assert index.read_lines(first, 3) == lines[first : first + 3]
    with path.open("a") as fh:
        fh.write("grown\npartial")
    index.update()
    assert index.line_count == 60_002
    assert index.read_lines(60_000, 5) == ["grown", "partial"]


class HistoryApp(App[None]):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        yield HistoryView(self.path)


@pytest.mark.slow
async def test_history_view_opens_a_big_log_at_once(tmp_path: Path) -> None:
    """A 64 MB log: the first screen shows before indexing needs to finish; the end is reachable."""
    path = tmp_path / "big.log"
    chunk = "".join(f"history line {n:07d} {'.' * 40}\n" for n in range(100_000)).encode()
    with path.open("wb") as fh:
        for _ in range(12):
            fh.write(chunk)
        fh.write(b"the very last line\n")
    app = HistoryApp(path)
    started = time.monotonic()
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(HistoryView)
        await wait_for(lambda: "history line 0000000" in screen_text(app), timeout=5)
        assert time.monotonic() - started < 5
        await wait_for(view.indexing_done.is_set, timeout=30)
        # The index is done in its thread; the view takes its size on the app's thread after.
        await settle(
            pilot, lambda: view.virtual_size.height == view.index.line_count, "the view sized"
        )
        assert view.index.line_count == 1_200_001
        view.scroll_end(animate=False, immediate=True)
        await settle(pilot, lambda: "the very last line" in screen_text(app), "the end drawn")
        assert "the very last line" in screen_text(app)


async def test_wrap_shows_a_long_line_whole_on_several_rows() -> None:
    """Issue #24: log lines cut at the pane's edge can wrap instead (``w``): every character of a
    long line is shown, a coloured one too; the tail is still followed; search finds a match on
    a wrapped row; unwrapping cuts them again."""
    buffer = LogBuffer()
    long = "".join(f"{n:03d}-" for n in range(60))  # 240 characters, 6 rows of 40
    buffer.extend(["first", long, "\x1b[32m" + "green " * 12 + "\x1b[0m", "last"])
    app = LogApp(buffer)
    async with app.run_test(size=(40, 20)) as pilot:
        view = app.query_one(LogView)
        await settle(pilot, lambda: "last" in screen_text(app), "the four lines drawn")
        assert "059-" not in screen_text(app)  # cut at the edge
        view.set_wrap(True)
        await settle(pilot, lambda: "059-" in screen_text(app), "the long line drawn wrapped")
        text = screen_text(app)
        assert "".join(text.split("\n")[1:7]).replace(" ", "") == long
        rows = text.split("\n")
        assert "".join(rows[7:9]).count("green") == 12 and rows[9].startswith("last")
        assert view.virtual_size.height == 1 + 6 + 2 + 1
        buffer.extend(f"more {n}" for n in range(30))
        await wait_for(lambda: "more 29" in screen_text(app))  # following the tail, wrapped
        assert view.search("042-") == (1, 1)
        await settle(pilot, lambda: "042-" in screen_text(app), "the match scrolled into view")
        assert "042-" in screen_text(app)
        view.set_wrap(False)
        view.search("")
        view.follow = True
        await settle(pilot, lambda: view.virtual_size.height == len(buffer), "the rows unwrapped")
        assert view.virtual_size.height == len(buffer)
