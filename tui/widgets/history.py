"""The full history of a log file, read from disk by byte offset so a 1 GB log opens at once.

Lines are the live pane's lines (``wavedeck.agents.lines``: ``\\r`` progress, invalid UTF-8, lines over
64 KiB in marked pieces), read by logical offset across rotated files (``wavedeck.agents.local.logfiles``).
:class:`LineIndex` keeps a checkpoint (offset of a line start, lines before it) every ~64 KiB
instead of every line's offset: a 1 GB log needs ~16k pairs, not millions. Lines are only counted
while indexing (``bytes.count`` unless a line is long). A line is found by bisecting the
checkpoints and decoding forward from one with ``LogFile.pread``. Indexing runs in a thread
worker and extends as the file grows; the view shows what is indexed so far.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from pathlib import Path

from rich.style import Style
from textual import work
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from wavedeck.agents.lines import LineDecoder
from wavedeck.agents.local.logfiles import LogFile
from wavedeck.tui.widgets.ansi import sanitize, to_text

BLOCK = 64 * 1024  # bytes between checkpoints (at least)
_READ = 1024 * 1024  # bytes read at a time while indexing


class LineIndex:
    """Checkpoints of a log's display lines; thread-safe for one indexer and many readers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.log = LogFile(path)
        self._lock = threading.Lock()
        self._reset(0)

    def _reset(self, start: int) -> None:
        self.block_starts: list[int] = [start]  # logical offset of each checkpoint (a line start)
        self.lines_before: list[int] = [0]  # display lines before each checkpoint
        self.indexed = start  # logical bytes read so far
        self.lines = 0  # complete display lines in the indexed bytes
        self.tail_partial = False  # bytes after the last line (a line still being written)
        self._decoder = LineDecoder()
        self._consumed = start  # the offset just after the last complete line

    def update(self, stop: threading.Event | None = None) -> bool:
        """Index whatever was appended since the last call. Returns True when something was."""
        try:
            oldest, size = self.log.start(), self.log.size()
        except OSError:
            return False
        if size < self.indexed or oldest > self.block_starts[0]:
            # Truncated, replaced, or its start rotated away: count again from the oldest byte.
            with self._lock:
                self._reset(oldest)
        grew = size > self.indexed
        while self.indexed < size and not (stop and stop.is_set()):
            data = self.log.pread(min(_READ, size - self.indexed), self.indexed)
            if not data:
                break
            with self._lock:
                for i in range(0, len(data), BLOCK):  # a checkpoint every block or so
                    count, used = self._decoder.count(data[i : i + BLOCK])
                    self.lines += count
                    self._consumed += used
                    if self._consumed - self.block_starts[-1] >= BLOCK:
                        self.block_starts.append(self._consumed)
                        self.lines_before.append(self.lines)
                self.indexed += len(data)
                self.tail_partial = bool(self._decoder.pending)
        return grew

    @property
    def line_count(self) -> int:
        """Lines to show: complete ones plus a partial last line."""
        return self.lines + (1 if self.tail_partial else 0)

    def read_lines(self, first: int, count: int) -> list[str]:
        """Lines ``first`` .. ``first+count-1`` (0-based), decoded as the live pane does."""
        if count <= 0 or first >= self.line_count:
            return []
        with self._lock:
            block = bisect_right(self.lines_before, first) - 1
            offset = self.block_starts[block]
            skip = first - self.lines_before[block]
            end = self.indexed
        decoder = LineDecoder()
        out: list[str] = []
        try:
            while len(out) < count:
                data = self.log.pread(min(BLOCK, end - offset), offset) if offset < end else b""
                if not data:
                    lines, _ = decoder.flush()
                else:
                    offset += len(data)
                    lines, _ = decoder.feed(data)
                if skip >= len(lines):
                    skip -= len(lines)
                else:
                    out.extend(lines[skip : skip + count - len(out)])
                    skip = 0
                if not data:
                    break
        except OSError:
            return out
        return out


class HistoryView(ScrollView, can_focus=True):
    """Scrolls the whole log file; only visible lines are read and styled."""

    DEFAULT_CSS = "HistoryView { height: 1fr; }"

    def __init__(self, path: Path, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.index = LineIndex(path)
        self._window: tuple[int, list[str]] = (0, [])
        self._stop = threading.Event()
        self.indexing_done = threading.Event()

    def on_mount(self) -> None:
        self._index_worker()
        self.set_interval(0.5, self._refresh_size, name="history-size")

    def on_unmount(self) -> None:
        self._stop.set()

    @work(thread=True, exclusive=True, group="history-index")
    def _index_worker(self) -> None:
        self.index.update(self._stop)
        self.indexing_done.set()
        self.app.call_from_thread(self._refresh_size)

    def _refresh_size(self) -> None:
        if self.indexing_done.is_set() and self.index.update(self._stop):
            self._window = (0, [])
        lines = self.index.line_count
        if self.virtual_size.height != lines:
            self.virtual_size = Size(self.size.width, lines)
            self._window = (0, [])
            self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        line_no = self.scroll_offset.y + y
        start, lines = self._window
        if not (start <= line_no < start + len(lines)):
            # Read the visible screen (plus a margin) in one go.
            start = max(0, line_no - y)
            lines = self.index.read_lines(start, self.size.height + 20)
            self._window = (start, lines)
        if not start <= line_no < start + len(lines):
            return Strip.blank(width, self.rich_style)
        text = to_text(sanitize(lines[line_no - start]))
        strip = Strip(list(text.render(self.app.console)), text.cell_len)
        return strip.crop_extend(
            self.scroll_offset.x, self.scroll_offset.x + width, None
        ).apply_style(self.rich_style or Style())
