"""The review's scrolling document: ``DiffView``, a Line-API view over rows, painted lazily.

Like the log view (``log_view``), it draws only the rows on screen (``render_line``), each once
until the layout, the width or the horizontal shift changes; the rows themselves come from
``diff_rows.build_rows`` and are painted by ``diff_paint.Painter``. A cursor row marks what the
review's keys act on (a line, a hunk, a file, an agent); ``↑ ↓ pgup pgdn home end`` move it,
``← →`` shift the code sideways, a click puts it on a row. ``jump`` moves it to the next row of
a kind (hunk, file, agent), keeping a few rows of context above.
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar

from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import Worker, WorkerState

from wavedeck.tui.widgets.diff_colour import lexer_for
from wavedeck.tui.widgets.diff_paint import Painter
from wavedeck.tui.widgets.diff_rows import Row, RowKind

MARGIN = 2  # rows kept above a row jumped to
FRAME_BUDGET_MS = 3.0  # lexing a frame may do before it paints the rest plain
COLOUR_BUDGET_MS = 8.0  # lexing between two frames
COLOUR_AFTER_S = 0.02
SHIFT_STEP = 8


def _load_lexers(paths: set[str]) -> None:
    for path in paths:
        lexer_for(path)


class DiffView(ScrollView, can_focus=True):
    """Draws review rows (see the module docstring)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "edge(-1)", "Top", show=False),
        Binding("end", "edge(1)", "Bottom", show=False),
        Binding("left", "shift(-1)", "Left", show=False),
        Binding("right", "shift(1)", "Right", show=False),
    ]

    DEFAULT_CSS = """
    DiffView { height: 1fr; }
    """

    class CursorMoved(Message):
        """The cursor is on another row."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[Row] = []
        self.painter: Painter | None = None
        self.cursor = 0
        self.shift = 0
        self._cache: dict[int, Strip] = {}
        self._cache_view: tuple[int, int] = (-1, -1)
        self.painted = 0  # rows painted (the benchmark and tests read it)
        self._colouring = False  # a colouring pass is due
        self._loading = False  # lexers load in a thread
        self._frame_style: Style | None = None

    # -- content ------------------------------------------------------------------------------

    def show(self, rows: list[Row], painter: Painter, *, keep: Row | None = None) -> None:
        """Show ``rows``; the cursor goes to the row like ``keep`` (same place), else stays."""
        self.rows, self.painter = rows, painter
        self._cache.clear()
        if keep is not None:
            self.cursor = self._find(keep)
        self.cursor = max(0, min(self.cursor, len(rows) - 1))
        self.virtual_size = Size(self.size.width, len(rows))
        self._reveal()
        self.refresh()

    def _find(self, like: Row) -> int:
        """The row nearest to ``like``: the same line, else the same hunk, file, agent."""
        best, score = self.cursor, -1
        for i, row in enumerate(self.rows):
            s = 0
            if row.agent == like.agent:
                s = 1
                if row.file == like.file:
                    s = 2
                    if row.hunk == like.hunk:
                        s = 3
                        if row.kind == like.kind and (row.line, row.left, row.right) == (
                            like.line, like.left, like.right,
                        ):  # fmt: skip
                            s = 4
            if s > score:
                best, score = i, s
            if s == 4:
                break
        return best

    @property
    def colouring(self) -> bool:
        """Lines on screen are still plain, waiting for their colours."""
        painter = self.painter
        return painter is not None and bool(
            painter.pending or painter.lexers_wanted or self._colouring or self._loading
        )

    @property
    def row(self) -> Row | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    # -- drawing ------------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        """One frame: the painter may lex for its budget; what it left plain is coloured
        between frames (``_colour``), then painted again."""
        painter = self.painter
        if painter is not None:
            painter.begin_frame()
        self._frame_style = self.rich_style  # once a frame, not once a row
        try:
            strips = super().render_lines(crop)
        finally:
            self._frame_style = None
        wanted = painter is not None and (painter.pending or painter.lexers_wanted)
        if wanted and not self._colouring:
            self._colouring = True
            self.set_timer(COLOUR_AFTER_S, self._colour, name="diff-colour")
        return strips

    def _colour(self) -> None:
        """Between frames: load the lexers wanted (in a thread), colour blocks left plain for
        ``COLOUR_BUDGET_MS``, paint again; again after ``COLOUR_AFTER_S`` while work is left."""
        painter = self.painter
        if painter is None:
            self._colouring = False
            return
        if painter.lexers_wanted and not self._loading:
            self._loading = True
            paths = set(painter.lexers_wanted)
            painter.lexers_wanted.clear()
            # A language's first lexer takes a while to load: never in the event loop.
            self.run_worker(partial(_load_lexers, paths), thread=True, group="diff-lexers")
        if painter.lex_pending(COLOUR_BUDGET_MS):
            self.refresh()  # the rows left plain were not kept: they are painted again
        if painter.pending or self._loading:
            self.set_timer(COLOUR_AFTER_S, self._colour, name="diff-colour")
        else:
            self._colouring = False

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "diff-lexers" and event.state in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            self._loading = False
            self.refresh()

    def render_line(self, y: int) -> Strip:
        _, scroll_y = self.scroll_offset
        width = self.size.width
        index = scroll_y + y
        base = self._frame_style or self.rich_style or Style()
        if self.painter is None or not 0 <= index < len(self.rows):
            return Strip.blank(width, base)
        if (width, self.shift) != self._cache_view:
            self._cache.clear()
            self._cache_view = (width, self.shift)
        if index == self.cursor:
            here = self.painter.strip(self.rows[index], width, shift=self.shift, cursor=True)
            return here.apply_style(base)
        strip = self._cache.get(index)
        if strip is None:
            strip = self.painter.strip(self.rows[index], width, shift=self.shift)
            strip = strip.apply_style(base)
            self.painted += 1
            if not self.painter.plain:  # a row left plain is painted again once coloured
                if len(self._cache) > 4 * max(self.size.height, 50):
                    self._cache.clear()
                self._cache[index] = strip
        return strip

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows))
        self._cache.clear()

    # -- the cursor ---------------------------------------------------------------------------

    def _reveal(self, margin: int | None = None) -> None:
        """Scroll so the cursor row shows (``margin``: put it that far from the top)."""
        height = max(1, self.size.height)
        top = int(self.scroll_y)
        if margin is not None:
            top = max(0, self.cursor - margin)
        elif self.cursor < top:
            top = self.cursor
        elif self.cursor >= top + height:
            top = self.cursor - height + 1
        self.scroll_to(y=top, animate=False, immediate=True, force=True)

    def move_to(self, index: int, *, margin: int | None = None) -> None:
        index = max(0, min(index, len(self.rows) - 1))
        if index == self.cursor and margin is None:
            return
        self.cursor = index
        self._reveal(margin)
        self.refresh()
        self.post_message(self.CursorMoved())

    def action_move(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * max(1, self.size.height - 2))

    def action_edge(self, direction: int) -> None:
        self.move_to(0 if direction < 0 else len(self.rows) - 1)

    def action_shift(self, direction: int) -> None:
        self.shift = max(0, self.shift + direction * SHIFT_STEP)
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        self.move_to(int(self.scroll_y) + event.y)

    def jump(self, kinds: tuple[RowKind, ...], direction: int) -> bool:
        """Move to the next (``direction`` 1) or previous (-1) row of one of ``kinds``; False
        when there is none that way."""
        i = self.cursor + direction
        while 0 <= i < len(self.rows):
            if self.rows[i].kind in kinds:
                self.move_to(i, margin=MARGIN)
                return True
            i += direction
        return False
