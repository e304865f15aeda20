"""A launch is recorded before its process starts, and found again after a crash (issue #20).

The control room saves a launch id before starting an agent; the wrapper names it in the exit
file. A control room killed before recording the handle then finds the run: running (its
wrapper, as before), or ended (the exit file naming that launch), never an earlier run's exit
file. A handle to an ended run matches no process, so nothing is ever signalled through it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.unit.local.prockit import collect, sim_argv
from wavedeck.agents.local.runner import LocalRunner
from wavedeck.agents.runtypes import ENDED_START, ExitStatus, LaunchSpec

pytestmark = pytest.mark.timeout(60)


async def test_an_ended_run_is_found_by_its_launch_id_and_never_signalled(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    spec = LaunchSpec("w1-a1", sim_argv(token), repo, launch_id="4f2a")
    handle = await runner.launch(spec)
    chunks = await asyncio.wait_for(collect(runner, handle), 20)  # until its exit file
    lines = [line for chunk in chunks for line in chunk.lines]
    exit_file = Path(handle.exit_path)
    assert json.loads(exit_file.read_text("utf-8"))["launch"] == "4f2a"

    found = await runner.find_unrecorded("w1-a1", "4f2a")
    assert found is not None and found.start_time == ENDED_START
    assert (found.log_path, found.exit_path) == (handle.log_path, handle.exit_path)
    assert not await runner.is_alive(found)
    assert runner.ran_for(found) is None  # its start time was never read: cannot tell
    assert runner.ran_for(handle) is not None  # the run it launched: from its start
    assert await runner.stop(found, 0.5) == "not running"  # nothing is signalled
    assert await runner.exit_status(found) == ExitStatus(code=0)
    assert [line for c in await collect(runner, found) for line in c.lines] == lines
    # Another launch's id, or none: an earlier run's exit file is not this launch.
    assert await runner.find_unrecorded("w1-a1", "9999") is None
    assert await runner.find_unrecorded("w1-a1") is None
