"""Reading an agent's log by byte offset: complete lines only, any bytes, any line length.

``LogTailer`` reads a growing log file in 64 KiB ``pread`` calls from a byte offset and returns
complete lines. ``LogChunk.offset`` is the byte offset just after the last line returned, so a
control room that saves it and later resumes there neither repeats nor loses a line.

Lines follow the one rule of ``wavedeck.agents.lines`` (UTF-8 with U+FFFD, ``\\r`` progress keeps its last
state, lines over 64 KiB in marked pieces, a partial last line kept back until ``flush()``), the
same rule the pane's history and the full-log view use.

Offsets are *logical* (``wavedeck.agents.local.logfiles``): when the wrapper rotates ``<id>.log`` to
``<id>.log.<start>``, the tailer reads the held file to its end and goes on in the next one, so
nothing is lost or repeated across a rotation. A saved offset whose bytes were rotated away
before they were read resumes at the oldest byte still on disk, and ``error`` says how many bytes
were skipped. The lines of the agent's fact record (``logfiles.recorded_lines``) from that
stretch come first in the next chunk (``LogChunk.skipped``, ``recovered``): what a reader that
fell behind loses is display lines, never a fact. The gap is handed out with the first complete
line after it: the wrapper records a line before writing its end, so by then the record holds
the line cut by the gap too.

- A read error (disk, permissions, the path replaced by a directory, the file truncated or
  replaced) never raises: ``error`` says what went wrong, ``errors`` counts failures, and the next
  read retries, reopening the file.

``follow()`` turns a tailer into an async iterator that polls with a short idle sleep (30 ms, as
toolong does) until a ``finished`` callback says the writer is gone, then drains and flushes. Right
after new lines it polls sooner (2 ms, doubling up to 30 ms while nothing comes): a busy writer's
next lines are picked up at once, an idle log costs no more than before.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from wavedeck.agents.lines import LineDecoder
from wavedeck.agents.local.logfiles import facts_path, recorded_lines
from wavedeck.agents.local.segments import list_segments
from wavedeck.agents.runtypes import LogChunk

__all__ = ["LogTailer", "follow"]

READ_BYTES = 64 * 1024
DEFAULT_MAX_READ = 64 * 1024  # per event-loop turn: ~3,000 short lines, ~0.3 ms of work
IDLE_S = 0.03
BUSY_IDLE_S = 0.002  # the first idle sleep after new lines (doubles up to ``idle_s``)


class LogTailer:
    """Reads complete lines from a (possibly rotated) log file, starting at a logical offset."""

    def __init__(self, path: str | Path, offset: int = 0) -> None:
        self.path = Path(path)
        self._offset = offset  # just after the last line (or piece) returned
        self._decoder = LineDecoder()  # holds bytes after _offset that make no whole line yet
        self._fd: int | None = None
        self._fd_start = 0  # the logical offset of the held file's first byte
        self.error: str | None = None  # the last read error, None once reads work again
        self.errors = 0  # how many reads have failed so far
        self.skipped = 0  # bytes rotated away before they could be read
        self._gap: tuple[int, int] | None = None  # record lines from, to: not yet handed out
        self._gap_lost = 0  # bytes skipped in that gap

    @property
    def offset(self) -> int:
        """The logical byte offset just after the last complete line returned."""
        return self._offset

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None

    def __del__(self) -> None:
        self.close()

    def _open(self, start: int, path: str | Path) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise OSError(f"{self.path} is not a regular file")
        self._fd, self._fd_start = fd, start

    def _open_at(self, position: int) -> int:
        """Open the file holding logical ``position``; returns the position actually read from
        (later than asked when those bytes were rotated away)."""
        for _attempt in range(3):  # a file listed may be pruned before we open it: list again
            rotated, live_start = list_segments(str(self.path))
            try:
                if position >= live_start or not rotated:
                    self._open(live_start, self.path)
                    if not self._holds_start(live_start):
                        continue  # rotated between the listing and the open: list again
                    return max(position, live_start)
                holder = [(start, name) for start, name in rotated if start <= position]
                if not holder:  # rotated away before we read them: resume at the oldest byte
                    start, name = rotated[0]
                    self._open(start, name)
                    return start
                self._open(*holder[-1])
                return position
            except FileNotFoundError:
                if not rotated:
                    raise
        raise OSError(f"{self.path} rotates faster than it can be opened")

    def _holds_start(self, start: int) -> bool:
        """The live file just opened really starts at ``start``: it was not rotated between
        the listing and the open (then the path held a newer file; reading it as if it
        started at ``start`` would give bytes from the wrong place). Closes it if not."""
        assert self._fd is not None
        if list_segments(str(self.path))[1] == start:
            return True
        try:  # rotated since: fine if what we hold is the file renamed to <path>.<start>
            held, renamed = os.fstat(self._fd), os.stat(f"{self.path}.{start}")
            if (held.st_ino, held.st_dev) == (renamed.st_ino, renamed.st_dev):
                return True
        except FileNotFoundError:
            pass
        self.close()
        return False

    def _read(self, position: int) -> bytes | None:
        """The bytes at ``position`` in the held file; None when it was rotated and is read to
        its end (the caller opens the next one)."""
        assert self._fd is not None
        data = os.pread(self._fd, READ_BYTES, position - self._fd_start)
        if data:
            return data
        # Nothing new: was the held file rotated (then it is complete, go on in the next one),
        # or truncated or replaced? Checked only when idle. The path is looked at before the
        # listing, so a rotation between the two is seen as one, never as a replacement.
        held = os.fstat(self._fd)
        try:
            current: os.stat_result | None = os.stat(self.path)
        except FileNotFoundError:
            current = None  # deleted, or mid-rotation: what is appended reaches our descriptor
        moved = current is None or (current.st_ino, current.st_dev) != (held.st_ino, held.st_dev)
        # Only a file no longer at the path can have been rotated: list the folder only then.
        rotated, live_start = list_segments(str(self.path)) if moved else ([], self._fd_start)
        if live_start > self._fd_start or any(s > self._fd_start for s, _ in rotated):
            data = os.pread(self._fd, READ_BYTES, position - self._fd_start)
            if data:
                return data
            self.close()  # the held segment is whole and read: the next one follows on
            return None
        if held.st_size < position - self._fd_start:
            raise OSError(f"{self.path} shrank below offset {position} (truncated)")
        if current is not None and moved:
            raise OSError(f"{self.path} was replaced by another file")
        return data

    @property
    def error_is_skip(self) -> bool:
        """``error`` tells of bytes rotated away unread (not of a failing read)."""
        return self.error is not None and self.error.startswith("skipped ")

    def _fail(self, error: OSError) -> None:
        self.close()  # reopen on the next read: the path may be fixed by then
        self.errors += 1
        detail = error.strerror or str(error)
        self.error = f"cannot read {self.path}: {detail}"

    def read_available(self, max_bytes: int = DEFAULT_MAX_READ) -> LogChunk:
        """Read what has been written since the last call (at most about ``max_bytes``).

        Never blocks and never raises on I/O errors (see ``error``).
        """
        out: list[str] = []
        budget = max_bytes
        skipped_now = False
        reopened = 0
        while budget > 0 or not out:  # a read that ends mid-line reads on to a whole line
            position = self._offset + len(self._decoder.pending)
            try:
                if self._fd is None:
                    resumed = self._open_at(position)
                    if resumed != position and out:
                        self.close()  # lines before the gap go out first, on their own
                        break
                    if resumed != position:
                        self._skip(resumed, position)
                        position, skipped_now = resumed, True
                data = self._read(position)
            except OSError as error:
                self._fail(error)
                break
            if data is None:
                reopened += 1
                if reopened > 8:  # files rotating faster than we open them: next call
                    break
                continue  # on into the next file
            if not skipped_now:  # reported (by ``follow``) before it is cleared
                self.error = None
            if not data:
                break
            budget -= len(data)
            lines, used = self._decoder.feed(data)
            out.extend(lines)
            self._offset += used
            if len(data) < READ_BYTES:
                break
        if out and self._gap is not None:
            return self._with_gap(out)
        return LogChunk(tuple(out), self._offset)

    def _with_gap(self, out: list[str]) -> LogChunk:
        """``out`` after the recorded lines of the gap before it."""
        assert self._gap is not None
        (start, end), lost = self._gap, self._gap_lost
        self._gap, self._gap_lost = None, 0
        decoder = LineDecoder()
        recorded = b"".join(line + b"\n" for line in recorded_lines(self.path, start, end))
        lines = decoder.feed(recorded)[0] + decoder.flush()[0]
        return LogChunk((*lines, *out), self._offset, skipped=lost, recovered=len(lines))

    def _skip(self, resumed: int, position: int) -> None:
        """Bytes between ``position`` and ``resumed`` are gone: say so, start afresh there."""
        lost = resumed - position
        self.skipped += lost
        kept = (
            "their facts are read from its fact record"
            if facts_path(self.path).exists()
            else "it has no fact record: their facts are lost too"  # started by an older wavedeck
        )
        self.error = (
            f"skipped {lost} bytes of {self.path}: rotated away before they were read"
            f" (their display lines are lost; {kept})"
        )
        # The record's lines that began from the start of the line held back to the new start.
        self._gap = (self._gap[0] if self._gap else self._offset, resumed)
        self._gap_lost += lost
        self._decoder.pending = b""
        self._offset = resumed

    def flush(self) -> LogChunk:
        """Read what is left and return the partial last line too (call once the writer is gone)."""
        out: list[str] = []
        skipped = recovered = 0
        while True:  # a read stops at the end of a rotated file: go on until nothing comes
            before = self._offset + len(self._decoder.pending)
            chunk = self.read_available(max_bytes=1 << 62)
            out.extend(chunk.lines)
            skipped, recovered = skipped + chunk.skipped, recovered + chunk.recovered
            if self._offset + len(self._decoder.pending) == before:
                break
        lines, used = self._decoder.flush()
        out.extend(lines)
        self._offset += used
        if self._gap is not None:
            gap = self._with_gap(out)
            out, skipped = list(gap.lines), skipped + gap.skipped
            recovered += gap.recovered
        return LogChunk(tuple(out), self._offset, skipped=skipped, recovered=recovered)


async def follow(
    tailer: LogTailer,
    finished: Callable[[], Awaitable[bool]],
    idle_s: float = IDLE_S,
    on_error: Callable[[str], None] | None = None,
) -> AsyncIterator[LogChunk]:
    """Yield chunks of new lines until ``finished()`` is true, then drain and flush the log.

    ``finished`` is checked only when nothing new was read, and the log is read again after it
    returned true, so lines written just before the writer ended are never lost. ``on_error`` is
    called once each time a read error appears or changes.
    """
    reported: str | None = None
    pause = idle_s
    while True:
        chunk = tailer.read_available()
        if tailer.error != reported:
            reported = tailer.error
            if reported is not None and on_error is not None:
                on_error(reported)
        if chunk.lines:
            yield chunk
            await asyncio.sleep(0)  # a flooding agent must not starve the event loop
            pause = min(BUSY_IDLE_S, idle_s)
            continue
        if await finished():
            while True:
                chunk = tailer.read_available()
                if not chunk.lines:
                    break
                yield chunk
            last = tailer.flush()
            if last.lines:
                yield last
            tailer.close()
            return
        await asyncio.sleep(pause)
        pause = min(pause * 2, idle_s)
