"""Faults for remote tests: asyncssh's in-process server and a TCP proxy that misbehaves.

- ``aserver``: starts ``asyncssh.listen(port=0, ...)`` with a process handler given by the test.
- ``proxy``: an asyncio TCP proxy that can pass, black-hole, reset (SO_LINGER 0) or delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from wavedeck.agents.config import HostConfig

# -- asyncssh in-process server ----------------------------------------------------------------

Handler = Callable[[asyncssh.SSHServerProcess[Any]], Awaitable[None]]


@dataclass
class AServer:
    port: int
    known_hosts: bytes
    client_key: asyncssh.SSHKey
    commands: list[str]
    tmp: Path

    def cfg(self, **extra: Any) -> HostConfig:
        kh = self.tmp / "aserver_known_hosts"
        kh.write_bytes(self.known_hosts)
        key = self.tmp / "aserver_client_key"
        if not key.exists():
            self.client_key.write_private_key(str(key))
        values: dict[str, Any] = {
            "address": "127.0.0.1",
            "port": self.port,
            "user": "tester",
            "workdir": "/tmp",
            "known_hosts": str(kh),
            "client_keys": [str(key)],
            "ssh_config": "",
            "keepalive_interval_s": 1,
            "keepalive_count_max": 2,
            "reconnect_base_s": 0.2,
            "reconnect_cap_s": 1.0,
        }
        values.update(extra)
        return HostConfig(**values)


class _Server(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True


@pytest.fixture
async def aserver(tmp_path: Path) -> AsyncIterator[Callable[[Handler], Awaitable[AServer]]]:
    servers: list[asyncssh.SSHAcceptor] = []
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")

    async def start(handler: Handler, **listen: Any) -> AServer:
        """``listen``: more ``asyncssh.listen`` options (the algorithms it offers, say)."""
        commands: list[str] = []

        async def factory(process: asyncssh.SSHServerProcess[Any]) -> None:
            commands.append(process.command or "")
            await handler(process)

        acceptor = await asyncssh.listen(
            "127.0.0.1",
            0,
            server_host_keys=[host_key],
            authorized_client_keys=asyncssh.import_authorized_keys(
                client_key.export_public_key().decode()
            ),
            process_factory=factory,
            encoding=None,
            server_factory=_Server,
            **listen,
        )
        servers.append(acceptor)
        port = acceptor.sockets[0].getsockname()[1]
        line = f"[127.0.0.1]:{port} ".encode() + host_key.export_public_key()
        return AServer(port, line, client_key, commands, tmp_path)

    yield start
    for acceptor in servers:
        acceptor.close()
        await acceptor.wait_closed()


# -- fault proxy -------------------------------------------------------------------------------


class Proxy:
    """TCP proxy on 127.0.0.1 with modes: pass, blackhole, delay(seconds); and reset()."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.mode = "pass"
        self.delay_s = 0.0
        self.pass_bytes: int | None = None  # pass this many server bytes, then black-hole
        self.port = 0
        self._server: asyncio.Server | None = None
        self._conns: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepted = 0

    async def start(self) -> Proxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, from_server: bool
    ) -> None:
        sent = 0
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                while self.mode == "blackhole":
                    await asyncio.sleep(0.05)
                if self.pass_bytes is not None and from_server:
                    allowed = max(0, self.pass_bytes - sent)
                    if allowed < len(data):
                        writer.write(data[:allowed])
                        sent += allowed
                        self.mode = "blackhole"
                        while True:
                            await asyncio.sleep(3600)
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                writer.write(data)
                sent += len(data)
                await writer.drain()
        with contextlib.suppress(Exception):
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.mode == "blackhole":
            self._conns.append((writer, writer))
            await asyncio.sleep(3600)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            _rst(writer)
            return
        self._conns.append((writer, up_writer))
        for coro in (self._pipe(reader, up_writer, False), self._pipe(up_reader, writer, True)):
            task = asyncio.get_running_loop().create_task(coro)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def reset(self) -> None:
        """Abort every proxied connection with a TCP RST on both sides."""
        conns, self._conns = self._conns, []
        for a, b in conns:
            _rst(a)
            _rst(b)

    async def close(self) -> None:
        self.reset()
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)


def _rst(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@pytest.fixture
async def proxy() -> AsyncIterator[Callable[[int], Awaitable[Proxy]]]:
    made: list[Proxy] = []

    async def start(target_port: int) -> Proxy:
        made.append(await Proxy(target_port).start())
        return made[-1]

    yield start
    for p in made:
        await p.close()
