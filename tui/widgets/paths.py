"""A repository path in the width a column has: whole when it fits, else its middle folders give
way to ``…`` and the file name stays whole (``packages/…/zajel/file_transfer.py``), never wrapped
in the middle of a name (``file_transf`` / ``er.py``).

``fit_paths`` and ``add_fitted_columns`` lay out a table whose path column takes what the other
columns leave (the violations and checkpoint screens)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len
from textual.widgets import DataTable

ELLIPSIS = "…"


def _cut_middle(text: str, width: int) -> str:
    """``text`` cut in its middle to ``width`` cells (a name longer than the column)."""
    if width <= 1:
        return ELLIPSIS[:width]
    keep = width - 1
    head = keep - keep // 2
    tail = keep // 2
    return text[:head] + ELLIPSIS + (text[-tail:] if tail else "")


def fit_path(path: str, width: int) -> str:
    """``path`` in at most ``width`` cells, the file name kept whole whenever it fits alone.

    Of the shortened forms, the one keeping the most folders is chosen; on a tie, the one keeping
    more of the folders next to the file (they say more about it than the top ones)."""
    if cell_len(path) <= width:
        return path
    *dirs, name = path.split("/")
    if not dirs or cell_len(name) + 2 > width:
        return name if dirs and cell_len(name) <= width else _cut_middle(name, width)
    best = f"{ELLIPSIS}/{name}"
    best_kept = (0, 0)
    for tail in range(len(dirs)):
        for head in range(len(dirs) - tail):
            if head + tail == len(dirs):
                continue
            parts = [*dirs[:head], ELLIPSIS, *dirs[len(dirs) - tail :], name]
            candidate = "/".join(parts)
            kept = (head + tail, tail)
            if cell_len(candidate) <= width and kept > best_kept:
                best, best_kept = candidate, kept
    return best


def fit_paths(paths: Sequence[str], others: Sequence[Sequence[str]], width: int) -> list[str]:
    """``paths`` fitted to what a table ``width`` cells wide leaves them once the other columns
    (each row's other cells, in ``others``: a column as wide as its widest cell, with a cell of
    padding a side) and the scrollbar's cell have theirs; as they are while ``width`` is not
    known yet (0)."""
    if not width:
        return list(paths)
    columns = len(others[0]) if others else 0
    used = sum(max(cell_len(row[i]) for row in others) + 2 for i in range(columns))
    room = width - used - 2 - 2
    return [fit_path(path, max(room, 16)) for path in paths]


def add_fitted_columns(
    table: DataTable[Any], labels: Sequence[str], rows: Sequence[Sequence[str]]
) -> None:
    """Add ``labels`` as columns, each as wide (in cells: a CJK name is two a character) as its
    label or its widest cell in ``rows``. Given, not measured by the table: it measures new
    rows only when it next goes idle, and a frame drawn before that (likely under load) stays
    cached at the labels' widths ("…/cl  unow") until a later change, which may never come."""
    for i, label in enumerate(labels):
        table.add_column(label, width=max([cell_len(label), *(cell_len(row[i]) for row in rows)]))
