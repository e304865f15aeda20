"""Markdown tables read from markdown-it-py tokens and checked against their raw source lines.

markdown-it-py (like every GFM parser) loses table data silently: a ``|`` inside a code span splits
a cell and the surplus cell is dropped, missing cells become ``''``, a non-table line right after a
table becomes a row, and a delimiter row of the wrong width turns the whole table into a paragraph.
This module reads a table's tokens, re-splits each row's raw source line, and returns a ``bad-row``
finding for every row whose text was not read completely: never silent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from markdown_it.token import Token

from plan.errors import Finding

_DELIMITER_ROW = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_CODE_SPAN = re.compile(r"(`+)(?:.+?)(?<!`)\1(?!`)")


@dataclass(frozen=True)
class Cell:
    """One cell: ``raw`` is the Markdown source text, ``plain`` the text without formatting."""

    raw: str
    plain: str


@dataclass(frozen=True)
class Row:
    line: int  # 1-based source line
    cells: tuple[Cell, ...]  # exactly one per header column
    complete: bool  # False when the source line did not split into exactly the header's cells


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]  # header cells' plain text, as written
    line: int  # 1-based line of the header row
    rows: tuple[Row, ...]

    def column(self, *names: str) -> int | None:
        """The index of the first column whose header (case-insensitive) is one of ``names``."""
        wanted = {n.casefold() for n in names}
        for i, h in enumerate(self.header):
            if h.strip().casefold() in wanted:
                return i
        return None


def plain_text(inline: Token) -> str:
    """An inline token's text without Markdown formatting (code spans keep their content)."""
    children = inline.children
    if not children:
        return inline.content
    parts: list[str] = []
    for child in children:
        kind = child.type
        if kind == "text" or kind == "code_inline":
            parts.append(child.content)
        elif kind == "softbreak" or kind == "hardbreak":
            parts.append(" ")
    return "".join(parts)


def split_raw_row(line: str) -> list[str]:
    """Split a raw table line into cells the way GFM does: on every ``|`` not escaped by ``\\``."""
    text = line.strip()
    cells: list[str] = []
    current: list[str] = []
    escaped = False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            current.append(ch)
            escaped = True
        elif ch == "|":
            cells.append("".join(current))
            current = []
        else:
            current.append(ch)
    cells.append("".join(current))
    # A leading and a trailing pipe delimit the row rather than separate cells.
    if text.startswith("|"):
        cells = cells[1:]
    if len(text) > 1 and text.endswith("|") and not text.endswith("\\|") and cells:
        cells = cells[:-1]
    return [c.strip() for c in cells]


def _count_code_aware(line: str) -> int:
    """How many cells the row would have if ``|`` inside code spans did not split cells."""
    return len(split_raw_row(_CODE_SPAN.sub(lambda m: "x" * len(m.group(0)), line)))


def _bad_row(line: int, message: str) -> Finding:
    return Finding(code="bad-row", level="error", line=line, message=message)


def row_problem(raw: str, columns: int) -> str | None:
    """What is wrong with one body row's raw line against a header of ``columns`` cells."""
    if "|" not in raw:
        return (
            "this line has no | but was read as a row of the table above it "
            "(leave a blank line after a table)"
        )
    count = len(split_raw_row(raw))
    if count == columns:
        return None
    if count > columns:
        hint = ""
        if _count_code_aware(raw) == columns:
            hint = " (a | inside a code span splits the cell: write it as \\|)"
        return (
            f"row has {count} cells but the table has {columns} columns; the text after "
            f"cell {columns} would be lost{hint}"
        )
    return f"row has {count} cells but the table has {columns} columns (missing cells)"


def read_table(
    tokens: Sequence[Token], start: int, lines: Sequence[str]
) -> tuple[Table, int, list[Finding]]:
    """Read the table whose ``table_open`` is ``tokens[start]``.

    Returns the table, the index just past its ``table_close``, and its ``bad-row`` findings.
    """
    header: list[str] = []
    header_line = (tokens[start].map or [0, 0])[0] + 1
    rows: list[Row] = []
    findings: list[Finding] = []
    in_head = False
    cells: list[Cell] = []
    row_line = header_line
    i = start + 1
    n = len(tokens)
    while i < n:
        tok = tokens[i]
        kind = tok.type
        if kind == "table_close":
            i += 1
            break
        if kind == "thead_open":
            in_head = True
        elif kind == "thead_close":
            in_head = False
        elif kind == "tr_open":
            cells = []
            row_line = (tok.map or [row_line - 1, 0])[0] + 1
        elif kind == "inline":
            cells.append(Cell(raw=tok.content, plain=plain_text(tok)))
        elif kind == "tr_close":
            if in_head:
                header = [c.plain for c in cells]
            else:
                raw = lines[row_line - 1] if 0 < row_line <= len(lines) else ""
                problem = row_problem(raw, len(header))
                if problem is not None:
                    findings.append(_bad_row(row_line, problem))
                rows.append(Row(line=row_line, cells=tuple(cells), complete=problem is None))
        i += 1
    return Table(header=tuple(header), line=header_line, rows=tuple(rows)), i, findings


def paragraph_table_problem(first_line: int, raw_lines: Sequence[str]) -> Finding | None:
    """A paragraph that contains table-looking lines: a table markdown-it did not read as one.

    ``first_line`` is the 1-based line of ``raw_lines[0]``. Happens when the delimiter row's width
    differs from the header's (the whole table becomes text), or when rows are separated from
    their table by a blank line.
    """
    for offset, raw in enumerate(raw_lines):
        stripped = raw.strip()
        if not stripped.startswith("|"):
            continue
        line = first_line + offset
        nxt = raw_lines[offset + 1] if offset + 1 < len(raw_lines) else ""
        if "|" in nxt and _DELIMITER_ROW.match(nxt) and "-" in nxt:
            head = len(split_raw_row(raw))
            delim = len(split_raw_row(nxt))
            return _bad_row(
                line,
                f"this table's header has {head} cells but its delimiter row has {delim}: "
                "the whole table was read as text and none of its rows count",
            )
        return _bad_row(
            line,
            "this line looks like a table row but is not part of a table "
            "(a blank line or a missing header/delimiter row separates it); it is ignored",
        )
    return None
