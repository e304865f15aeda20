"""A repository path in the width a column has: whole when it fits, else its middle folders give
way to ``…`` and the file name stays whole (``packages/…/zajel/file_transfer.py``), never wrapped
in the middle of a name (``file_transf`` / ``er.py``)."""

from __future__ import annotations

from rich.cells import cell_len

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
