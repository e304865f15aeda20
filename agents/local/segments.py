"""An agent's log as rotated segments: where each starts (``list_segments``, for every reader
of the log too) and the writer that rotates them (``SegmentWriter``, the wrapper's).

The wrapper (``wrapper.py`` beside this file) loads this module by path, so it imports nothing
but the standard library: the wrapper runs with ``python3 -I`` in the user's repository, where
wavedeck's package cannot be imported. The control room imports it as
``wavedeck.agents.local.segments`` (``logfiles``, ``tail``) to read the log by logical offset.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


def list_segments(path: str) -> tuple[list[tuple[int, str]], int]:
    """The rotated segments of the log ``path`` as ``(logical start, file)``, oldest first, and
    the logical offset where the live file ``path`` starts.

    A rotated segment is named ``<log name>.<logical offset of its first byte>`` and never
    changes once named, so the live file starts where the newest rotated one ends. Offsets count
    every byte the log ever held, so a reader's saved offset stays valid across rotations.
    """
    folder, name = os.path.split(path)
    prefix = name + "."
    found: list[tuple[int, str]] = []
    try:
        entries = os.listdir(folder or ".")
    except OSError:
        entries = []
    for entry in entries:
        if entry.startswith(prefix) and entry[len(prefix) :].isdigit():
            found.append((int(entry[len(prefix) :]), os.path.join(folder, entry)))
    found.sort()
    while found:
        start, newest = found[-1]
        try:
            return found, start + os.stat(newest).st_size
        except FileNotFoundError:
            found.pop()  # pruned while we looked (never the newest, but be safe)
    return found, 0


class SegmentWriter:
    """Appends to the log ``path``, renaming it to a rotated segment once it holds ``max_bytes``
    (0: never) and keeping the newest ``keep`` rotated segments: at most (keep+1) x max_bytes
    on disk. A write that fails (disk full) drops the bytes and is retried with the next ones:
    the agent never blocks on its log (E4). Output is also dropped while the disk has less than
    ``min_free`` bytes free, so a flooding agent cannot fill the disk before its rotation limit
    (the run state, exit records and git need the room); when writing resumes, one line says
    how many bytes were dropped."""

    def __init__(
        self, path: str, max_bytes: int, keep: int, min_free: int = 0, facts: Any = None
    ) -> None:
        if max_bytes < 0 or keep < 1 or min_free < 0:
            raise ValueError("log_max_bytes and log_min_free must be >= 0 and log_keep >= 1")
        self.path, self.max_bytes, self.keep, self.min_free = path, max_bytes, keep, min_free
        _, self.start = list_segments(path)
        self._lock = threading.Lock()  # the wrapper's copier and its own messages both write
        self.fd = self._open()
        self.size = os.fstat(self.fd).st_size
        self.dropped = 0
        self._told = 0  # bytes dropped that a log line already accounts for
        self._dropping = False  # output is being dropped for want of free space
        # factscan.FactScanner: sees each chunk before it is written, so a fact is in the
        # record before its bytes are in the log (and long before they can be rotated away).
        self.facts = facts
        self.facts_error: str | None = None

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def _room(self, wanted: int) -> bool:
        """Whether the disk keeps ``min_free`` bytes free after ``wanted`` more."""
        if not self.min_free:
            return True
        try:
            fs = os.fstatvfs(self.fd)
        except OSError:
            return True  # cannot tell: the write itself will say
        return fs.f_bavail * fs.f_frsize >= self.min_free + wanted

    def write(self, data: bytes) -> None:
        with self._lock:
            if self.facts is not None:  # facts first: even output the disk has no room for
                self._scan(data)
            if not self._room(len(data)):
                if not self._dropping:  # the floor leaves room for this one line
                    self._dropping = True
                    self._note(
                        f"output dropped from here: under {self.min_free} bytes are free on "
                        "the disk"
                    )
                # The lines carrying facts (done lines, refusals, the session) stay: they are
                # few and small, and without them the agent's work could not be shown done.
                kept = self.facts.fact_lines(data) if self.facts is not None else b""
                if kept:
                    self._write(kept)
                self.dropped += len(data) - len(kept)
                return
            self._resume()
            self._write(data)

    def finish(self) -> None:
        """The agent ended: say how much was dropped, if the log is still dropping."""
        with self._lock:
            self._resume()

    def _resume(self) -> None:
        if self.dropped > self._told:
            lost, self._told, self._dropping = self.dropped - self._told, self.dropped, False
            self._note(f"{lost} bytes of output were dropped (the disk was full or nearly)")

    def _note(self, text: str) -> None:
        self._write(f"\n── wavedeck: {text} ──\n".encode())

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                if self.max_bytes and self.size >= self.max_bytes:
                    self._rotate()
                room = self.max_bytes - self.size if self.max_bytes else len(view)
                written = os.write(self.fd, view[:room])
            except OSError:
                self.dropped += len(view)
                return
            self.size += written
            view = view[written:]

    def _scan(self, data: bytes) -> None:
        try:
            self.facts.feed(data, self.start + self.size)
        except Exception as error:  # a scanner bug must never cost the agent its log
            self.facts, self.facts_error = None, f"{type(error).__name__}: {error}"

    def close_facts(self) -> None:
        """The agent's output has ended: record its last line if it had no newline."""
        with self._lock:
            if self.facts is not None:
                try:
                    self.facts.close()
                except Exception as error:
                    self.facts_error = f"{type(error).__name__}: {error}"
                self.facts = None

    def _rotate(self) -> None:
        os.rename(self.path, f"{self.path}.{self.start}")
        os.close(self.fd)
        self.start += self.size
        self.fd, self.size = self._open(), 0
        rotated, _ = list_segments(self.path)
        for _start, old in rotated[: -self.keep]:
            try:
                os.unlink(old)
            except OSError:
                pass
