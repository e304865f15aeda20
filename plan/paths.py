"""Plan paths: validate what a plan declares and normalise it to a POSIX path relative to the repo.

A plan's paths end up in git pathspecs, watcher rules, prompts and file reads, so anything that
could mean something other than "this file inside the repository" is refused here, lexically:
absolute paths, ``..`` leaving the repo, backslashes, control and bidi characters, non-NFC text,
anything under ``.git/`` (any case) or ``.wavedeck/``, git pathspec magic (``:(exclude)``), globs,
and a leading ``-`` that a command would read as an option. Symlinks are checked where paths are
used (the repo readers and git), not here: ``plan/`` does no I/O.
"""

from __future__ import annotations

import re
import unicodedata

from wavedeck.plan.errors import WavedeckError

# C0/C1 controls, DEL, and bidi/zero-width formatting characters (a path that reads differently
# from what it is: "Trojan Source").
_UNSAFE_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_DRIVE = re.compile(r"^[A-Za-z]:")
_GLOB = re.compile(r"[*?]")
# Folders that belong to git or to wavedeck's own run data: never a plan's to assign.
_RESERVED_DIRS = (".git", ".wavedeck")


class PathRejected(WavedeckError, ValueError):
    """A declared path that is not a plain file path inside the repository; ``reason`` says why."""

    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(f"{raw!r}: {reason}")
        self.raw = raw
        self.reason = reason


def _text_problem(name: str) -> str | None:
    if name == "":
        return "empty path"
    bad = _UNSAFE_CHARS.search(name)
    if bad is not None:
        return f"contains the control or formatting character U+{ord(bad.group(0)):04X}"
    if unicodedata.normalize("NFC", name) != name:
        return "is not in Unicode NFC form (it could name a different file than it shows)"
    if "\\" in name:
        return "contains a backslash (write POSIX paths with /)"
    return None


def _form_problem(name: str) -> str | None:
    if name.startswith(":"):
        return "looks like git pathspec magic (starts with :)"
    if name.startswith("-"):
        return "starts with - and would be read as a command-line option"
    if _GLOB.search(name):
        return "contains a glob character (* or ?): declare each file"
    return None


_ABSOLUTE = "is absolute (paths must be relative to the repository)"


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a plain repo-relative file name on its face, or ``None``.

    The one character-level rule for every layer that handles a path from a plan: the reader
    here, and the git layer before git sees a path (``wavedeck.agents.git.paths``). Controls,
    bidi and zero-width characters, non-NFC text, backslashes, absolute paths, options (``-``),
    pathspec magic (``:``) and globs are refused.
    """
    if (problem := _text_problem(name)) is not None:
        return problem
    return _ABSOLUTE if name.startswith("/") else _form_problem(name)


def _reason(raw: str) -> str | None:
    """Why ``raw`` (one declared path, as written) is unsafe on its face, or ``None``: the
    common rule, and what only a plan could mean (a drive letter, a home folder)."""
    if (problem := _text_problem(raw)) is not None:
        return problem
    if raw.startswith("/") or _DRIVE.match(raw):
        return _ABSOLUTE
    if raw.startswith("~"):
        return "starts with ~ (paths must be relative to the repository)"
    return _form_problem(raw)


def _join(parts: list[str], raw: str) -> list[str]:
    """Resolve ``.`` and ``..`` lexically onto ``parts``; refuse to climb above the repo root."""
    out = list(parts)
    for part in raw.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not out:
                raise PathRejected(raw, "leaves the repository (..)")
            out.pop()
            continue
        out.append(part)
    return out


def _check_parts(raw: str, parts: list[str]) -> None:
    for part in parts:
        if part.casefold() in _RESERVED_DIRS:
            raise PathRejected(raw, f"is inside {part}/, which no agent may be assigned")
    # Checked again on the resolved path: 'a/../:x' must not become pathspec magic once resolved.
    first = parts[0] if parts else ""
    if first.startswith("-"):
        raise PathRejected(raw, "starts with - and would be read as a command-line option")
    if first.startswith(":"):
        raise PathRejected(raw, "looks like git pathspec magic (starts with :) once resolved")
    if first.startswith("~"):
        raise PathRejected(
            raw, "starts with ~ once resolved (paths must be relative to the repository)"
        )


def normalize_package(raw: str) -> str:
    """A package folder as a repo-relative POSIX folder with a trailing slash (``""`` = root).

    Raises ``PathRejected`` when the folder is unsafe.
    """
    text = raw.strip()
    reason = _reason(text)
    if reason is not None and text not in ("", ".", "./"):
        raise PathRejected(text, reason)
    parts = _join([], text)
    _check_parts(text, parts)
    return "".join(p + "/" for p in parts)


def normalize_file(package: str, raw: str) -> str:
    """A file declared under ``package`` (already normalised) as a repo-relative POSIX path.

    Raises ``PathRejected`` when the path is unsafe or names no file (``.`` or a folder).
    """
    return _resolve_file(package, raw.strip())


def _resolve_file(package: str, text: str) -> str:
    reason = _reason(text)
    if reason is not None:
        raise PathRejected(text, reason)
    base = [p for p in package.split("/") if p]
    parts = _join(base, text)
    if len(parts) <= len(base) and parts == base[: len(parts)]:
        raise PathRejected(text, "names a folder, not a file")
    _check_parts(text, parts)
    return "/".join(parts)


def is_safe_repo_path(path: str) -> bool:
    """Whether ``path`` is already a normalised, safe repo-relative file path (as it is: the
    blanks ``normalize_file`` trims around a declared path are part of a file name here)."""
    try:
        return _resolve_file("", path) == path
    except PathRejected:
        return False
