"""A remote follow that stops while its agent runs leaves nothing running on the host (A26).

``RemoteRunner.follow`` runs ``tailscript.tail_script`` on the host: a shell, its sentinel
subshell (polling whether the agent lives) and ``tail -f``. OpenSSH signals none of them when a
non-pty channel closes (the follow cancelled) or its connection drops (sshd's session process
exits): measured, they stayed until the agent ended, one more set per cancelled follow or
reconnect. The host is this machine, so its processes are looked for in ``/proc``, by the
agent's log path: each test's agent id is new, so what an earlier run left cannot count.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from tests.eventkit import until
from tests.unit.remote.faultkit import Proxy
from tests.unit.remote.sshkit import Sshd, numbered
from wavedeck.agents.remote.runner import RemoteRunner
from wavedeck.agents.runtypes import AgentHandle, LaunchSpec, LogChunk

pytestmark = [pytest.mark.sshd, pytest.mark.timeout(90)]
PY = sys.executable
# How long the host may keep a stopped follow's processes: ~0.4 s measured (a keep-alive every
# 0.2 s, then tail's own 0.2 s poll); generous for a shared 2-core machine. Unfixed: until the
# agent ends (the gate, here never before the bound).
GONE_WITHIN_S = 3.0


def follow_processes(h: AgentHandle) -> dict[int, str]:
    """pid -> command line of every process naming the agent's log, outside the agent's own
    process group: the tail script's shell, its sentinel (a fork of it) and ``tail``."""
    log = f"/logs/{h.agent_id}.log".encode()
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ")
            stat = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:
            continue
        pgid = int(stat[stat.rfind(b")") + 2 :].split()[2])
        if log in cmdline and pgid != h.pgid:
            found[int(name)] = cmdline.decode(errors="replace")
    return found


def a_whole_follow(procs: dict[int, str]) -> bool:
    """The tail script's shell and sentinel (the same command line) and its ``tail``."""
    return sum(c.startswith("tail ") for c in procs.values()) == 1 and len(procs) >= 3


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[Path]:
    """The file the agent waits for; opened at the end, so a failed test's agent ends (and
    what followed it on the host with it)."""
    path = tmp_path / "gate"
    yield path
    path.touch()


async def start(
    r: RemoteRunner, repo: Path, fake_agent: Path, gate: Path
) -> tuple[AgentHandle, asyncio.Task[None], list[LogChunk]]:
    """A silent long-running agent (3 lines, then the gate, then 3 more), followed in a task."""
    argv = (PY, str(fake_agent), "--lines", "3", "--gate", str(gate), "--after", "3")
    h = await r.launch(LaunchSpec(f"a26-{uuid.uuid4().hex[:12]}", argv, repo))
    chunks: list[LogChunk] = []
    first = asyncio.Event()

    async def follow() -> None:
        async for chunk in r.follow(h, 0):
            chunks.append(chunk)
            first.set()

    task = asyncio.create_task(follow())
    await asyncio.wait_for(first.wait(), 30)
    return h, task, chunks


async def test_a26_a_cancelled_follow_leaves_nothing_on_the_host(
    sshd: Sshd, repo: Path, host_clone: Path, fake_agent: Path, gate: Path
) -> None:
    r = RemoteRunner("loop", sshd.cfg(host_clone), repo=repo, bring_back=False)
    h, task, chunks = await start(r, repo, fake_agent, gate)
    await until(lambda: a_whole_follow(follow_processes(h)), 10, "the tail")
    task.cancel()  # the pane closed, the control room quit, a detach: the agent runs on
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await until(lambda: not follow_processes(h), GONE_WITHIN_S, "the follow to end there")
    assert await r.is_alive(h)  # only the follow ended, not the agent
    gate.touch()
    rest = [chunk async for chunk in r.follow(h, chunks[-1].offset)]  # re-attached: the rest
    seen = [line for chunk in [*chunks, *rest] for line in chunk.lines]
    assert numbered(seen) == list(range(1, 7))
    await until(lambda: not follow_processes(h), 10, "the ended follow")
    await r.close()


@pytest.mark.parametrize("drop", ["reset", "abort"])
async def test_a26_a_dropped_follow_leaves_nothing_on_the_host(
    sshd: Sshd,
    repo: Path,
    host_clone: Path,
    fake_agent: Path,
    gate: Path,
    proxy: Callable[[int], Awaitable[Proxy]],
    drop: str,
) -> None:
    """``reset``: the link dropped (RST both ways, nothing sent first); ``abort``: the control
    room's end of the connection gone at once (as when it is killed). The follow reconnects
    and the dropped attempt's processes end on the host; the new attempt's stay."""
    p = await proxy(sshd.port)
    r = RemoteRunner("loop", sshd.cfg(host_clone, port=p.port), repo=repo, bring_back=False)
    h, task, chunks = await start(r, repo, fake_agent, gate)
    await until(lambda: a_whole_follow(follow_processes(h)), 10, "the tail")
    dropped = set(follow_processes(h))
    attempts = r.transport.attempts
    if drop == "reset":
        p.reset()
    else:
        r.transport.abort()
    await until(
        lambda: not dropped & set(follow_processes(h)),
        GONE_WITHIN_S,
        "the dropped attempt's processes to end",
    )
    await until(lambda: r.transport.attempts > attempts, 10, "the follow to reconnect")
    await until(lambda: a_whole_follow(follow_processes(h)), 10, "a new tail")
    gate.touch()
    await asyncio.wait_for(task, 30)
    seen = [line for chunk in chunks for line in chunk.lines]
    assert numbered(seen) == list(range(1, 7))  # nothing lost, nothing repeated
    await until(lambda: not follow_processes(h), 10, "the ended follow")
    await r.close()
