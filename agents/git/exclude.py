"""Keeping wavedeck's own files out of git: a pattern in the repository's ``info/exclude``.

``ensure_excluded`` adds a line (``/.wavedeck/``, the run data, by default) to the exclude file
every worktree of the repository shares, unless a line already says exactly that, so no
``git status``, diff or checkpoint ever lists what wavedeck writes. Nothing is run: the file is
read and appended to, under the caller's repository lock (``GitRepo``'s).
"""

from __future__ import annotations

from pathlib import Path

from wavedeck.agents.git.errors import GitError

__all__ = ["ensure_excluded"]


def ensure_excluded(common_dir: Path, pattern: str) -> None:
    """Add ``pattern`` to ``info/exclude`` in ``common_dir`` unless a line already says it;
    ``GitError`` for a blank pattern or one spanning lines."""
    if not pattern.strip() or "\n" in pattern or "\r" in pattern:
        raise GitError(f"invalid exclude pattern {pattern!r}")
    exclude = common_dir / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    text = exclude.read_text(encoding="utf-8", errors="surrogateescape") if exclude.exists() else ""
    if pattern in text.splitlines():
        return
    prefix = "" if not text or text.endswith("\n") else "\n"
    with exclude.open("a", encoding="utf-8") as out:
        out.write(f"{prefix}# added by wavedeck (its run data)\n{pattern}\n")
