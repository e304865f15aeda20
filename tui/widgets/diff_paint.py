"""Painting review rows: syntax colours, intra-line (word) changes, gutters, headers.

``Painter.strip`` renders one ``Row`` (``wavedeck.tui.widgets.diff_rows``) to a ``Strip`` of the
screen's width; the view calls it only for rows on screen, and keeps what it painted.

- **Syntax** (``wavedeck.tui.widgets.diff_colour``): the language comes from the file name
  (Pygments' lexers, which Rich's ``Syntax`` uses); the colours are a Rich theme's (monokai)
  without its background. Lines are lexed in
  blocks of ``BLOCK`` consecutive lines of one side of a hunk, when first shown, so a long hunk
  costs one block per screen, not its whole length (a construct opened more than a block
  earlier, a long docstring, may start uncoloured). Like delta, a line longer than
  ``MAX_HIGHLIGHT`` characters is not coloured, nor compared word by word past ``MAX_WORD_DIFF``.
- **Words**: in a change (removed lines followed by added lines), the n-th removed line is
  compared with the n-th added one, token by token (``difflib``); what differs is marked with a
  stronger background, unless the lines share too little for that to help.
- Text is neutralised (tabs to four spaces, control and bidi characters visible, undecodable
  bytes as U+FFFD) before anything else, so cells and offsets agree.
"""

from __future__ import annotations

import time

from pygments.lexer import Lexer
from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from wavedeck.agents.git.hunks import DiffLine, Hunk
from wavedeck.agents.review.changes import WaveChanges
from wavedeck.tui.widgets.diff_colour import (
    MISSING,
    PLAIN,
    Token,
    clean,
    highlight,
    known_lexer,
    lexer_for,
    over,
    segments,
    word_changes,
)
from wavedeck.tui.widgets.diff_rows import Row, shorten_path

BLOCK = 16  # lines lexed together

ADDED = Style(bgcolor="#16361f")
REMOVED = Style(bgcolor="#3d1a1d")
ADDED_WORD = Style(bgcolor="#2c7a3f", bold=True)
REMOVED_WORD = Style(bgcolor="#8f2f36", bold=True)
MARKS = {"added": ("+", Style(color="green", bold=True)), "removed": ("-", Style(color="red", bold=True)),
         "context": (" ", Style())}  # fmt: skip
GUTTER = Style(color="#7a7a7a")
CURSOR = Style(color="black", bgcolor="#d7af5f", bold=True)
AGENT = Style(color="white", bgcolor="#2b3a67", bold=True)
FILE = Style(color="#ffd787", bgcolor="#262626", bold=True)
HUNK = Style(color="#5fafd7")
NOTE = Style(color="#a8a8a8", italic=True)
ISSUE_DONE = Style(color="#87d787")
ISSUE_OPEN = Style(color="#ffaf5f")
COMMENT = Style(color="#e4e4e4", bgcolor="#2e2a40")
FINDING = {"critical": "#ff5f5f", "high": "#ff875f", "medium": "#ffd75f", "low": "#87afd7",
           "info": "#a8a8a8"}  # fmt: skip
CUT = Style(color="#7a7a7a")


class _HunkPaint:
    """What one hunk needs to paint its lines: clean text, each line's place on its side, the
    partner of each changed line (word changes), coloured blocks made so far."""

    def __init__(self, hunk: Hunk) -> None:
        self.lines = hunk.lines
        self._text: list[str | None] = [None] * len(hunk.lines)  # cleaned when first needed
        self.place: list[int] = []  # index on its side (old for removed, new for the others)
        self.sides: dict[str, list[int]] = {"old": [], "new": []}
        for i, line in enumerate(hunk.lines):
            side = "old" if line.kind == "removed" else "new"
            self.place.append(len(self.sides[side]))
            self.sides[side].append(i)
            if line.kind == "context":
                self.sides["old"].append(i)
        self.partner: dict[int, int] = {}
        i, lines = 0, hunk.lines
        while i < len(lines):
            removed: list[int] = []
            while i < len(lines) and lines[i].kind == "removed":
                removed.append(i)
                i += 1
            added: list[int] = []
            while i < len(lines) and lines[i].kind == "added":
                added.append(i)
                i += 1
            for r, a in zip(removed, added, strict=False):
                self.partner[r], self.partner[a] = a, r
            if not removed and not added:
                i += 1
        self.blocks: dict[tuple[str, int], list[list[Token]]] = {}
        self.words: dict[int, list[tuple[int, int]]] = {}

    def text(self, index: int) -> str:
        """Line ``index``'s clean text."""
        found = self._text[index]
        if found is None:
            found = self._text[index] = clean(self.lines[index].text)
        return found


class Painter:
    """Renders the rows of one wave's review (see the module docstring).

    With ``budget_ms`` (the review screen), each frame lexes at most that long
    (``begin_frame``); a line whose block is not coloured yet is painted plain and its block
    left ``pending`` for ``lex_pending`` (called between frames), as is a file whose language's
    lexer is not loaded yet (``lexers_wanted``: load them with ``lexer_for``, in a thread).
    Without it (benchmarks, tests) everything is coloured at once.
    """

    def __init__(
        self,
        changes: WaveChanges,
        console: Console,
        gutter_digits: int = 4,
        *,
        budget_ms: float | None = None,
    ) -> None:
        self.changes = changes
        self.console = console
        self.w = gutter_digits
        self.budget_ms = budget_ms
        self._deadline = float("inf")
        self._hunks: dict[tuple[int, int, int], _HunkPaint] = {}
        self.pending: dict[tuple[int, int, int, str, int], None] = {}  # blocks left plain
        self.plain = False  # the last ``strip`` left some of its row uncoloured
        self.lexers_wanted: set[str] = set()

    # -- colours, within a budget -------------------------------------------------------------

    def begin_frame(self) -> None:
        """A frame starts: it may lex for ``budget_ms``."""
        if self.budget_ms is not None:
            self._deadline = time.perf_counter() + self.budget_ms / 1000

    def _lexer(self, path: str) -> Lexer | object | None:
        if self.budget_ms is None:
            return lexer_for(path)
        found = known_lexer(path)
        if found is MISSING:
            self.lexers_wanted.add(path)
        return found

    def _block(
        self, key: tuple[int, int, int], paint: _HunkPaint, path: str, side: str, block: int
    ) -> list[list[Token]] | None:
        """The coloured lines of a block, None when it is left for later."""
        lines = paint.blocks.get((side, block))
        if lines is not None:
            return lines
        lexer = self._lexer(path)
        if lexer is MISSING or time.perf_counter() > self._deadline:
            self.pending[(*key, side, block)] = None
            return None
        members = paint.sides[side][block * BLOCK : (block + 1) * BLOCK]
        lines = highlight(lexer, [paint.text(i) for i in members])
        paint.blocks[(side, block)] = lines
        return lines

    def lex_pending(self, budget_ms: float) -> bool:
        """Colour blocks left plain, for at most ``budget_ms``; True when some were."""
        deadline = time.perf_counter() + budget_ms / 1000
        done = False
        for key in list(self.pending):
            a, f, h, side, block = key
            change = self.changes.agents[a].files[f]
            lexer = self._lexer(change.path)
            if lexer is MISSING:
                continue
            paint = self._paint((a, f, h))
            if (side, block) not in paint.blocks:
                members = paint.sides[side][block * BLOCK : (block + 1) * BLOCK]
                texts = [paint.text(i) for i in members]
                paint.blocks[(side, block)] = highlight(lexer, texts)
            del self.pending[key]
            done = True
            if time.perf_counter() > deadline:
                break
        return done

    # -- text of a line -----------------------------------------------------------------------

    def _paint(self, key: tuple[int, int, int]) -> _HunkPaint:
        paint = self._hunks.get(key)
        if paint is None:
            a, f, h = key
            hunk = self.changes.agents[a].files[f].patch.hunks[h]
            paint = self._hunks[key] = _HunkPaint(hunk)
        return paint

    def line_segments(self, row: Row, line: DiffLine, index: int) -> list[Segment]:
        """The coloured text of ``line`` (index ``index`` in its hunk; -1: expanded context)
        as segments: syntax colours, the line's background, word changes."""
        change = self.changes.agents[row.agent].files[row.file]
        if index < 0:
            lexer = self._lexer(change.path)
            text = clean(line.text)
            if lexer is MISSING:
                self.plain = True
                return segments([(text, PLAIN)], None, (), PLAIN)
            tokens = highlight(lexer, [text])[0]
            return segments(tokens, None, (), PLAIN)
        key = (row.agent, row.file, row.hunk)
        paint = self._paint(key)
        side = "old" if line.kind == "removed" else "new"
        place = paint.place[index]
        block = place // BLOCK
        lines = self._block(key, paint, change.path, side, block)
        if lines is None:
            self.plain = True
            tokens = [(paint.text(index), PLAIN)]
        else:
            tokens = lines[place - block * BLOCK]
        if line.kind == "context":
            return segments(tokens, None, (), PLAIN)
        base = ADDED if line.kind == "added" else REMOVED
        emphasis = ADDED_WORD if line.kind == "added" else REMOVED_WORD
        return segments(tokens, base, self.word_marks(paint, index, line), emphasis)

    @staticmethod
    def word_marks(paint: _HunkPaint, index: int, line: DiffLine) -> list[tuple[int, int]]:
        partner = paint.partner.get(index)
        if partner is None:
            return []
        ranges = paint.words.get(index)
        if ranges is None:
            old_i, new_i = (index, partner) if line.kind == "removed" else (partner, index)
            old_r, new_r = word_changes(paint.text(old_i), paint.text(new_i))
            paint.words[old_i], paint.words[new_i] = old_r, new_r
            ranges = paint.words[index]
        return ranges

    # -- rows ---------------------------------------------------------------------------------

    def _number(self, value: int | None) -> str:
        return f"{value:>{self.w}}" if value is not None else " " * self.w

    def _code(
        self, row: Row, line: DiffLine | None, index: int, width: int, shift: int
    ) -> list[Segment]:
        """A side of a line: its mark and its text, exactly ``width`` cells (cut with ``›``)."""
        if width <= 0:
            return []
        if line is None:
            return [Segment(" " * width)]
        mark, mark_style = MARKS[line.kind]
        base = ADDED if line.kind == "added" else REMOVED if line.kind == "removed" else None
        body = self.line_segments(row, line, index)
        room = width - 1
        text = "".join(seg.text for seg in body)
        length = len(text) if text.isascii() else cell_len(text)
        if shift or length > room:
            cut = Strip(body, length).crop(shift, shift + room)
            body = list(cut)
            if length - shift > room and room > 0:
                body = [*Strip(body).crop(0, room - 1), Segment("›", CUT)]
            length = Segment.get_line_length(body)
        head = Segment(mark, over(mark_style, base) if base else mark_style)
        pad = room - length
        return [head, *body, Segment(" " * pad, base)] if pad > 0 else [head, *body]

    def strip(self, row: Row, width: int, *, shift: int = 0, cursor: bool = False) -> Strip:
        """Row ``row`` painted ``width`` cells wide (``shift``: code scrolled right by that
        many cells; ``cursor``: the cursor is on it). ``plain`` says afterwards whether some of
        it was left uncoloured for now (a block still to lex)."""
        self.plain = False
        gutter_style = CURSOR if cursor else GUTTER
        if row.kind == "line" and row.line is not None:
            line = row.line
            gutter = f"{self._number(line.old)} {self._number(line.new)} "
            code = self._code(row, line, row.index, width - len(gutter), shift)
            return Strip([Segment(gutter, gutter_style), *code], width)
        if row.kind == "pair":
            half = (width - 1) // 2
            left_room = half - self.w - 1
            right_room = width - half - 1 - self.w - 1
            old = self._number(row.left.old if row.left else None) + " "
            new = self._number(row.right.new if row.right else None) + " "
            segments_ = [
                Segment(old, gutter_style),
                *self._code(row, row.left, row.index, left_room, shift),
                Segment("│", GUTTER),
                Segment(new, gutter_style),
                *self._code(row, row.right, row.rindex, right_room, shift),
            ]
            return Strip(segments_, width)
        text, style = self._header(row, width)
        if cursor:
            text = "▶" + text[1:] if text else "▶"
        return Strip([Segment(text, style)], cell_len(text)).crop_extend(0, width, style)

    def _header(self, row: Row, width: int) -> tuple[str, Style]:
        if row.kind == "agent":
            return f" ▍{row.text}", AGENT
        if row.kind == "issue":
            return f"   {row.text}", ISSUE_DONE if row.text.startswith("✓") else ISSUE_OPEN
        if row.kind == "file":
            change = self.changes.agents[row.agent].files[row.file]
            patch = change.patch
            letter = {"added": "A", "deleted": "D", "renamed": "R", "copied": "C"}.get(
                patch.status, "M"
            )
            counts = "" if patch.binary else f"  +{patch.added} −{patch.removed}"
            stray = "  ⚠ stray" if change.standing == "stray" else ""
            room = max(8, width - 6 - len(counts) - len(stray))
            path = shorten_path(clean(patch.path), room)
            return f" ── {letter} {path}{counts}{stray}", FILE
        if row.kind == "note":
            return f"      {row.text}", NOTE
        if row.kind == "hunk":
            return f" {row.text}", HUNK
        if row.kind == "comment" and row.comment is not None:
            comment = row.comment
            style = COMMENT
            if comment.author == "reviewer":
                style = style + Style(color=FINDING.get(comment.severity or "info", "#a8a8a8"))
            if comment.status == "dismissed":
                style = style + Style(dim=True, strike=True)
            return " " * 6 + row.text, style
        return "", Style()
