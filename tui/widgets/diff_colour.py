"""The review's colours, line by line: syntax (Pygments, as Rich's ``Syntax`` uses it), the words
that changed between two lines, and runs of text as Rich segments.

- ``lexer_for`` finds a file's lexer from its name (slow the first time: the review loads them in
  a thread; ``known_lexer`` never blocks); ``highlight`` lexes lines together into coloured runs
  (a Rich theme's colours, monokai, without its background), leaving lines longer than
  ``MAX_HIGHLIGHT`` plain like delta does.
- ``word_changes`` compares two lines token by token (``difflib``) into character ranges,
  nothing past ``MAX_WORD_DIFF`` or when they share less than ``MIN_SHARED``.
- ``segments`` lays runs over a line's background with ranges emphasised; ``clean`` makes text
  safe and one cell a character before anything else (so cells and offsets agree).

``wavedeck.tui.widgets.diff_paint`` puts these together into a row of the screen.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from functools import lru_cache

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_for_filename
from pygments.token import _TokenType
from pygments.util import ClassNotFound
from rich.segment import Segment
from rich.style import Style
from rich.syntax import PygmentsSyntaxTheme

from wavedeck.plan.safetext import neutralize

MAX_HIGHLIGHT = 400  # characters: longer lines are not coloured (delta's cap)
MAX_WORD_DIFF = 1000  # characters: longer lines are not compared word by word
MIN_SHARED = 0.35  # lines sharing less than this are not marked word by word
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")
THEME = PygmentsSyntaxTheme("monokai")
PLAIN = Style()


def clean(text: str) -> str:
    """``text`` safe and one cell a character where it can be: tabs to four spaces, undecodable
    bytes (surrogates) as U+FFFD, controls and bidi marks visible."""
    if text.isascii() and text.isprintable():
        return text
    text = text.replace("\t", "    ")
    text = "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
    return neutralize(text)


Token = tuple[str, Style]  # a run of text and its colour
_LEXERS: dict[str, Lexer | None] = {}  # file name -> its lexer (None: no known language)
MISSING = object()


def lexer_for(path: str) -> Lexer | None:
    """The lexer of ``path``'s language, from its file name (None when none is known).

    Blocking, and slow the first time a language is met (Pygments imports and compiles it):
    the review resolves them in a thread (``known_lexer`` tells whether it has).
    """
    name = os.path.basename(path)
    if name not in _LEXERS:
        try:
            _LEXERS[name] = get_lexer_for_filename(name, stripnl=False, ensurenl=True, tabsize=0)
        except ClassNotFound:
            _LEXERS[name] = None
    return _LEXERS[name]


def known_lexer(path: str) -> Lexer | object | None:
    """``path``'s lexer when resolved already, else ``MISSING`` (never blocks)."""
    return _LEXERS.get(os.path.basename(path), MISSING)


@lru_cache(maxsize=256)
def _token_style(ttype: _TokenType) -> Style:
    style = THEME.get_style_for_token(ttype)
    return Style(color=style.color, bold=style.bold, italic=style.italic)  # no theme background


def highlight(lexer: Lexer | None, lines: Sequence[str]) -> list[list[Token]]:
    """``lines`` (clean text) as coloured runs, lexed together (one list a line)."""
    if lexer is None:
        return [[(line, PLAIN)] for line in lines]
    out: list[list[Token]] = [[] for _ in lines]
    long = {i for i, line in enumerate(lines) if len(line) > MAX_HIGHLIGHT}
    code = "\n".join("" if i in long else line for i, line in enumerate(lines)) + "\n"
    row = 0
    for ttype, value in lexer.get_tokens(code):
        if "\n" not in value:
            if value and row < len(out):
                out[row].append((value, _token_style(ttype)))
            continue
        style = _token_style(ttype)
        for k, part in enumerate(value.split("\n")):
            if k:
                row += 1
            if part and row < len(out):
                out[row].append((part, style))
    for i in long:
        out[i] = [(lines[i], PLAIN)]
    return out


_COMBINED: dict[tuple[Style, Style], Style] = {}


def over(style: Style, base: Style) -> Style:
    """``style`` over ``base`` (a token's colour over its line's background), remembered."""
    found = _COMBINED.get((style, base))
    if found is None:
        found = _COMBINED[(style, base)] = style + base
    return found


def segments(
    tokens: Sequence[Token], base: Style | None, marks: Sequence[tuple[int, int]], emphasis: Style
) -> list[Segment]:
    """Runs as segments, over the line's ``base`` style, ``marks`` (character ranges) in
    ``emphasis``."""
    out: list[Segment] = []
    pos = 0
    m = 0
    for text, style in tokens:
        if base is not None:
            style = over(style, base)
        end = pos + len(text)
        while m < len(marks) and marks[m][1] <= pos:
            m += 1
        if m >= len(marks) or marks[m][0] >= end:
            out.append(Segment(text, style))
            pos = end
            continue
        cut = pos
        k = m
        while cut < end:
            if k < len(marks) and marks[k][0] <= cut < marks[k][1]:
                stop = min(end, marks[k][1])
                out.append(Segment(text[cut - pos : stop - pos], style + emphasis))
                if stop == marks[k][1]:
                    k += 1
            else:
                stop = min(end, marks[k][0]) if k < len(marks) else end
                out.append(Segment(text[cut - pos : stop - pos], style))
            cut = stop
        pos = end
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
