"""Transport faults and odd servers: partition (A7), sshd gone (A9, A10), shells (A16), output (A17)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from tests.unit.remote.faultkit import AServer, Proxy
from tests.unit.remote.sshkit import Sshd, numbered
from wavedeck.agents.lines import SPLIT_MARK
from wavedeck.agents.remote.runner import RemoteRunner
from wavedeck.agents.remote.transport import ConnectionLostError, HostTransport, HostUnreachable
from wavedeck.agents.runtypes import AgentHandle, LaunchSpec

pytestmark = pytest.mark.timeout(60)
PY = sys.executable


async def _first_line(proc: asyncssh.SSHClientProcess[bytes]) -> bytes:
    return await asyncio.wait_for(proc.stdout.readline(), 20)


async def test_a7_partition_is_noticed_by_keepalive_within_bounds(
    sshd: Sshd, proxy: Callable[[int], Awaitable[Proxy]]
) -> None:
    p = await proxy(sshd.port)
    t = HostTransport("loop", sshd.cfg("/tmp", port=p.port))  # keepalive 1 s x 2
    async with t.process("sh -c 'echo up; exec sleep 60'") as proc:
        assert await _first_line(proc) == b"up\n"
        p.mode = "blackhole"
        started = time.monotonic()
        with pytest.raises((ConnectionLostError, asyncssh.Error, OSError)):
            await asyncio.wait_for(proc.stdout.read(), 15)
        took = time.monotonic() - started
    assert 1.0 <= took <= 6.0, took  # ~ interval x (count + 1) = 3 s, generous on a busy box
    await t.close()


def _children(pid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_bytes()
            except OSError:
                continue
            if int(stat[stat.rfind(b")") + 2 :].split()[1]) == pid:
                found.append(int(name))
    return found


async def test_a9_listener_gone_sessions_live_on_new_connects_back_off(
    make_sshd: Callable[[], Sshd],
) -> None:
    server = make_sshd()
    t = HostTransport("loop", server.cfg("/tmp"))
    async with t.process("sh -c 'while :; do echo tick; sleep 0.1; done'") as proc:
        assert await _first_line(proc) == b"tick\n"
        server.stop()  # the listening sshd exits; per-connection processes stay
        for _ in range(3):
            assert await _first_line(proc) == b"tick\n"
    slept: list[float] = []

    async def fake_sleep(s: float) -> None:
        slept.append(s)

    again = HostTransport("loop", server.cfg("/tmp", reconnect_attempts=3), sleep=fake_sleep)
    with pytest.raises(HostUnreachable, match="refused"):
        await again.connect()
    assert slept == [0.2, 0.4]
    await t.close()


async def test_a10_killed_session_process_is_a_drop_and_follow_resumes(
    sshd: Sshd, repo: Path, host_clone: Path, fake_agent: Path, tmp_path: Path
) -> None:
    assert sshd.proc is not None
    gate = tmp_path / "gate"
    argv = (PY, str(fake_agent), "--lines", "50", "--gate", str(gate), "--after", "50")
    states: list[str] = []
    r = RemoteRunner(
        "loop",
        sshd.cfg(host_clone),
        repo=repo,
        bring_back=False,
        on_event=lambda e: states.append(e.state),
    )
    h = await r.launch(LaunchSpec("w1-a1", argv, repo))
    seen: list[str] = []
    async for chunk in r.follow(h, 0):
        seen.extend(chunk.lines)
        if not gate.exists():
            for pid in _children(sshd.proc.pid):  # every per-connection sshd of this test
                os.kill(pid, signal.SIGKILL)
            gate.touch()
    assert numbered(seen) == list(range(1, 101))
    assert "reconnecting" in states and states[-1] == "connected"
    await r.close()


async def test_a16_every_command_is_wrapped_in_sh_c(
    aserver: Callable[..., Awaitable[AServer]],
) -> None:
    async def handler(process: asyncssh.SSHServerProcess[Any]) -> None:
        process.stdout.write(b"dead\nrc 3\n")
        process.exit(0)

    srv = await aserver(handler)
    r = RemoteRunner("odd", srv.cfg(workdir="/srv/repo"), bring_back=False)
    h = AgentHandle("w1-a1", 4242, 99, 4242, "l", "e", "odd")
    assert not await r.is_alive(h)
    assert (await r.exit_status(h)) is not None
    await r.stop(h, 0.1)
    assert srv.commands and all(c.startswith("sh -c '") for c in srv.commands)
    await r.close()


async def test_a17_huge_line_invalid_utf8_and_no_final_newline(
    aserver: Callable[..., Awaitable[AServer]],
) -> None:
    payload = b"x" * 1_000_000 + b"\n" + b"bad \xff\xfe bytes\n" + b"tail without newline"

    async def handler(process: asyncssh.SSHServerProcess[Any]) -> None:
        process.stdout.write(b"P")  # the plain framing byte of tail_script
        for i in range(0, len(payload), 50_000):
            process.stdout.write(payload[i : i + 50_000])
        process.exit(0)

    srv = await aserver(handler)
    r = RemoteRunner("odd", srv.cfg(), bring_back=False)
    h = AgentHandle("w1-a1", 4242, 99, 4242, "l", "e", "odd")
    lines: list[str] = []
    offset = 0
    async for chunk in r.follow(h, 0):
        lines.extend(chunk.lines)
        offset = chunk.offset
    pieces = [line for line in lines if line.startswith("x")]
    assert all(p.endswith(SPLIT_MARK) for p in pieces[:-1]) and not pieces[-1].endswith(SPLIT_MARK)
    assert sum(len(p.removesuffix(SPLIT_MARK)) for p in pieces) == 1_000_000
    assert lines[-2:] == ["bad \ufffd\ufffd bytes", "tail without newline"]
    assert offset == len(payload)
    await r.close()


async def test_a13_without_pooling_the_eleventh_channel_is_refused(sshd: Sshd) -> None:
    """What pooling is for: sshd's default MaxSessions (10) refuses an 11th channel."""
    import contextlib

    t = HostTransport("loop", sshd.cfg("/tmp", max_sessions_per_connection=12))
    before = sshd.connections()
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(10):
            await stack.enter_async_context(t.process("sh -c 'exec sleep 10'"))
        assert sshd.connections() - before == 1
        with pytest.raises(ConnectionLostError):
            await stack.enter_async_context(t.process("sh -c 'exec sleep 10'"))
    pooled = HostTransport("loop", sshd.cfg("/tmp"))  # default: 8 per connection
    before = sshd.connections()
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(12):
            await stack.enter_async_context(pooled.process("sh -c 'exec sleep 10'"))
        assert sshd.connections() - before == 2
    await t.close()
    await pooled.close()
