"""Unified diffs as facts: ``parse_patch`` reads git's patch output into ``FilePatch`` and
``Hunk`` values, and ``revert_hunk`` puts one hunk of a file back (pure text in, text out).

A patch is read as git prints it with ``--src-prefix=a/ --dst-prefix=b/`` (``GitRepo`` always
asks for that shape): the ``diff --git`` header and its extended lines (modes, renames, copies,
binary), then hunks. Paths are taken from the extended lines and the ``---``/``+++`` lines,
unquoted as git quotes them (C style), never by splitting the ``diff --git`` line on spaces.
Text is whatever the caller decoded; ``GitRepo`` decodes with ``surrogateescape`` so a file's
bytes survive the round trip through a revert.

``revert_hunk`` is what a hunk revert writes: the hunk's new side must be found in the current
text (at its line, else at exactly one other place: the file moved under it); it is replaced by
the old side. Nothing here touches a file, the index or git.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from wavedeck.plan.errors import WavedeckError

LineKind = Literal["context", "added", "removed"]
FileStatus = Literal["added", "deleted", "modified", "renamed", "copied"]
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")
_KINDS: dict[str, LineKind] = {" ": "context", "+": "added", "-": "removed"}
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}
CUT_MARK = "[wavedeck: diff cut at "  # the note on a patch cut at its size limit (git.changes)


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a hunk: its kind, its text (no newline), its numbers on each side (1-based;
    None on the side it is not on) and whether it ends with a newline in its file."""

    kind: LineKind
    text: str
    old: int | None
    new: int | None
    eol: bool = True


@dataclass(frozen=True)
class Hunk:
    """``@@ -old_start,old_len +new_start,new_len @@ section``, and its lines."""

    old_start: int
    old_len: int
    new_start: int
    new_len: int
    section: str = ""
    lines: tuple[DiffLine, ...] = ()

    @property
    def header(self) -> str:
        return f"@@ -{self.old_start},{self.old_len} +{self.new_start},{self.new_len} @@"

    @property
    def added(self) -> int:
        return sum(1 for line in self.lines if line.kind == "added")

    @property
    def removed(self) -> int:
        return sum(1 for line in self.lines if line.kind == "removed")

    def side(self, which: Literal["old", "new"]) -> list[DiffLine]:
        """The lines of one side: context and removed (old), or context and added (new)."""
        skip = "added" if which == "old" else "removed"
        return [line for line in self.lines if line.kind != skip]

    @property
    def first_changed(self) -> DiffLine | None:
        return next((line for line in self.lines if line.kind != "context"), None)


@dataclass(frozen=True)
class FilePatch:
    """One file's part of a patch: what happened to it and its hunks.

    ``path`` is the new name (the old one for a deletion); ``old_path`` the old name of a rename
    or copy; modes are git's (``100644``, ``100755``, ``120000`` a link, ``160000`` a
    submodule), None on a side where the file does not exist or when unchanged and unstated.
    """

    path: str
    status: FileStatus = "modified"
    old_path: str | None = None
    old_mode: str | None = None
    new_mode: str | None = None
    binary: bool = False
    similarity: int | None = None  # a rename's or copy's, in percent
    hunks: tuple[Hunk, ...] = ()
    cut: bool = False  # the patch was cut at its size limit in or before this file

    @property
    def added(self) -> int:
        return sum(h.added for h in self.hunks)

    @property
    def removed(self) -> int:
        return sum(h.removed for h in self.hunks)

    @property
    def mode_changed(self) -> bool:
        return bool(self.old_mode and self.new_mode and self.old_mode != self.new_mode)


@dataclass
class _Building:
    path: str = ""
    old_name: str | None = None
    new_name: str | None = None
    status: FileStatus = "modified"
    old_mode: str | None = None
    new_mode: str | None = None
    binary: bool = False
    similarity: int | None = None
    renamed_from: str | None = None
    renamed_to: str | None = None
    hunks: list[Hunk] = field(default_factory=list)
    cut: bool = False

    def done(self) -> FilePatch:
        new = self.renamed_to or self.new_name
        old = self.renamed_from or self.old_name
        path = new if new is not None else (old or self.path)
        moved = self.status in ("renamed", "copied")
        return FilePatch(
            path=path,
            status=self.status,
            old_path=old if moved else None,
            old_mode=self.old_mode,
            new_mode=self.new_mode,
            binary=self.binary,
            similarity=self.similarity,
            hunks=tuple(self.hunks),
            cut=self.cut,
        )


def unquote(name: str) -> str:
    """A path as git printed it: C-quoted (``"a\\tb"``, octal bytes) or bare."""
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name
    raw = bytearray()
    body = name[1:-1]
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 == len(body):
            raw += ch.encode("utf-8", "surrogateescape")
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in "01234567" and i + 3 < len(body) + 1 and body[i + 1 : i + 4].isdigit():
            raw.append(int(body[i + 1 : i + 4], 8) & 0xFF)
            i += 4
        else:
            raw.append(_ESCAPES.get(nxt, ord(nxt)))
            i += 2
    return raw.decode("utf-8", "surrogateescape")


def _side_name(rest: str, prefix: str) -> str | None:
    """``a/path`` (or ``/dev/null``) after ``--- `` / ``+++ ``: the path, None for none."""
    rest = rest.split("\t", 1)[0] if not rest.startswith('"') else rest
    name = unquote(rest)
    if name == "/dev/null":
        return None
    return name[len(prefix) :] if name.startswith(prefix) else name


def _git_line_paths(rest: str) -> str:
    """The path of a ``diff --git a/X b/X`` line when both names are the same (a mode change or
    a binary file has no ``---`` line): the first half, unquoted."""
    if rest.startswith('"'):
        end = rest.find('" ', 1)
        return unquote(rest[: end + 1])[2:] if end > 0 else rest
    half = (len(rest) - 1) // 2  # "a/X b/X": both halves the same length
    first = rest[:half]
    return first[2:] if first.startswith("a/") else first


def _header_line(cur: _Building, line: str) -> None:
    """One extended header line of ``cur``'s file."""
    if line.startswith("new file mode "):
        cur.status, cur.new_mode = "added", line[14:].strip()
    elif line.startswith("deleted file mode "):
        cur.status, cur.old_mode = "deleted", line[18:].strip()
    elif line.startswith("old mode "):
        cur.old_mode = line[9:].strip()
    elif line.startswith("new mode "):
        cur.new_mode = line[9:].strip()
    elif line.startswith(("similarity index ", "dissimilarity index ")):
        digits = line.rsplit(" ", 1)[-1].rstrip("%")
        cur.similarity = int(digits) if digits.isdigit() else None
    elif line.startswith("rename from "):
        cur.status, cur.renamed_from = "renamed", unquote(line[12:])
    elif line.startswith("rename to "):
        cur.status, cur.renamed_to = "renamed", unquote(line[10:])
    elif line.startswith("copy from "):
        cur.status, cur.renamed_from = "copied", unquote(line[10:])
    elif line.startswith("copy to "):
        cur.status, cur.renamed_to = "copied", unquote(line[8:])
    elif line.startswith("index "):
        parts = line.split()
        if len(parts) == 3 and cur.old_mode is None and cur.new_mode is None:
            cur.old_mode = cur.new_mode = parts[2]  # unchanged mode, stated once
    elif line.startswith("Binary files ") or line == "GIT binary patch":
        cur.binary = True
    elif line.startswith("--- "):
        cur.old_name = _side_name(line[4:], "a/")
    elif line.startswith("+++ "):
        cur.new_name = _side_name(line[4:], "b/")


def parse_patch(text: str) -> list[FilePatch]:
    """Every file of a ``git diff`` patch, in order (see the module docstring)."""
    files: list[FilePatch] = []
    cur: _Building | None = None
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith("diff --git "):
            if cur is not None:
                files.append(cur.done())
            cur = _Building(path=_git_line_paths(line[11:]))
            continue
        if line.startswith(CUT_MARK):
            if cur is not None:
                cur.cut = True
            continue
        if cur is None:
            continue
        match = _HUNK.match(line) if line.startswith("@@ ") else None
        if match is None:
            _header_line(cur, line)
            continue
        hunk, i = _read_hunk(match, lines, i)
        cur.hunks.append(hunk)
        if hunk.lines and i >= len(lines):
            cur.cut = cur.cut or _short(hunk)
    if cur is not None:
        files.append(cur.done())
    return files


def _short(hunk: Hunk) -> bool:
    old = sum(1 for line in hunk.lines if line.kind != "added")
    new = sum(1 for line in hunk.lines if line.kind != "removed")
    return old < hunk.old_len or new < hunk.new_len


def _read_hunk(match: re.Match[str], lines: list[str], i: int) -> tuple[Hunk, int]:
    old_start, new_start = int(match.group(1)), int(match.group(3))
    old_len = int(match.group(2)) if match.group(2) is not None else 1
    new_len = int(match.group(4)) if match.group(4) is not None else 1
    old_left, new_left = old_len, new_len
    old_no, new_no = old_start, new_start
    out: list[DiffLine] = []
    while i < len(lines) and (old_left > 0 or new_left > 0 or lines[i].startswith("\\")):
        line = lines[i]
        if line.startswith("\\"):  # "\ No newline at end of file": about the line before
            if out:
                last = out[-1]
                out[-1] = DiffLine(last.kind, last.text, last.old, last.new, eol=False)
            i += 1
            continue
        kind = _KINDS.get(line[:1]) if line else "context"
        if kind is None:
            break  # not a hunk line: the patch was cut, or is malformed
        if kind == "context":
            out.append(DiffLine(kind, line[1:], old_no, new_no))
            old_no, new_no, old_left, new_left = old_no + 1, new_no + 1, old_left - 1, new_left - 1
        elif kind == "removed":
            out.append(DiffLine(kind, line[1:], old_no, None))
            old_no, old_left = old_no + 1, old_left - 1
        else:
            out.append(DiffLine(kind, line[1:], None, new_no))
            new_no, new_left = new_no + 1, new_left - 1
        i += 1
    hunk = Hunk(old_start, old_len, new_start, new_len, match.group(5), tuple(out))
    return hunk, i


class HunkMismatch(WavedeckError, ValueError):
    """The hunk's new side is not in the text (the file changed since the diff was read)."""


def _as_lines(side: list[DiffLine]) -> list[str]:
    return [line.text + ("\n" if line.eol else "") for line in side]


def revert_hunk(current: str, hunk: Hunk) -> str:
    """``current`` with ``hunk`` undone: its new side replaced by its old side.

    The new side is looked for at the hunk's line first, then anywhere; found at no place, or
    at several places but not the hunk's own, it is a ``HunkMismatch``.
    """
    have = current.splitlines(keepends=True)
    want = _as_lines(hunk.side("new"))
    put = _as_lines(hunk.side("old"))
    at = hunk.new_start - 1 if hunk.new_len > 0 else hunk.new_start
    size = len(want)

    def fits(start: int) -> bool:
        return start >= 0 and start + size <= len(have) and have[start : start + size] == want

    if not fits(at):
        places = [s for s in range(len(have) - size + 1) if fits(s)] if size else []
        if len(places) != 1:
            where = "nowhere" if not places else f"at {len(places)} places"
            raise HunkMismatch(
                f"{hunk.header}: its lines are {where} in the file now (changed since it was read)"
            )
        at = places[0]
    before, after = have[:at], have[at + size :]
    if put and not put[-1].endswith("\n") and after:
        raise HunkMismatch(f"{hunk.header}: the file's end moved")
    if before and not before[-1].endswith("\n") and put:
        before[-1] += "\n"  # the line before gains the newline the old side had after it
    return "".join([*before, *put, *after])
