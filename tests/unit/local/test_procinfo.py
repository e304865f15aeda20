"""procinfo: start times, zombies, odd command names, groups, signal names; the wrapper's death."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.local.prockit import (
    collect,
    launch,
    log_text,
    pids_with,
    sim_argv,
    wait_for_log,
    wait_until,
)
from wavedeck.agents.local import procinfo
from wavedeck.agents.local.runner import LocalRunner
from wavedeck.agents.state import AgentRecord, adopt

pytestmark = pytest.mark.timeout(60)


def test_own_start_time_and_identity() -> None:
    start = procinfo.start_time(os.getpid())
    assert isinstance(start, int) and start > 0
    assert procinfo.is_same_process(os.getpid(), start)
    assert not procinfo.is_same_process(os.getpid(), start + 1)
    assert procinfo.pgid_of(os.getpid()) == os.getpgrp()
    assert procinfo.state(os.getpid()) in ("R", "S")


def test_missing_pids() -> None:
    for pid in (0, -1, 2**22 + 12345):
        assert procinfo.start_time(pid) is None
        assert not procinfo.is_same_process(pid, 1)
        assert procinfo.state(pid) is None


def test_a_zombie_is_dead() -> None:
    child = subprocess.Popen(["true"])
    start = procinfo.start_time(child.pid)
    assert start is not None
    wait_until(lambda: procinfo.state(child.pid) == "Z", 10, "the child to become a zombie")
    assert procinfo.start_time(child.pid) == start  # still listed…
    assert not procinfo.is_same_process(child.pid, start)  # …but dead
    assert child.pid not in procinfo.group_members(os.getpgrp())
    child.wait()


def test_command_name_with_parentheses_and_spaces(token: str) -> None:
    code = (
        "import sys, time; open('/proc/self/comm', 'w').write('a) b (c) 7'); "
        "print('ok', flush=True); time.sleep(30)"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, token],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "ok\n"
        start = procinfo.start_time(child.pid)
        assert start is not None and procinfo.is_same_process(child.pid, start)
        assert procinfo.pgid_of(child.pid) == child.pid
        assert procinfo.group_members(child.pid) == [child.pid]
    finally:
        child.kill()
        child.wait()


@pytest.mark.slow
async def test_agent_dies_with_its_wrapper(runner: LocalRunner, repo: Path, token: str) -> None:
    """SIGKILL to the wrapper alone: the agent dies too (PDEATHSIG), nothing runs unrecorded,
    adoption says lost and follow() still ends."""
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--hang"))
    await wait_for_log(handle, "hanging")
    agent_pid = int(log_text(handle).split("pid=", 1)[1].split()[0])
    os.kill(handle.pid, signal.SIGKILL)
    wait_until(lambda: pids_with(token) == [], 10, "the agent to die with its wrapper")
    # A dying task drops its command line (its memory is freed) a moment before the kernel marks
    # it a zombie, so the token vanishing is not yet the end: wait for the state itself.
    wait_until(
        lambda: procinfo.state(agent_pid) in (None, "Z"), 10, "the agent to reach zombie or gone"
    )
    record = AgentRecord(state="running", handle=handle)
    assert await adopt(runner, record) == "lost"
    await asyncio.wait_for(collect(runner, handle), 10)
