"""B10 at the process level: the control room is SIGKILLed, the agent runs on, a fresh runner
and store adopt it by pid + start time and resume its log at the saved offset."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from tests.unit.local.prockit import (
    collect,
    flood_numbers,
    launch,
    pids_with,
    sim_argv,
    wait_until,
)
from wavedeck.agents.local import procinfo
from wavedeck.agents.local.runner import LocalRunner
from wavedeck.agents.runtypes import ExitStatus
from wavedeck.agents.state import AgentRecord, StateStore, adopt

pytestmark = pytest.mark.timeout(90)

CONTROL_ROOM = """
import asyncio, json, sys
from pathlib import Path
from wavedeck.agents.local.runner import LocalRunner
from wavedeck.agents.runtypes import LaunchSpec
from wavedeck.agents.state import AgentRecord, StateStore

async def main() -> None:
    wdir, repo, consumed_path, argv = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    store = StateStore(wdir)
    store.lock()
    state = store.load()
    runner = LocalRunner(wdir)
    handle = await runner.launch(LaunchSpec("w1-a1", tuple(json.loads(argv)), repo))
    state.agents["w1-a1"] = AgentRecord(state="running", handle=handle, launches=1)
    store.save(state)
    with open(consumed_path, "a") as consumed:
        async for chunk in runner.follow(handle, 0):
            # Shown first, then the offset saved: a crash between the two may show lines again
            # in the old window, but the saved offset is always at a line boundary.
            consumed.write("".join(line + "\\n" for line in chunk.lines))
            consumed.flush()
            state.agents["w1-a1"].offset = chunk.offset
            store.save(state)

asyncio.run(main())
"""

TOTAL = 3000


@pytest.mark.slow
async def test_b10_agent_survives_a_killed_control_room_and_is_adopted(
    repo: Path, token: str
) -> None:
    wdir = repo / ".wavedeck"
    consumed = repo.parent / "consumed.txt"
    consumed.touch()
    argv = sim_argv(token, "--flood", str(TOTAL), "--flood-rate", "1500")
    room = subprocess.Popen(
        [sys.executable, "-c", CONTROL_ROOM, str(wdir), str(repo), str(consumed), json.dumps(argv)]
    )
    try:
        wait_until(lambda: consumed.read_text().count("\n") >= 500, 30, "the room to consume")
        room.send_signal(signal.SIGKILL)
        room.wait(10)
    finally:
        room.kill()
        room.wait()

    # The agent runs on, exactly once (wrapper + agent carry the token).
    assert len(pids_with(token)) == 2
    store = StateStore(wdir)
    store.lock()  # the dead room's lock went with it
    record = store.load().agents["w1-a1"]
    handle = record.handle
    assert handle is not None
    runner = LocalRunner(wdir)
    assert await adopt(runner, record) == "running"
    saved = record.offset
    assert saved > 0

    resumed = await asyncio.wait_for(collect(runner, handle, saved), 30)
    after = [line for chunk in resumed for line in chunk.lines]
    log = Path(handle.log_path).read_bytes()
    before = log[:saved].decode().splitlines()
    # The saved offset is a line boundary, and what the room showed starts with exactly that.
    assert log[saved - 1 : saved] == b"\n"
    assert consumed.read_text().splitlines()[: len(before)] == before
    numbers = flood_numbers(before + after, token)
    assert numbers == list(range(1, TOTAL + 1))  # nothing lost, nothing twice
    assert (before + after).count(f"sim-agent {token} started pid={_agent_pid(before)}") == 1
    assert await adopt(runner, record) == ExitStatus(code=0)
    assert pids_with(token) == []
    store.unlock()


def _agent_pid(lines: list[str]) -> str:
    return lines[0].split("pid=", 1)[1]


async def test_adopt_reports_running_exited_and_lost(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--hang"))
    record = AgentRecord(state="running", handle=handle)
    assert await adopt(runner, record) == "running"
    assert await runner.stop(handle, 5.0) == "terminated"
    assert await adopt(runner, record) == ExitStatus(code=None, signal="SIGTERM")
    Path(handle.exit_path).unlink()
    assert await adopt(runner, record) == "lost"
    assert await adopt(runner, AgentRecord()) == "lost"


async def test_a_recorded_pid_now_used_by_another_process_is_not_adopted(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--hang"))
    recycled = replace(handle, start_time=(procinfo.start_time(handle.pid) or 0) - 1)
    record = AgentRecord(state="running", handle=recycled)
    assert await adopt(runner, record) == "lost"
    assert await runner.is_alive(handle)  # the real one is untouched
    assert await runner.stop(handle, 5.0) == "terminated"
