"""Painting review rows: syntax colours, intra-line (word) changes, gutters, headers.

``Painter.strip`` renders one ``Row`` (``wavedeck.tui.widgets.diff_rows``) to a ``Strip`` of the
screen's width; the view calls it only for rows on screen, and keeps what it painted.

- **Syntax**: the language comes from the file name (Pygments' lexers, which Rich's ``Syntax``
  uses); the colours are a Rich theme's (monokai) without its background. Lines are lexed in
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

import difflib
import re
from collections.abc import Sequence
from functools import lru_cache

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_for_filename
from pygments.token import _TokenType
from pygments.util import ClassNotFound
from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.syntax import PygmentsSyntaxTheme
from rich.text import Text
from textual.strip import Strip

from wavedeck.agents.git.hunks import DiffLine, Hunk
from wavedeck.agents.review.changes import WaveChanges
from wavedeck.plan.safetext import neutralize
from wavedeck.tui.widgets.diff_rows import Row, shorten_path

BLOCK = 64  # lines lexed together
MAX_HIGHLIGHT = 400  # characters: longer lines are not coloured (delta's cap)
MAX_WORD_DIFF = 1000  # characters: longer lines are not compared word by word
MIN_SHARED = 0.35  # lines sharing less than this are not marked word by word
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")
THEME = PygmentsSyntaxTheme("monokai")

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


def clean(text: str) -> str:
    """``text`` safe and one cell a character where it can be: tabs to four spaces, undecodable
    bytes (surrogates) as U+FFFD, controls and bidi marks visible."""
    if text.isascii() and text.isprintable():
        return text
    text = text.replace("\t", "    ")
    text = "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
    return neutralize(text)


@lru_cache(maxsize=512)
def lexer_for(path: str) -> Lexer | None:
    """The lexer of ``path``'s language (from its name), None when none is known."""
    try:
        return get_lexer_for_filename(path, stripnl=False, ensurenl=True, tabsize=0)
    except ClassNotFound:
        return None


@lru_cache(maxsize=256)
def _token_style(ttype: _TokenType) -> Style:
    style = THEME.get_style_for_token(ttype)
    return Style(color=style.color, bold=style.bold, italic=style.italic)  # no theme background


def highlight(lexer: Lexer | None, lines: Sequence[str]) -> list[Text]:
    """``lines`` (clean text) as coloured ``Text``, lexed together (one ``Text`` a line)."""
    if lexer is None:
        return [Text(line) for line in lines]
    out = [Text() for _ in lines]
    long = {i for i, line in enumerate(lines) if len(line) > MAX_HIGHLIGHT}
    code = "\n".join("" if i in long else line for i, line in enumerate(lines)) + "\n"
    row = 0
    for ttype, value in lexer.get_tokens(code):
        style = _token_style(ttype)
        parts = value.split("\n")
        for k, part in enumerate(parts):
            if k:
                row += 1
            if part and row < len(out):
                out[row].append(part, style)
    for i in long:
        out[i] = Text(lines[i])
    return out


def word_changes(old: str, new: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The character ranges that differ between ``old`` and ``new``, token by token; nothing
    when either is too long or they share too little."""
    if len(old) > MAX_WORD_DIFF or len(new) > MAX_WORD_DIFF:
        return [], []
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() < MIN_SHARED:
        return [], []
    starts_a = [0]
    for token in a:
        starts_a.append(starts_a[-1] + len(token))
    starts_b = [0]
    for token in b:
        starts_b.append(starts_b[-1] + len(token))
    out_a: list[tuple[int, int]] = []
    out_b: list[tuple[int, int]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if i2 > i1:
            out_a.append((starts_a[i1], starts_a[i2]))
        if j2 > j1:
            out_b.append((starts_b[j1], starts_b[j2]))
    return out_a, out_b


class _HunkPaint:
    """What one hunk needs to paint its lines: clean text, each line's place on its side, the
    partner of each changed line (word changes), coloured blocks made so far."""

    def __init__(self, hunk: Hunk) -> None:
        self.text = [clean(line.text) for line in hunk.lines]
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
        self.blocks: dict[tuple[str, int], list[Text]] = {}
        self.words: dict[int, list[tuple[int, int]]] = {}


class Painter:
    """Renders the rows of one wave's review (see the module docstring)."""

    def __init__(self, changes: WaveChanges, console: Console, gutter_digits: int = 4) -> None:
        self.changes = changes
        self.console = console
        self.w = gutter_digits
        self._hunks: dict[tuple[int, int, int], _HunkPaint] = {}

    # -- text of a line -----------------------------------------------------------------------

    def _hunk(self, row: Row) -> tuple[Hunk, _HunkPaint, str]:
        change = self.changes.agents[row.agent].files[row.file]
        hunk = change.patch.hunks[row.hunk]
        key = (row.agent, row.file, row.hunk)
        paint = self._hunks.get(key)
        if paint is None:
            paint = self._hunks[key] = _HunkPaint(hunk)
        return hunk, paint, change.path

    def line_text(self, row: Row, line: DiffLine, index: int) -> Text:
        """The coloured text of ``line`` (index ``index`` in its hunk; -1: expanded context)."""
        if index < 0:
            change = self.changes.agents[row.agent].files[row.file]
            return highlight(lexer_for(change.path), [clean(line.text)])[0]
        _, paint, path = self._hunk(row)
        side = "old" if line.kind == "removed" else "new"
        place = paint.place[index]
        block = place // BLOCK
        lines = paint.blocks.get((side, block))
        if lines is None:
            members = paint.sides[side][block * BLOCK : (block + 1) * BLOCK]
            lines = highlight(lexer_for(path), [paint.text[i] for i in members])
            paint.blocks[(side, block)] = lines
        text = lines[place - block * BLOCK].copy()
        if line.kind == "context":
            return text
        text.stylize(ADDED if line.kind == "added" else REMOVED)
        partner = paint.partner.get(index)
        if partner is not None:
            ranges = paint.words.get(index)
            if ranges is None:
                old_i, new_i = (index, partner) if line.kind == "removed" else (partner, index)
                old_r, new_r = word_changes(paint.text[old_i], paint.text[new_i])
                paint.words[old_i], paint.words[new_i] = old_r, new_r
                ranges = paint.words[index]
            emphasis = ADDED_WORD if line.kind == "added" else REMOVED_WORD
            for start, end in ranges:
                text.stylize(emphasis, start, end)
        return text

    # -- rows ---------------------------------------------------------------------------------

    def _number(self, value: int | None) -> str:
        return f"{value:>{self.w}}" if value is not None else " " * self.w

    def _code(self, row: Row, line: DiffLine | None, index: int, width: int, shift: int) -> Strip:
        """A side of a line: its number(s), its mark and its text, cut at ``width``."""
        if line is None:
            return Strip.blank(width)
        mark, mark_style = MARKS[line.kind]
        text = self.line_text(row, line, index)
        body_style = ADDED if line.kind == "added" else REMOVED if line.kind == "removed" else None
        segments = list(text.render(self.console))
        body = Strip(segments, text.cell_len).crop(shift, shift + width)
        room = width - body.cell_length
        if text.cell_len - shift > width and width > 1:
            body = body.crop(0, width - 1)
            body = Strip.join([body, Strip([Segment("›", CUT)], 1)])
            room = 0
        pad = Strip([Segment(" " * room, body_style)], room) if room > 0 else Strip([])
        head = Strip([Segment(mark, mark_style + (body_style or Style()))], 1)
        return Strip.join([head, body, pad])

    def strip(self, row: Row, width: int, *, shift: int = 0, cursor: bool = False) -> Strip:
        """Row ``row`` painted ``width`` cells wide (``shift``: code scrolled right by that
        many cells; ``cursor``: the cursor is on it)."""
        gutter_style = CURSOR if cursor else GUTTER
        if row.kind == "line" and row.line is not None:
            line = row.line
            gutter = f"{self._number(line.old)} {self._number(line.new)} "
            code = self._code(row, line, row.index, width - len(gutter), shift)
            return Strip.join([Strip([Segment(gutter, gutter_style)], len(gutter)), code])
        if row.kind == "pair":
            half = (width - 1) // 2
            room = half - self.w - 1
            left = self._code(row, row.left, row.index, room, shift)
            right = self._code(row, row.right, row.rindex, width - half - 1 - self.w - 1, shift)
            old = self._number(row.left.old if row.left else None) + " "
            new = self._number(row.right.new if row.right else None) + " "
            return Strip.join(
                [
                    Strip([Segment(old, gutter_style)], len(old)),
                    left,
                    Strip([Segment("│", GUTTER)], 1),
                    Strip([Segment(new, gutter_style)], len(new)),
                    right,
                ]
            )
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
            if comment.state == "dismissed":
                style = style + Style(dim=True, strike=True)
            return " " * 6 + row.text, style
        return "", Style()
