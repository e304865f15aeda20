"""Reading work-tree files in bounded memory: digests and line counts, a chunk at a time.

An agent can write a 1 GiB (sparse) file; wavedeck reads it to fingerprint what the tests saw
and to count an untracked file's lines, and must not need a gigabyte to do so. Every read here
goes through ``CHUNK``-sized pieces, and a file is opened without following a last symbolic
link and without blocking (``O_NOFOLLOW | O_NONBLOCK``, then ``fstat``), so a FIFO or device an
agent leaves in the tree is named, never waited on.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

CHUNK = 1 << 20
BINARY_PROBE = 8000  # bytes git inspects for a NUL to call a file binary


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...


@contextmanager
def _opened(path: Path) -> Iterator[int | str]:
    """A descriptor on the regular file ``path``, or why it is not one (``link``, ``fifo``…)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        yield "link" if os.path.islink(path) else "gone"
        return
    try:
        mode = os.fstat(fd).st_mode
        yield fd if stat.S_ISREG(mode) else ("fifo" if stat.S_ISFIFO(mode) else "special")
    finally:
        os.close(fd)


def _chunks(fd: int) -> Iterator[bytes]:
    while data := os.read(fd, CHUNK):
        yield data


def update_with_file(digest: _Digest, path: Path) -> None:
    """Feed ``path``'s bytes to ``digest`` a chunk at a time; a link, a special file or a file
    gone feeds a marker naming which (``link``, ``<fifo>``, ``<gone>``...)."""
    with _opened(path) as opened:
        if isinstance(opened, str):
            digest.update(b"link" if opened == "link" else f"<{opened}>".encode())
            return
        for data in _chunks(opened):
            digest.update(data)


def fingerprint(root: Path, paths: Iterable[str]) -> str:
    """A SHA-256 over each path and its content (the same bytes as reading each file whole:
    ``path NUL content NUL``), in bounded memory."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.encode("utf-8", "surrogateescape") + b"\0")
        update_with_file(digest, root / path)
        digest.update(b"\0")
    return digest.hexdigest()


def file_sha256(path: Path) -> str | None:
    """The SHA-256 of a regular file's content, or None when it is not one (or is gone)."""
    with _opened(path) as opened:
        if isinstance(opened, str):
            return None
        digest = hashlib.sha256()
        for data in _chunks(opened):
            digest.update(data)
        return digest.hexdigest()


@dataclass(frozen=True)
class TextCount:
    """An untracked file as ``git diff --numstat`` would count it."""

    binary: bool
    lines: int


def count_lines(path: Path) -> TextCount | None:
    """Lines of ``path`` (a last line without a newline counts), or binary (a NUL in the first
    ``BINARY_PROBE`` bytes); None when it cannot be read. Memory: one chunk."""
    with _opened(path) as opened:
        if isinstance(opened, str):
            return None
        lines, last, head = 0, b"", b""
        for data in _chunks(opened):
            if len(head) < BINARY_PROBE:
                head += data[: BINARY_PROBE - len(head)]
                if b"\0" in head:
                    return TextCount(True, 0)
            lines += data.count(b"\n")
            last = data[-1:]
        return TextCount(False, lines + (1 if last and last != b"\n" else 0))
