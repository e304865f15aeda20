"""A run on an SSH host that a killed control room launched is found by its launch id (#20).

The control room records a launch id before it starts an agent; on a host, the launch script
writes it next to the pid file before the agent starts. A new control room (a new runner) asked
for that id finds the run, running (its wrapper's pid and start time) or ended (its exit file
there; a handle that matches no process, so nothing is ever signalled through it), and its whole
log. Another launch's id, or none, finds nothing: an earlier run is never taken for this one.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.unit.remote.sshkit import Sshd, closed_port_host
from wavedeck.agents.events import Event
from wavedeck.agents.remote.runner import RemoteRunner
from wavedeck.agents.remote.transport import TransportError
from wavedeck.agents.runtypes import ENDED_START, AgentHandle, ExitStatus, LaunchSpec

pytestmark = [pytest.mark.timeout(90), pytest.mark.sshd]
PY = sys.executable


async def _lines(runner: RemoteRunner, handle: AgentHandle, offset: int = 0) -> list[str]:
    out: list[str] = []
    async for chunk in runner.follow(handle, offset):
        out.extend(chunk.lines)
    return out


async def test_a_run_launched_on_a_host_is_found_running_then_ended_never_another(
    sshd: Sshd, repo: Path, host_clone: Path, fake_agent: Path, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    argv = (PY, str(fake_agent), "--lines", "2", "--gate", str(gate), "--after", "2")
    first = RemoteRunner("loop", sshd.cfg(host_clone), repo=repo, bring_back=False)
    started = await asyncio.wait_for(
        first.launch(LaunchSpec("w1-a1", argv, repo, launch_id="4f2a")), 30
    )
    # The control room that launched it is gone: a new one looks for the launch it recorded.
    again = RemoteRunner("loop", sshd.cfg(host_clone), repo=repo, bring_back=False)
    running = await again.find_unrecorded("w1-a1", "4f2a")
    assert running is not None
    assert (running.pid, running.start_time, running.host) == (
        started.pid,
        started.start_time,
        "loop",
    )
    assert await again.is_alive(running)
    # How long it has run is the host's to tell (its boot clock): not asked (``ran_for``), and
    # said so; a runner with no way to the host answers the same at once.
    assert again.ran_for(running) is None and first.ran_for(started) is None
    events: list[Event] = []
    offline = RemoteRunner("gone", closed_port_host(tmp_path), repo=repo, on_event=events.append)
    assert offline.ran_for(running) is None and events == []  # no connection was tried
    assert await again.find_unrecorded("w1-a1", "9999") is None  # another launch's id
    assert await again.find_unrecorded("w1-a1") is None  # no id: `launch` finds a live copy

    gate.touch()
    assert await asyncio.wait_for(_lines(first, started), 30) == [
        f"line {i:07d}" for i in range(1, 5)
    ]
    ended = await again.find_unrecorded("w1-a1", "4f2a")
    assert ended is not None and ended.start_time == ENDED_START
    assert (ended.log_path, ended.exit_path) == (started.log_path, started.exit_path)
    assert not await again.is_alive(ended)
    assert await again.stop(ended, 0.5) == "not running"  # nothing is signalled
    assert await again.exit_status(ended) == ExitStatus(0)
    assert await asyncio.wait_for(_lines(again, ended), 30) == [
        f"line {i:07d}" for i in range(1, 5)
    ]

    # A later launch of the agent (another id) replaces the record: the old id finds nothing.
    # Its output is appended after the first run's (the log is never emptied).
    begins = await again.log_size("w1-a1")
    later = await again.launch(LaunchSpec("w1-a1", (PY, "-c", "print(1)"), repo, launch_id="77"))
    assert await asyncio.wait_for(_lines(again, later, begins), 30) == ["1"]
    assert await asyncio.wait_for(_lines(again, later), 30) == [
        *(f"line {i:07d}" for i in range(1, 5)),
        "1",
    ]
    assert await again.find_unrecorded("w1-a1", "4f2a") is None
    assert (await again.find_unrecorded("w1-a1", "77")) is not None
    await first.close()
    await again.close()


async def test_an_unreachable_host_cannot_tell_and_says_so(tmp_path: Path) -> None:
    cfg = closed_port_host(tmp_path, connect_timeout_s=2, reconnect_base_s=0.1, reconnect_cap_s=0.2)
    runner = RemoteRunner("gone", cfg)
    with pytest.raises(TransportError):
        await asyncio.wait_for(runner.find_unrecorded("w1-a1", "4f2a"), 30)
    await runner.close()
