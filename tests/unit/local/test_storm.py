"""B15: an agent that leaves a fork storm behind is still stopped whole by the normal stop path.

The simulated agent forks N sleepers (``--fork-storm N``) in its process group. Whether a sleeper
is gone is read from ``/proc/PID/stat`` (state and start time), never from its command line alone:
a dying task drops its cmdline a moment before the kernel marks it a zombie.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.unit.local.prockit import (
    collect,
    launch,
    log_text,
    pids_with,
    sim_argv,
    wait_for_log,
)
from wavedeck.agents.local import procinfo
from wavedeck.agents.local.runner import LocalRunner
from wavedeck.agents.runtypes import AgentHandle, ExitStatus

pytestmark = pytest.mark.timeout(60)

STORM = 200


def agent_pid(handle: AgentHandle) -> int:
    return int(log_text(handle).split("started pid=", 1)[1].split()[0])


def children(parent: int) -> dict[int, int]:
    """``{pid: start time}`` of the live (non-zombie) children of ``parent``, from ``/proc``."""
    found: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            raw = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:
            continue
        fields = raw[raw.rfind(b")") + 1 :].split()
        # fields[0] is the state, fields[1] the parent pid, fields[19] the start time.
        if len(fields) > 19 and fields[0] not in (b"Z", b"X") and int(fields[1]) == parent:
            found[int(name)] = int(fields[19])
    return found


def survivors(storm: dict[int, int]) -> list[int]:
    """The storm's pids that still run: same pid *and* start time, and not a zombie."""
    return [pid for pid, start in storm.items() if procinfo.is_same_process(pid, start)]


async def started_storm(
    runner: LocalRunner, repo: Path, token: str, *flags: str
) -> tuple[AgentHandle, dict[int, int]]:
    argv = sim_argv(token, "--fork-storm", str(STORM), *flags, "--hang")
    handle = await launch(runner, repo, "w1-a1", argv)
    await wait_for_log(handle, "hanging")
    assert f"fork storm: {STORM} sleepers" in log_text(handle)
    storm = children(agent_pid(handle))
    assert len(storm) == STORM
    for pid in storm:  # in the agent's group, carrying its token, like any agent descendant
        assert procinfo.pgid_of(pid) == handle.pgid
        assert token.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    return handle, storm


async def test_b15_fork_storm_is_gone_when_stop_returns(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    handle, storm = await started_storm(runner, repo, token)
    # A long grace: stop() returns as soon as the group is gone, and a loaded machine may need
    # seconds to take 200 processes down after the TERM.
    result = await asyncio.wait_for(runner.stop(handle, 20.0), 40)
    assert result == "terminated"
    # stop() returns only once nothing of the group runs: no waiting here.
    assert survivors(storm) == []
    assert procinfo.group_members(handle.pgid) == []
    assert pids_with(token) == []
    assert await runner.exit_status(handle) == ExitStatus(code=None, signal="SIGTERM")


@pytest.mark.slow
async def test_b15_fork_storm_ignoring_term_is_killed_after_grace(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    """The sleepers inherit the agent's ignored SIGTERM: only the KILL after grace ends them."""
    handle, storm = await started_storm(runner, repo, token, "--ignore-term")
    began = time.monotonic()
    result = await asyncio.wait_for(runner.stop(handle, 0.5), 30)
    assert result == "killed after grace"
    assert time.monotonic() - began >= 0.5
    assert survivors(storm) == []
    assert procinfo.group_members(handle.pgid) == []
    assert await runner.exit_status(handle) == ExitStatus(code=None, signal="SIGKILL")
    await asyncio.wait_for(collect(runner, handle), 10)  # follow() ends too


@pytest.mark.slow
@pytest.mark.parametrize("flags", [(), ("--ignore-term",)], ids=["term", "ignore-term"])
async def test_b15_stop_while_the_storm_is_still_forking(
    runner: LocalRunner, repo: Path, token: str, flags: tuple[str, ...]
) -> None:
    """Stopped as soon as the storm begins, forks may still be under way: none may survive."""
    argv = sim_argv(token, "--fork-storm", str(STORM), *flags, "--hang")
    handle = await launch(runner, repo, "w1-a1", argv)
    await wait_for_log(handle, "fork storm: forking")
    result = await asyncio.wait_for(runner.stop(handle, 0.2), 30)
    assert result in ("terminated", "killed after grace")
    assert procinfo.group_members(handle.pgid) == []
    assert pids_with(token) == []


@pytest.mark.slow
async def test_b15_storm_left_by_an_agent_that_finished(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    """No stop at all: the agent exits and the wrapper clears the 200 sleepers it left (B8)."""
    argv = sim_argv(token, "--fork-storm", str(STORM))
    handle = await launch(runner, repo, "w1-a1", argv)
    await asyncio.wait_for(collect(runner, handle), 30)
    assert await runner.exit_status(handle) == ExitStatus(code=0)
    assert f"fork storm: {STORM} sleepers" in log_text(handle)
    # The wrapper (group leader) has exited, so its cleanup is over: nothing of the group runs.
    assert procinfo.group_members(handle.pgid) == []
    assert pids_with(token) == []


def test_fork_storm_needs_a_count_of_zero_or_more() -> None:
    result = subprocess.run(
        list(sim_argv("neg", "--fork-storm", "-1")), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2 and "--fork-storm needs a count" in result.stderr
