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
from typing import NamedTuple

from markdown_it.token import Token

from wavedeck.plan.errors import Finding

_DELIMITER_ROW = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_CODE_SPAN = re.compile(r"(`+)(?:.+?)(?<!`)\1(?!`)")


class Row(NamedTuple):
    """A body row: one inline token per header column (``.content`` is the cell's source text,
    ``plain_text(token)`` its text without formatting)."""

    line: int  # 1-based source line
    cells: tuple[Token, ...]
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
    if _FORMATTING.search(inline.content) is None:
        return inline.content
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


_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
# Cell text with none of these characters has no Markdown formatting: its plain text is itself.
_FORMATTING = re.compile(r"[`*_\\&<\[!~]")


def split_raw_row(line: str) -> list[str]:
    """Split a raw table line into cells the way GFM does: on every ``|`` not escaped by ``\\``."""
    text = line.strip()
    cells = _UNESCAPED_PIPE.split(text) if "\\" in text else text.split("|")
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
    text = raw.strip()
    # Fast path, the common case: an outer-piped row without escapes has count("|") - 1 cells.
    if (
        len(text) > 1
        and text[0] == "|"
        and text[-1] == "|"
        and "\\" not in text
        and text.count("|") - 1 == columns
    ):
        return None
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
    columns = 0
    cells: list[Token] = []
    row_line = header_line
    i = start + 1
    n = len(tokens)
    while i < n:
        tok = tokens[i]
        kind = tok.type
        if kind == "tr_open" and not in_head:
            row_line = (tok.map or [row_line - 1, 0])[0] + 1
            # A body row is tr_open, (td_open, inline, td_close) per column, tr_close: take the
            # inline tokens by stride instead of visiting every token (the hot loop for big plans).
            end = i + 1 + 3 * columns
            if end < n and tokens[end].type == "tr_close":
                row_cells = tuple(tokens[i + 2 : end : 3])
                raw = lines[row_line - 1] if 0 < row_line <= len(lines) else ""
                problem = row_problem(raw, columns)
                if problem is not None:
                    findings.append(_bad_row(row_line, problem))
                # A line without any | is prose that the table swallowed: reported, not a row.
                if "|" in raw:
                    rows.append(Row(row_line, row_cells, problem is None))
                i = end + 1
                continue
            cells = []
        elif kind == "table_close":
            i += 1
            break
        elif kind == "thead_open":
            in_head = True
        elif kind == "thead_close":
            in_head = False
        elif kind == "tr_open":
            cells = []
        elif kind == "inline":
            cells.append(tok)
        elif kind == "tr_close":
            if in_head:
                header = [plain_text(c) for c in cells]
                columns = len(header)
            else:  # not reached for well-formed token streams; kept for safety
                raw = lines[row_line - 1] if 0 < row_line <= len(lines) else ""
                problem = row_problem(raw, columns)
                if problem is not None:
                    findings.append(_bad_row(row_line, problem))
                rows.append(Row(row_line, tuple(cells), problem is None))
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
