"""The full history of a log file, read from disk by byte offset so a 1 GB log opens at once.

:class:`LineIndex` counts newlines per 64 KiB block (``bytes.count`` runs at memory speed) instead
of storing every line's offset: a 1 GB log needs ~16k integers, not millions. A line is found by
bisecting the blocks and reading forward from the block start with ``os.pread``. Indexing runs in
a thread worker and extends as the file grows; the view shows what is indexed so far.
"""

from __future__ import annotations

import os
import threading
from bisect import bisect_left
from pathlib import Path

from rich.style import Style
from textual import work
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.widgets.ansi import sanitize, to_text

BLOCK = 64 * 1024
_READ = 1024 * 1024  # bytes read at a time while indexing


class LineIndex:
    """Newline counts per block of a file; thread-safe for one indexer and many readers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.block_starts: list[int] = [0]  # byte offset of each block
        self.lines_before: list[int] = [0]  # newlines before each block
        self.indexed = 0  # bytes indexed so far (a multiple of BLOCK except at the end)
        self.lines = 0  # complete lines (newlines) seen in the indexed bytes
        self.tail_partial = False  # bytes after the last newline (a line still being written)

    def update(self, stop: threading.Event | None = None) -> bool:
        """Index whatever was appended since the last call. Returns True when something was."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return False
        try:
            size = os.fstat(fd).st_size
            if size < self.indexed:  # truncated or replaced: start again
                with self._lock:
                    self.block_starts, self.lines_before = [0], [0]
                    self.indexed = self.lines = 0
            grew = size > self.indexed
            # Re-count the last partial block from its start so blocks stay aligned.
            offset = self.block_starts[-1]
            count = self.lines_before[-1]
            while offset < size and not (stop and stop.is_set()):
                data = os.pread(fd, min(_READ, size - offset), offset)
                if not data:
                    break
                starts, befores = [], []
                for i in range(0, len(data), BLOCK):
                    piece = data[i : i + BLOCK]
                    if i:
                        starts.append(offset + i)
                        befores.append(count)
                    count += piece.count(b"\n")
                end = offset + len(data)
                with self._lock:
                    # Replace the (possibly partial) last block entry and add the new ones.
                    self.block_starts.extend(starts)
                    self.lines_before.extend(befores)
                    if len(data) % BLOCK == 0:
                        self.block_starts.append(end)
                        self.lines_before.append(count)
                    self.indexed = end
                    self.lines = count
                    self.tail_partial = not data.endswith(b"\n")
                offset = end  # reads are whole blocks except the last one
            return grew
        finally:
            os.close(fd)

    @property
    def line_count(self) -> int:
        """Lines to show: complete ones plus a partial last line."""
        return self.lines + (1 if self.tail_partial else 0)

    def read_lines(self, first: int, count: int) -> list[str]:
        """Lines ``first`` .. ``first+count-1`` (0-based), decoded leniently."""
        if count <= 0 or first >= self.line_count:
            return []
        with self._lock:
            if first == 0:
                offset, skip = 0, 0
            else:
                # The block holding newline number ``first`` (1-based) ends line ``first - 1``.
                block = bisect_left(self.lines_before, first) - 1
                offset = self.block_starts[block]
                skip = first - self.lines_before[block]
        out: list[str] = []
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return []
        try:
            carry = b""
            while len(out) < count:
                data = os.pread(fd, BLOCK, offset)
                if not data:
                    if carry and skip == 0:
                        out.append(carry.decode("utf-8", "replace"))
                    break
                offset += len(data)
                parts = (carry + data).split(b"\n")
                carry = parts.pop()
                for part in parts:
                    if skip:
                        skip -= 1
                        continue
                    out.append(part.decode("utf-8", "replace"))
                    if len(out) == count:
                        break
        finally:
            os.close(fd)
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
