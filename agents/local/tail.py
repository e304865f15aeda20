"""Reading an agent's log by byte offset: complete lines only, any bytes, any line length.

``LogTailer`` reads a growing log file in 64 KiB ``pread`` calls from a byte offset and returns
complete lines. ``LogChunk.offset`` is the byte offset just after the last line returned, so a
control room that saves it and later resumes there neither repeats nor loses a line.

What a line is (documented for users, and for tests):

- Bytes are decoded as UTF-8; invalid bytes become U+FFFD (never an exception). Lines are split on
  ``\\n`` *before* decoding, which is exact because ``\\n`` never occurs inside a UTF-8 sequence.
- A partial last line (no ``\\n`` yet) is kept back until its newline arrives, or until ``flush()``
  once the agent has ended.
- A line longer than ``MAX_LINE_BYTES`` (64 KiB) is delivered in pieces of at most that many bytes,
  cut on a character boundary; every piece but the last ends with ``SPLIT_MARK`` (`` …[split]``).
  The offset then advances piece by piece, so memory stays bounded whatever the line length.
- Carriage-return progress: a trailing ``\\r`` (as in ``\\r\\n``) is dropped, and a line that still
  contains ``\\r`` keeps only the text after the last one (what a terminal would show).
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

from agents.runtypes import LogChunk

READ_BYTES = 64 * 1024
MAX_LINE_BYTES = 64 * 1024
SPLIT_MARK = " …[split]"
DEFAULT_MAX_READ = 64 * 1024  # per event-loop turn: ~3,000 short lines, ~0.3 ms of work
IDLE_S = 0.03
BUSY_IDLE_S = 0.002  # the first idle sleep after new lines (doubles up to ``idle_s``)


def _char_cut(data: bytes, limit: int) -> int:
    """A cut position <= ``limit`` that does not fall inside a UTF-8 sequence (when it can)."""
    cut = limit
    # Step back over continuation bytes (10xxxxxx) to the lead byte: at most 3 for valid UTF-8.
    while cut > limit - 3 and cut > 1 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut


def _last_after_cr(line: str) -> str:
    line = line.rstrip("\r")
    cr = line.rfind("\r")
    return line if cr < 0 else line[cr + 1 :]


def _decode_lines(block: bytes) -> list[str] | None:
    """Decode a block of complete lines (ending in ``\\n``) into lines without their newline;
    ``None`` when a line may be longer than ``MAX_LINE_BYTES`` (the caller splits it in bytes)."""
    text = block.decode("utf-8", "replace")
    lines = text.split("\n")
    lines.pop()  # the empty string after the final newline
    # A character is at most 4 bytes (a replaced byte is 1 character): lines this short in
    # characters are short in bytes too, known without splitting the bytes a second time.
    if len(block) > MAX_LINE_BYTES and max(map(len, lines), default=0) > MAX_LINE_BYTES // 4:
        return None
    if "\r" in text:
        lines = [_last_after_cr(line) for line in lines]
    return lines


def _decode_piece(piece: bytes) -> str:
    return _last_after_cr(piece.decode("utf-8", "replace"))


def _split_long(line: bytes, out: list[str]) -> None:
    """Append a line (without ``\\n``) that may exceed ``MAX_LINE_BYTES`` as marked pieces."""
    while len(line) > MAX_LINE_BYTES:
        cut = _char_cut(line, MAX_LINE_BYTES)
        out.append(_decode_piece(line[:cut]) + SPLIT_MARK)
        line = line[cut:]
    out.append(_decode_piece(line))


class LogTailer:
    """Reads complete lines from a log file, starting at a byte offset."""

    def __init__(self, path: str | Path, offset: int = 0) -> None:
        self.path = Path(path)
        self._offset = offset  # just after the last line (or piece) returned
        self._pending = b""  # bytes read after _offset that do not make a whole line yet
        self._fd: int | None = None
        self.error: str | None = None  # the last read error, None once reads work again
        self.errors = 0  # how many reads have failed so far

    @property
    def offset(self) -> int:
        """The byte offset just after the last complete line returned."""
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

    def _read(self, position: int) -> bytes:
        if self._fd is None:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise OSError(f"{self.path} is not a regular file")
            self._fd = fd
        data = os.pread(self._fd, READ_BYTES, position)
        if not data:
            # Nothing new: check (only when idle) that the file is still the one at the path.
            held = os.fstat(self._fd)
            if held.st_size < position:
                raise OSError(f"{self.path} shrank below offset {position} (truncated)")
            try:
                current = os.stat(self.path)
            except FileNotFoundError:
                return data  # deleted: whatever the writer still appends reaches our descriptor
            if (current.st_ino, current.st_dev) != (held.st_ino, held.st_dev):
                raise OSError(f"{self.path} was replaced by another file")
        return data

    def _fail(self, error: OSError) -> None:
        self.close()  # reopen on the next read: the path may be fixed by then
        self.errors += 1
        detail = error.strerror or str(error)
        self.error = f"cannot read {self.path}: {detail}"

    def _consume(self, data: bytes, out: list[str]) -> None:
        buf = self._pending + data if self._pending else data
        newline = buf.rfind(b"\n")
        if newline >= 0:
            complete = buf[: newline + 1]
            rest = buf[newline + 1 :]
            lines = _decode_lines(complete)
            if lines is None:  # a line may be too long: split and measure the bytes
                raw_lines = complete.split(b"\n")
                raw_lines.pop()
                if max(map(len, raw_lines)) > MAX_LINE_BYTES:
                    for raw in raw_lines:
                        _split_long(raw, out)
                else:
                    out.extend(_decode_piece(raw) for raw in raw_lines)
            else:
                out.extend(lines)
            self._offset += len(complete)
        else:
            rest = buf
        # A line still without its newline may not grow without bound: hand out full pieces.
        while len(rest) > MAX_LINE_BYTES:
            cut = _char_cut(rest, MAX_LINE_BYTES)
            out.append(_decode_piece(rest[:cut]) + SPLIT_MARK)
            self._offset += cut
            rest = rest[cut:]
        self._pending = rest

    def read_available(self, max_bytes: int = DEFAULT_MAX_READ) -> LogChunk:
        """Read what has been written since the last call (at most about ``max_bytes``).

        Never blocks and never raises on I/O errors (see ``error``).
        """
        out: list[str] = []
        position = self._offset + len(self._pending)
        budget = max_bytes
        while budget > 0 or not out:  # a read that ends mid-line reads on to a whole line
            try:
                data = self._read(position)
            except OSError as error:
                self._fail(error)
                break
            self.error = None
            if not data:
                break
            position += len(data)
            budget -= len(data)
            self._consume(data, out)
            if len(data) < READ_BYTES:
                break
        return LogChunk(tuple(out), self._offset)

    def flush(self) -> LogChunk:
        """Read what is left and return the partial last line too (call once the writer is gone)."""
        out = list(self.read_available(max_bytes=1 << 62).lines)
        if self._pending:
            out.append(_decode_piece(self._pending))
            self._offset += len(self._pending)
            self._pending = b""
        return LogChunk(tuple(out), self._offset)


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
