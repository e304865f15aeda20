"""Changed-file lists: what ``git diff --raw --numstat -z`` and the untracked listing say, parsed.

``ChangedFile`` is the row the diff review and the checkpoint gate work from: a path, a status
(``A``dded, ``M``odified, ``D``eleted, ``R``enamed, ``T``ype changed; untracked files are ``A``
with ``untracked=True``), line counts (``None`` for binary), and file modes. Untracked files are
counted here in Python (git's own rule: a NUL in the first 8,000 bytes means binary) instead of
one ``git diff --no-index`` per file.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from wavedeck.agents.git.content import count_lines

_RAW = re.compile(r"^:(\d{6}) (\d{6}) [0-9a-f]+ [0-9a-f]+ ([A-Z])(\d*)$")
_NO_MODE = "000000"
BIG_FILE = 50 * 1024 * 1024  # larger untracked files are not read to count lines


@dataclass(frozen=True)
class ChangedFile:
    """One changed path between a base commit and the working tree (or between two commits).

    Attributes:
        path: the repo-relative POSIX path (the new name for a rename).
        status: ``A``, ``M``, ``D``, ``R``, ``T`` (``U`` for an unmerged path during a merge).
        old_path: the previous name for a rename, else ``None``.
        added / deleted: line counts; ``None`` for a binary file (or an untracked file past the
            first 2,000, which are listed without being read).
        binary: git (or the NUL probe, for an untracked file) considers it binary.
        old_mode / new_mode: ``"100644"``, ``"100755"``, ``"120000"`` (link), ``"160000"``
            (submodule); ``None`` on the side where the file does not exist.
        untracked: a new file git does not track yet (``status`` is ``A``).
    """

    path: str
    status: str
    old_path: str | None = None
    added: int | None = None
    deleted: int | None = None
    binary: bool = False
    old_mode: str | None = None
    new_mode: str | None = None
    untracked: bool = False


def _decode(raw: bytes) -> str:
    # Non-UTF-8 names survive a round trip to the file system (surrogateescape).
    return raw.decode("utf-8", "surrogateescape")


def _mode(value: str) -> str | None:
    return None if value == _NO_MODE else value


def parse_raw_numstat(output: bytes) -> list[ChangedFile]:
    """Parse ``git diff --raw --numstat -z`` (raw records first, then one numstat per record).

    Paths are consumed by position (one, or two for renames and copies), so a file name that
    looks like a raw header or a count can never be misread.
    """
    tokens = output.split(b"\0")
    if tokens and tokens[-1] == b"":
        tokens.pop()
    records: list[tuple[str, str, str, str | None, str]] = []  # status, old/new mode, old, new
    i = 0
    while i < len(tokens):
        match = _RAW.match(tokens[i].decode("ascii", "replace"))
        if match is None:
            break
        old_mode, new_mode, letter = match.group(1), match.group(2), match.group(3)
        if letter in ("R", "C"):
            records.append(
                (letter, old_mode, new_mode, _decode(tokens[i + 1]), _decode(tokens[i + 2]))
            )
            i += 3
        else:
            records.append((letter, old_mode, new_mode, None, _decode(tokens[i + 1])))
            i += 2
    counts: dict[str, tuple[int | None, int | None]] = {}
    while i < len(tokens):
        added, deleted, name = tokens[i].split(b"\t", 2)
        if name == b"":  # a rename: "a\td\t" NUL old NUL new
            name = tokens[i + 2]
            i += 3
        else:
            i += 1
        counts[_decode(name)] = (
            None if added == b"-" else int(added),
            None if deleted == b"-" else int(deleted),
        )
    files = []
    for letter, old_mode, new_mode, old, new in records:
        added_n, deleted_n = counts.get(new, (None, None))
        files.append(
            ChangedFile(
                path=new,
                status="A" if letter == "C" else letter,
                old_path=old,
                added=added_n,
                deleted=deleted_n,
                binary=new in counts and added_n is None,
                old_mode=_mode(old_mode),
                new_mode=_mode(new_mode),
            )
        )
    return files


def split_z(output: bytes) -> list[str]:
    """NUL-separated names (``ls-files -z``) as strings."""
    return [_decode(part) for part in output.split(b"\0") if part]


def untracked_file(root: Path, path: str, *, count: bool = True) -> ChangedFile:
    """A ``ChangedFile`` for an untracked ``path``, counted like ``git diff --numstat`` would.

    With ``count=False`` the file is not read: ``added`` stays ``None``.
    """
    full = root / path.rstrip("/")
    try:
        info = os.lstat(full)
    except OSError:  # vanished since the listing
        return ChangedFile(path=path, status="A", untracked=True)
    if path.endswith("/"):  # a nested repository git lists as a folder
        return ChangedFile(path=path.rstrip("/"), status="A", new_mode="160000", untracked=True)
    if stat.S_ISLNK(info.st_mode):
        return ChangedFile(
            path=path, status="A", added=1, deleted=0, new_mode="120000", untracked=True
        )
    mode = "100755" if info.st_mode & 0o111 else "100644"
    if not count:
        return ChangedFile(path=path, status="A", new_mode=mode, untracked=True)
    if info.st_size > BIG_FILE:
        return ChangedFile(path=path, status="A", binary=True, new_mode=mode, untracked=True)
    counted = count_lines(full)  # a chunk at a time, never the whole file in memory
    if counted is None:
        return ChangedFile(path=path, status="A", new_mode=mode, untracked=True)
    if counted.binary:
        return ChangedFile(path=path, status="A", binary=True, new_mode=mode, untracked=True)
    return ChangedFile(
        path=path, status="A", added=counted.lines, deleted=0, new_mode=mode, untracked=True
    )


def merge_untracked(tracked: list[ChangedFile], untracked: list[ChangedFile]) -> list[ChangedFile]:
    """Tracked changes plus untracked files, sorted by path.

    A path both deleted in the diff and present untracked (removed from the index with
    ``git rm --cached`` but still on disk) is one modification of unknown size, not two rows.
    """
    by_path = {f.path: f for f in tracked}
    for new in untracked:
        old = by_path.get(new.path)
        if old is not None and old.status == "D":
            by_path[new.path] = ChangedFile(
                path=new.path, status="M", old_mode=old.old_mode, new_mode=new.new_mode
            )
        elif old is None:
            by_path[new.path] = new
    return sorted(by_path.values(), key=lambda f: f.path)
