"""The live log of one agent: a ring buffer of lines and a Line-API view over it.

Field notes ("Log panes"): ``RichLog``/``Log`` writes per line ingest 0.1k–2.4k lines/s; a ring
buffer drawn with ``render_line`` ingests ~470k. So lines go into a :class:`LogBuffer` (a plain
``deque``, no widget call per line); each :class:`LogView` looks at its buffer on a timer (at most
``REFRESH_HZ`` times a second) and repaints once for the whole batch. Styles are parsed only for
visible lines (``Text.from_ansi`` costs ~12 µs a line) and cached until the lines scroll away.
The full log stays on disk; the log view's whole mode (``history.py``) reads it by byte offset.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Iterable, Sequence
from itertools import accumulate
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from wavedeck.tui.keys import bindings
from wavedeck.tui.widgets.ansi import plain, sanitize, to_text

MAX_LINES = 10_000
REFRESH_HZ = 20.0
_MATCH = Style(reverse=True, bold=True)


class LogBuffer:
    """The last ``max_lines`` sanitized lines of a stream, and how many were ever appended."""

    def __init__(self, max_lines: int = MAX_LINES) -> None:
        self.lines: deque[str] = deque(maxlen=max_lines)
        self.appended = 0  # lines ever appended: a line's absolute number is stable
        self.widest = 0  # widest line seen (characters), for horizontal scrolling

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def first(self) -> int:
        """Absolute number of the oldest line still held."""
        return self.appended - len(self.lines)

    def append(self, line: str) -> None:
        line = sanitize(line)
        self.lines.append(line)
        self.appended += 1
        if len(line) > self.widest:
            self.widest = len(line)

    def extend(self, lines: Iterable[str]) -> None:
        batch: Sequence[str] = lines if isinstance(lines, (list, tuple)) else list(lines)
        # The common case, plain text: one C-level test of the whole batch instead of a
        # ``sanitize`` call per line (a flood spends ~0.2 µs a line there).
        plain_text = "".join(batch).isprintable()
        clean = batch if plain_text else [sanitize(line) for line in batch]
        self.lines.extend(clean)
        # deque.extend with maxlen drops from the left: count what was really added.
        self.appended += len(clean)
        if clean:
            widest = max(map(len, clean))
            if widest > self.widest:
                self.widest = widest

    def clear(self) -> None:
        self.lines.clear()
        self.appended = 0
        self.widest = 0


def _rows_of(line: str, width: int) -> int:
    """How many rows of ``width`` cells ``line`` takes when wrapped (at least one)."""
    cells = len(line) if line.isascii() and line.isprintable() else cell_len(plain(line))
    return max(1, -(-cells // width))


class LogView(ScrollView, can_focus=True):
    """Draws a :class:`LogBuffer`; follows the tail until the operator scrolls up.

    Its keys are the ``log`` actions of ``wavedeck.tui.keys`` (follow, tail, search_next,
    search_previous); it posts :class:`LogView.StatusChanged` when following or the search
    position changes, so its pane can show it (:meth:`status`)."""

    BINDINGS: ClassVar[list[BindingType]] = bindings("log", action="log_{name}")

    class StatusChanged(Message):
        """Following turned on or off, or the current search match moved."""

    DEFAULT_CSS = """
    LogView { height: 1fr; }
    """

    follow: reactive[bool] = reactive(True)
    search_term: reactive[str] = reactive("")

    def __init__(
        self,
        buffer: LogBuffer | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.buffer = buffer if buffer is not None else LogBuffer()
        self._seen = (-1, -1)  # (appended, first) the last time we repainted
        self._cache: dict[int, Strip] = {}
        self._cache_view: tuple[int, int, Style] | None = None  # (scroll_x, width, style)
        self.current_match: int | None = None  # absolute line number of the current match
        self.match_rank: tuple[int, int] | None = None  # (k, n): match k of n held lines
        self.follow_key = "f"  # shown in the paused hint; the main screen sets a remapped one
        self.repaints = 0  # batches painted (tests and the benchmark read it)
        # Wrap: a long line takes several rows instead of being cut at the pane's edge. The
        # rows each held line takes, summed, for the buffer and width they were counted for
        # (counted again only when either changed: at most once per repaint).
        self.wrap = False
        self._rows: list[int] = []
        self._rows_for: tuple[int, int, int] | None = None
        self._pass_style: Style | None = None  # the view's style, while a render pass runs

    def on_mount(self) -> None:
        self.set_interval(1 / REFRESH_HZ, self.flush, name="log-flush")
        self.flush()

    # -- feeding -------------------------------------------------------------------------------

    def show_buffer(self, buffer: LogBuffer) -> None:
        """Draw another buffer (a pane's raw view) from now on."""
        self.buffer = buffer
        self._seen = (-1, -1)
        self._cache.clear()
        self.flush()

    def flush(self) -> None:
        """Repaint if the buffer changed since the last look (called by the timer)."""
        buf = self.buffer
        state = (buf.appended, buf.first)
        if state == self._seen:
            if self.follow and self.scroll_y != self.max_scroll_y:
                self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)
            return
        dropped = max(0, buf.first - self._seen[1]) if self._seen[1] >= 0 else 0
        self._seen = state
        self.repaints += 1
        if len(self._cache) > 2 * max(self.size.height, 50):
            self._cache.clear()
        if self.wrap:
            rows = self._row_ends()
            self._set_virtual_size(Size(self.size.width, rows[-1] if rows else 0))
        else:
            self._set_virtual_size(Size(max(buf.widest, self.size.width), len(buf)))
        if self.follow:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)
        elif dropped:
            # Lines left the ring at the top: keep the same lines in view.
            self.scroll_to(
                y=max(0, self.scroll_y - dropped), animate=False, immediate=True, force=True
            )
        self.refresh()

    def _set_virtual_size(self, size: Size) -> None:
        """Set the scrollable size without a layout pass: ``virtual_size`` is a layout reactive,
        and each flush while the ring filled re-laid-out the whole screen (15-30 ms of CPU, the
        frames keys waited out: ``bench/tui_bench.py``). A scroll view's virtual size is its own
        (``ScrollView._size_updated`` reads it); a scrollbar that appears asks for the layout."""
        if size != self.virtual_size:
            self.set_reactive(ScrollView.virtual_size, size)
            self._scroll_update(size)

    # -- drawing -------------------------------------------------------------------------------

    def set_wrap(self, wrap: bool) -> None:
        """Wrap long lines at the view's width (or cut them at its edge, the default)."""
        if wrap == self.wrap:
            return
        self.wrap = wrap
        self._cache.clear()
        self._seen = (-1, self._seen[1])
        self.flush()

    def _row_ends(self) -> list[int]:
        """Wrap mode: for each held line, the row after its last (a running sum)."""
        buf, width = self.buffer, max(self.size.width, 1)
        counted_for = (buf.appended, buf.first, width)
        if counted_for != self._rows_for:
            self._rows = list(accumulate(_rows_of(line, width) for line in buf.lines))
            self._rows_for = counted_for
        return self._rows

    def _wrapped_line(self, row: int, width: int) -> Strip:
        """Wrap mode: the strip of view row ``row`` (a slice of the line it falls in)."""
        rows, buf, base = self._row_ends(), self.buffer, self._pass_style or self.rich_style
        if not rows or row < 0 or row >= rows[-1]:
            return Strip.blank(width, base)
        index = bisect_right(rows, row)
        part = row - (rows[index - 1] if index else 0)
        line = buf.lines[index]
        if line.isascii() and line.isprintable() and not self.search_term:
            cells = line[part * width : (part + 1) * width]
            return Strip([Segment(cells + " " * (width - len(cells)), base)], width)
        full = self._render_text(line, buf.first + index)
        return full.crop_extend(part * width, (part + 1) * width, None).apply_style(base)

    def _top_line(self) -> int:
        """The held line at the top of the view."""
        if not self.wrap:
            return int(self.scroll_y)
        return bisect_right(self._row_ends(), int(self.scroll_y))

    def _row_of(self, index: int) -> int:
        """The first view row of held line ``index``."""
        if not self.wrap or index <= 0:
            return index
        rows = self._row_ends()
        return rows[min(index, len(rows)) - 1]

    def render_lines(self, crop: Region) -> list[Strip]:
        # ``rich_style`` walks the ancestors (~0.1 ms): once a pass, not a line (~15 % of a frame)
        self._pass_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._pass_style = None

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        if self.wrap:
            return self._wrapped_line(scroll_y + y, width)
        base = self._pass_style or self.rich_style
        buf = self.buffer
        index = scroll_y + y
        if index >= len(buf) or index < 0:
            return Strip.blank(width, base)
        # The cache holds finished strips (cropped and styled) only: a Strip carries several
        # caches of its own, and keeping the uncropped and unstyled ones alive too made a flood
        # leave thousands of objects for the garbage collector to scan (pauses a key waits out).
        view = (scroll_x, width, base)
        if view != self._cache_view:
            self._cache.clear()
            self._cache_view = view
        absolute = buf.first + index
        strip = self._cache.get(absolute)
        if strip is None:
            line = buf.lines[index]
            if line.isascii() and line.isprintable() and not self.search_term:
                # Plain ASCII (most log lines): one cell a character, no styles of its own, so
                # the visible cells are a slice; no Rich Text to build and render.
                cells = line[scroll_x : scroll_x + width]
                cells += " " * (width - len(cells))
                strip = Strip([Segment(cells, base)], width)
            else:
                full = self._render_text(line, absolute)
                strip = full.crop_extend(scroll_x, scroll_x + width, None).apply_style(base)
            self._cache[absolute] = strip
        return strip

    def _render_text(self, line: str, absolute: int) -> Strip:
        text = to_text(line)
        term = self.search_term
        if term:
            low = text.plain.lower()
            needle = term.lower()
            start = low.find(needle)
            style = _MATCH if absolute == self.current_match else Style(underline=True, bold=True)
            while start >= 0:
                text.stylize(style, start, start + len(needle))
                start = low.find(needle, start + len(needle))
        segments: list[Segment] = list(text.render(self.app.console))
        return Strip(segments, text.cell_len)

    def on_resize(self, event: events.Resize) -> None:
        self._cache.clear()
        self._seen = (-1, self._seen[1])
        self.flush()

    # -- following and scrolling ---------------------------------------------------------------

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)
        self.post_message(self.StatusChanged())

    def status(self) -> str:
        """What the pane shows about this log: paused, and the search position."""
        parts = []
        if not self.follow:
            parts.append(f"⏸ paused ({self.follow_key}: follow)")
        if self.search_term:
            rank = f" {self.match_rank[0]} of {self.match_rank[1]}" if self.match_rank else ""
            parts.append(f"/{self.search_term}{rank or ' no match'}")
        return " · ".join(parts)

    def action_log_follow(self) -> None:
        """``f``: follow the tail on / off."""
        self.follow = not self.follow

    def action_log_tail(self) -> None:
        """``end``: jump to the tail and follow it."""
        self.follow = True

    def action_log_search_next(self) -> None:
        self.action_search_next()

    def action_log_search_previous(self) -> None:
        self.action_search_previous()

    def _stop_following(self) -> None:
        self.follow = False

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._stop_following()

    def action_scroll_up(self) -> None:
        self._stop_following()
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self._stop_following()
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self._stop_following()
        super().action_scroll_home()

    # -- search --------------------------------------------------------------------------------

    def search(self, term: str) -> tuple[int, int] | None:
        """Highlight ``term`` (case-insensitive) and go to its first match on screen or below
        (from the oldest line while following the tail); ``(k, n)``: match k of n, or ``None``
        when nothing matches."""
        self.search_term = term
        self.current_match = None
        self.match_rank = None
        self._cache.clear()
        if not term:
            self.refresh()
            self.post_message(self.StatusChanged())
            return None
        matches = self._matches()
        if not matches:
            self.refresh()
            self.post_message(self.StatusChanged())
            return None
        top = 0 if self.follow else self._top_line()
        index = next((m for m in matches if m >= top), matches[0])
        self._go(index, matches)
        return self.match_rank

    def action_search_next(self) -> None:
        """The next match below the current one (older → newer)."""
        self._step(backwards=False)

    def action_search_previous(self) -> None:
        """The previous match above the current one (newer → older)."""
        self._step(backwards=True)

    def _step(self, *, backwards: bool) -> None:
        if not self.search_term:
            self.app.bell()
            return
        buf = self.buffer
        here = (self.current_match - buf.first) if self.current_match is not None else None
        if here is None or here < 0:
            here = len(buf) if backwards else -1
        matches = self._matches()
        if backwards:
            found = [m for m in matches if m < here]
            target = found[-1] if found else None
        else:
            target = next((m for m in matches if m > here), None)
        if target is not None:
            self._go(target, matches)
        elif self.is_mounted:
            self.notify(
                f"no more matches for {self.search_term!r} ({len(matches)} in all)",
                severity="warning",
                markup=False,
            )

    def _matches(self) -> list[int]:
        """Indexes (in the held lines) of the lines containing the search term."""
        needle = self.search_term.lower()
        if not needle:
            return []
        return [i for i, line in enumerate(self.buffer.lines) if needle in plain(line).lower()]

    def _go(self, index: int, matches: list[int]) -> None:
        """Make held line ``index`` the current match and bring it to the middle."""
        self.current_match = self.buffer.first + index
        self.match_rank = (matches.index(index) + 1, len(matches))
        self.follow = False
        self._cache.clear()
        top = max(0, self._row_of(index) - self.size.height // 2)
        self.scroll_to(y=top, animate=False, immediate=True, force=True)
        self.refresh()
        self.post_message(self.StatusChanged())
