"""``read_stream``: a remote command's stdout as raw bytes, at the least CPU per byte we found.

The remote ``follow`` moves every byte of an agent's log through asyncssh, in pure Python, one
SSH packet at a time (OpenSSH sends 32 KiB packets: it offers larger ones, up to the client's
``max_pktsize``, only while its socket is backed up, and those cost asyncssh more per byte, not
less: with 1 MiB the client's CPU per follow rose ~60%, as asyncssh re-joins its input buffer on
every read until a packet is whole). So what costs is per packet and per read, and this module
keeps both to the minimum asyncssh's public API allows:

- a plain ``SSHClientSession`` instead of ``SSHClientProcess`` and its stream readers: a packet
  is appended to a list (no read lock, no partial-packet slicing at a read size), and the reader
  takes every packet that arrived since its last turn in one ``join``;
- a 4 MiB channel window instead of asyncssh's 2 MiB: half the window-adjust packets the client
  encrypts and sends while a backlog streams in;
- bounded memory all the same: past ``PAUSE_BYTES`` not yet taken the channel stops reading,
  so asyncssh holds the rest unacknowledged and the window (4 MiB) bounds it.

The follow's shell writes a keep-alive byte (``KEEPALIVE``) on stderr while it follows, so that
it notices on the host when the channel is gone (``tailscript.tail_script``); the collector drops
them from the stderr it keeps.

Failures read as ``HostTransport.process`` reports them: a channel that ends without an exit
status (the connection dropped) raises ``ConnectionLostError`` after the bytes already received;
a non-zero exit raises ``TransportError`` with the command's stderr.

``Unframer`` undoes ``tail_script``'s framing (``wavedeck.agents.remote.tailscript``): a ``P``
(plain), ``S`` (a zstd backlog) or ``Z`` (a gzip backlog) byte first; a compressed backlog is
followed by the plain live part. It hands out the log's bytes in pieces of at most
``PIECE_BYTES`` (a 128 KiB zstd block inflates to several MiB: decoded whole, lines would cost
~40% more, out of cache, and reach the screen as one lump), and a compressed stream cut short
yields exactly the bytes it carried, so offsets stay counted in log bytes.
"""

from __future__ import annotations

import asyncio
import sys
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Literal, Protocol

import asyncssh

from wavedeck.agents.remote.tailscript import LOG_SHRANK
from wavedeck.agents.remote.transport import ConnectionLostError, HostTransport, TransportError

__all__ = [
    "KEEPALIVE",
    "PAUSE_BYTES",
    "PIECE_BYTES",
    "WINDOW_BYTES",
    "Codec",
    "LogCollector",
    "LogShrank",
    "StreamCorrupt",
    "Unframer",
    "read_stream",
]

WINDOW_BYTES = 4 * 1024 * 1024
PAUSE_BYTES = 1024 * 1024
STDERR_KEEP = 64 * 1024  # of a failing command's stderr, for the message
PIECE_BYTES = 128 * 1024
KEEPALIVE = b"\0"  # on stderr, from tail_script's sentinel every 0.2 s: never an error's text

Codec = Literal["plain", "zstd", "gzip"]
FRAMING: dict[int, Codec] = {ord("P"): "plain", ord("S"): "zstd", ord("Z"): "gzip"}


class StreamCorrupt(TransportError):
    """The log stream's framing or its compressed backlog cannot be read: read again from the
    offset (``retry``), as after a dropped connection."""


class LogShrank(TransportError):
    """The log on the host is shorter than the offset to read from (truncated or replaced
    there): the lines after the offset cannot be placed, so reading again cannot help."""

    retry = False


class _Inflater(Protocol):
    """What ``Unframer`` needs of a decompressor: zstd's as it is, zlib's through ``_Zlib``."""

    @property
    def eof(self) -> bool: ...
    @property
    def needs_input(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _Zlib:
    """zlib's streaming gzip reader with zstd's surface: unconsumed input is kept here."""

    def __init__(self) -> None:
        self._z = zlib.decompressobj(wbits=31)
        self._full = False

    @property
    def eof(self) -> bool:
        return self._z.eof

    @property
    def needs_input(self) -> bool:
        # More output may wait inside zlib when the last call filled max_length.
        return not self._z.unconsumed_tail and not self._full

    @property
    def unused_data(self) -> bytes:
        return self._z.unused_data

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        tail = self._z.unconsumed_tail
        out = self._z.decompress(tail + data if tail else data, max(max_length, 0))
        self._full = 0 < max_length == len(out)
        return out


def _zstd() -> tuple[_Inflater, type[Exception]]:
    """A zstd decompressor and its error. Imported on first use: most follows need neither."""
    # Python 3.14 has zstd in the standard library; before, its backport (the same module).
    if sys.version_info >= (3, 14):
        from compression.zstd import ZstdDecompressor, ZstdError
    else:
        from backports.zstd import ZstdDecompressor, ZstdError
    return ZstdDecompressor(), ZstdError


class Unframer:
    """The log's bytes out of ``tail_script``'s framed output, in bounded pieces."""

    def __init__(self) -> None:
        self.codec: Codec | None = None  # known from the stream's first byte
        self._inflater: _Inflater | None = None
        self._errors: tuple[type[Exception], ...] = (zlib.error, EOFError)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The log bytes ``data`` carries (none while a compressed block is incomplete).
        ``codec`` is known once this returns."""
        if self.codec is None and data:
            codec = FRAMING.get(data[0])
            if codec is None:
                raise StreamCorrupt(f"unexpected log stream framing {data[:1]!r}")
            self.codec, data = codec, data[1:]
            if codec == "zstd":
                self._inflater, error = _zstd()
                self._errors += (error,)
            elif codec == "gzip":
                self._inflater = _Zlib()
        if self._inflater is not None:
            return self._inflate(data)
        return iter((data,) if data else ())

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        inflater = self._inflater
        assert inflater is not None
        try:
            while True:
                piece = inflater.decompress(data, PIECE_BYTES)
                data = b""
                if piece:
                    yield piece
                if inflater.eof:  # the backlog is whole: the rest is the plain live part
                    self._inflater = None
                    if inflater.unused_data:
                        yield inflater.unused_data
                    return
                if inflater.needs_input:
                    return
        except self._errors as exc:
            raise StreamCorrupt(f"the log's {self.codec} backlog cannot be read: {exc}") from None

    def finish(self) -> None:
        """The stream ended cleanly: a compressed backlog still open means it was cut short."""
        if self._inflater is not None:
            raise StreamCorrupt(f"the log's {self.codec} backlog ended before its end")


class LogCollector(asyncssh.SSHClientSession[bytes]):
    """Holds the packets of one channel until the reader takes them."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.stderr = b""
        self.ended = False  # EOF or the channel closed
        self.error: Exception | None = None  # why the connection went away, if it did
        self.paused = False
        self.held = asyncio.Event()  # set each time the reader fell behind and reading paused
        self._chan: asyncssh.SSHClientChannel[bytes] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, chan: asyncssh.SSHClientChannel[bytes]) -> None:
        self._chan = chan

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        if datatype is not None:  # stderr: kept (bounded) for the error message
            data = data.replace(KEEPALIVE, b"")  # hours of them would crowd the error out
            if data and len(self.stderr) < STDERR_KEEP:
                self.stderr += data[: STDERR_KEEP - len(self.stderr)]
            return
        self.parts.append(data)
        self.size += len(data)
        if self.size >= PAUSE_BYTES and not self.paused and self._chan is not None:
            self.paused = True
            self._chan.pause_reading()
            self.held.set()
        if self._waiter is not None:
            self._wake()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self.error = exc
        self._wake()

    async def chunks(self) -> AsyncIterator[bytes]:
        """Everything received since the last turn, as one bytes object per turn."""
        loop = asyncio.get_running_loop()
        while True:
            if self.parts:
                parts, self.parts, self.size = self.parts, [], 0
                if self.paused and self._chan is not None:
                    self.paused = False
                    self._chan.resume_reading()
                yield parts[0] if len(parts) == 1 else b"".join(parts)
            elif self.ended:
                return
            else:
                self._waiter = loop.create_future()
                await self._waiter


async def read_stream(transport: HostTransport, command: str) -> AsyncIterator[bytes]:
    """The stdout of ``command`` on the transport's host (stdin closed at once), as it comes."""
    async with transport.session(command, LogCollector, window=WINDOW_BYTES) as (chan, session):
        chan.write_eof()
        async for data in session.chunks():
            yield data
        await chan.wait_closed()
        status = chan.get_exit_status()  # -1 for a signal, None for neither: the link dropped
        if status is None:
            detail = f": {session.error}" if session.error else ""
            raise ConnectionLostError(f"{transport.name}: connection lost while reading{detail}")
        if status != 0:
            err = session.stderr.decode("utf-8", "replace").strip()
            error = LogShrank if status == LOG_SHRANK else TransportError
            raise error(f"{transport.name}: reading the log failed: {err}")
