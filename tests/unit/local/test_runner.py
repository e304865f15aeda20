"""LocalRunner with real detached processes: exit codes, signals, groups, grace, stdin, B8, B11."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.unit.local.prockit import (
    await_until,
    collect,
    launch,
    log_text,
    pids_with,
    sim_argv,
    wait_for_log,
    wait_until,
)
from wavedeck.agents.local import procinfo, wrapper
from wavedeck.agents.local.runner import LocalRunner, read_exit_file
from wavedeck.agents.runtypes import AgentHandle, ExitStatus, LaunchSpec

pytestmark = pytest.mark.timeout(60)


async def test_clean_exit_is_recorded_and_follow_ends(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    handle = await launch(runner, repo, "w1-a1", sim_argv(token))
    assert handle.pgid == handle.pid
    assert handle.start_time == procinfo.start_time(handle.pid) or not await runner.is_alive(handle)
    chunks = await asyncio.wait_for(collect(runner, handle), 20)
    lines = [line for chunk in chunks for line in chunk.lines]
    assert lines[0].startswith(f"sim-agent {token} started pid=")
    assert lines[-1] == f"sim-agent {token} finished: 0 issues"
    assert chunks[-1].offset == Path(handle.log_path).stat().st_size
    assert await runner.exit_status(handle) == ExitStatus(code=0)
    assert not await runner.is_alive(handle)
    assert await runner.stop(handle, 1.0) == "not running"


async def test_b1_nonzero_exit_recorded_without_restart(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--fail", "3"))
    await asyncio.wait_for(collect(runner, handle), 20)
    status = await runner.exit_status(handle)
    assert status == ExitStatus(code=3) and not status.ok
    text = log_text(handle)
    assert "failing with exit code 3" in text
    # The runner never restarts by itself: one start in the log, no process left.
    assert text.count("started pid=") == 1
    assert pids_with(token) == []


async def test_b2_signal_recorded_by_name(runner: LocalRunner, repo: Path, token: str) -> None:
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--exit-signal", "SEGV"))
    await asyncio.wait_for(collect(runner, handle), 20)
    assert await runner.exit_status(handle) == ExitStatus(code=None, signal="SIGSEGV")


async def test_b2_external_kill_of_the_agent_is_recorded(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--hang"))
    await wait_for_log(handle, "hanging")
    agent_pid = int(log_text(handle).split("pid=", 1)[1].split()[0])
    os.kill(agent_pid, signal.SIGKILL)
    await asyncio.wait_for(collect(runner, handle), 20)
    assert await runner.exit_status(handle) == ExitStatus(code=None, signal="SIGKILL")


async def test_b3_stop_kills_grandchildren_with_the_group(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--spawn-bg", "--hang"))
    await wait_for_log(handle, "hanging")
    members = procinfo.group_members(handle.pgid)
    assert len(members) >= 4  # wrapper, agent, two background sleepers
    assert len(pids_with(f"sim-bg-{token}")) == 2
    assert await runner.stop(handle, 5.0) == "terminated"
    assert procinfo.group_members(handle.pgid) == []
    assert pids_with(token) == []
    assert await runner.exit_status(handle) == ExitStatus(code=None, signal="SIGTERM")


async def test_b4_grandchild_that_left_the_group_is_cleaned_up(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    """A grandchild in its own session escapes the group signal; once the agent is gone it is
    adopted by the wrapper (child subreaper) and terminated with the other leftovers."""
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--spawn-setsid", "--hang"))
    await wait_for_log(handle, "hanging")
    assert len(pids_with(f"sim-setsid-{token}")) == 1
    assert await runner.stop(handle, 5.0) == "terminated"
    assert pids_with(token) == []


@pytest.mark.slow
async def test_b5_ignoring_term_is_killed_after_grace(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--ignore-term", "--hang"))
    await wait_for_log(handle, "hanging")
    began = time.monotonic()
    result = await runner.stop(handle, 1.0)
    elapsed = time.monotonic() - began
    assert result == "killed after grace"
    assert 1.0 <= elapsed < 1.5
    assert not await runner.is_alive(handle)
    assert pids_with(token) == []
    assert await runner.exit_status(handle) == ExitStatus(code=None, signal="SIGKILL")
    # follow() still ends: the process is gone and the exit file exists.
    await asyncio.wait_for(collect(runner, handle), 10)


async def test_b8_exit_while_grandchild_holds_the_log(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    began = time.monotonic()
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--spawn-bg"))
    chunks = await asyncio.wait_for(collect(runner, handle), 20)
    assert time.monotonic() - began < 5.0
    assert await runner.exit_status(handle) == ExitStatus(code=0)
    assert any("finished" in line for chunk in chunks for line in chunk.lines)
    # The wrapper cleaned up what the agent left behind.
    wait_until(lambda: pids_with(f"sim-bg-{token}") == [], 5, "background sleepers to go")


async def test_b8_shell_background_job(runner: LocalRunner, repo: Path, token: str) -> None:
    argv = ("sh", "-c", f"sleep 30 & echo done {token}", "sh")
    began = time.monotonic()
    handle = await launch(runner, repo, "w1-a1", argv)
    chunks = await asyncio.wait_for(collect(runner, handle), 20)
    assert time.monotonic() - began < 5.0
    assert [line for chunk in chunks for line in chunk.lines] == [f"done {token}"]
    assert procinfo.group_members(handle.pgid) == []


_SIGNAL_PRINTER = """
import signal, sys, time
def say(n, _frame):
    print(signal.Signals(n).name, flush=True)
for n in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGRTMIN):
    signal.signal(n, say)
print("ready", flush=True)
while True:
    time.sleep(60)
"""


@pytest.mark.slow
async def test_b11_recycled_pid_is_dead_and_never_signalled(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    # Its own group, so a wrongly sent killpg(pgid) would reach it. It prints each signal it
    # gets; SIGKILL it cannot catch, but then it is gone.
    sleeper = subprocess.Popen(
        [sys.executable, "-c", _SIGNAL_PRINTER, token],
        start_new_session=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sleeper.stdout is not None
    try:
        assert sleeper.stdout.readline() == "ready\n"
        start = procinfo.start_time(sleeper.pid)
        assert start is not None
        stale = AgentHandle(
            agent_id="w1-a1",
            pid=sleeper.pid,
            start_time=start + 1,  # another process that once had this pid
            pgid=sleeper.pid,
            log_path=str(repo / "missing.log"),
            exit_path=str(repo / "missing.exit"),
        )
        assert not await runner.is_alive(stale)
        assert await runner.stop(stale, 0.2) == "not running"
        # A mark of our own, sent after stop() returned: a standard signal stop() had sent
        # would be handled before it (pending standard signals go before real-time ones).
        os.kill(sleeper.pid, signal.SIGRTMIN)
        got = await asyncio.wait_for(asyncio.to_thread(sleeper.stdout.readline), 10)
        assert got == "SIGRTMIN\n", f"an unrelated process was signalled: {got!r}"
        assert sleeper.poll() is None
        # follow() of a lost agent ends instead of waiting forever for its exit file.
        assert await asyncio.wait_for(collect(runner, stale), 10) == []
    finally:
        sleeper.kill()
        sleeper.wait()


async def test_a21_stdin_is_dev_null_by_default(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--read-stdin"))
    chunks = await asyncio.wait_for(collect(runner, handle), 20)
    assert await runner.exit_status(handle) == ExitStatus(code=0)
    assert "no issues in my prompt" in "\n".join(line for c in chunks for line in c.lines)


async def test_prompt_on_stdin_file(runner: LocalRunner, repo: Path, token: str) -> None:
    prompt = repo / "prompt.md"
    prompt.write_text(
        f"wavedeck-agent: w1-a1\nwavedeck-repo: {repo}\nwavedeck-file: a.py\n"
        "wavedeck-issue: x-01 HIGH fix it\n"
    )
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--read-stdin"), prompt)
    await asyncio.wait_for(collect(runner, handle), 20)
    assert "wavedeck: done x-01 fixed" in log_text(handle)
    assert (repo / "a.py").read_text() == "# wavedeck-sim: x-01 fixed\n"


async def test_argv_is_never_given_to_a_shell(runner: LocalRunner, repo: Path, token: str) -> None:
    canary = repo / "canary"
    argv = sim_argv(token, "--touch-unowned", f"x; touch {canary}; $(touch {canary})")
    handle = await launch(runner, repo, "w1-a1", argv)
    await asyncio.wait_for(collect(runner, handle), 20)
    assert not canary.exists()


async def test_missing_program_is_127_with_a_message(runner: LocalRunner, repo: Path) -> None:
    handle = await launch(runner, repo, "w1-a1", ("/nonexistent/agent-program", "x"))
    await asyncio.wait_for(collect(runner, handle), 20)
    assert await runner.exit_status(handle) == ExitStatus(code=127)
    assert "cannot start agent '/nonexistent/agent-program'" in log_text(handle)


async def test_relaunch_appends_to_the_log_and_clears_the_old_status(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    first = await launch(runner, repo, "w1-a1", sim_argv(token, "--fail", "2"))
    await asyncio.wait_for(collect(runner, first), 20)
    size = Path(first.log_path).stat().st_size
    second = await launch(runner, repo, "w1-a1", sim_argv(token, "--hang"))
    assert await runner.exit_status(second) is None  # the first run's status is gone
    await wait_for_log(second, "hanging")
    assert log_text(second).count("started pid=") == 2
    chunks = []

    async def resumed() -> None:
        async for chunk in runner.follow(second, size):
            chunks.append(chunk)

    task = asyncio.create_task(resumed())
    await await_until(lambda: _async_true(bool(chunks)), 10, "resumed lines")
    assert chunks[0].lines[0].startswith(f"sim-agent {token} started")
    assert await runner.stop(second, 5.0) == "terminated"
    await asyncio.wait_for(task, 10)


async def _async_true(value: bool) -> bool:
    return value


async def test_detached_agent_has_no_pipe_to_the_control_room(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--hang"))
    await wait_for_log(handle, "hanging")
    agent_pid = int(log_text(handle).split("pid=", 1)[1].split()[0])
    # The agent writes into a pipe the wrapper copies into its log (rotation): the wrapper,
    # in the agent's own session, holds the other end; the control room holds no end of it.
    ours = set()
    for fd in os.listdir("/proc/self/fd"):
        # The listing's own descriptor (and any another thread closes meanwhile) is gone by now.
        with contextlib.suppress(FileNotFoundError):
            ours.add(os.readlink(f"/proc/self/fd/{fd}"))
    wrapper_fds = {os.readlink(f"/proc/{handle.pid}/fd/{fd}") for fd in ("0", "1", "2")}
    assert not any(t.startswith("pipe:") for t in wrapper_fds), wrapper_fds
    for pid in (handle.pid, agent_pid):
        targets = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in ("0", "1", "2")}
        assert not any(t.startswith("pipe:") and t in ours for t in targets), targets
        assert os.getsid(pid) == handle.pid
    assert os.getsid(handle.pid) != os.getsid(0)
    assert await runner.stop(handle, 5.0) == "terminated"


async def test_exit_file_is_whole_json(runner: LocalRunner, repo: Path, token: str) -> None:
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--fail", "5"))
    await asyncio.wait_for(collect(runner, handle), 20)
    assert read_exit_file(handle.exit_path) == ExitStatus(code=5)
    Path(handle.exit_path).write_text("{not json")
    assert await runner.exit_status(handle) is None


async def test_empty_command_is_refused(runner: LocalRunner, repo: Path) -> None:
    with pytest.raises(ValueError, match="command is empty"):
        await runner.launch(LaunchSpec(agent_id="w1-a1", argv=(), cwd=repo))


async def test_missing_program_with_an_unwritable_log(runner: LocalRunner, repo: Path) -> None:
    runner.logs_dir.mkdir(parents=True)
    os.symlink("/dev/full", runner.log_path("w1-a1"))
    handle = await launch(runner, repo, "w1-a1", ("/nonexistent/agent-program",))
    await asyncio.wait_for(collect(runner, handle), 20)
    assert await runner.exit_status(handle) == ExitStatus(code=127)


def test_wrapper_usage_error() -> None:
    from wavedeck.agents.local import wrapper

    result = subprocess.run(
        [sys.executable, "-I", wrapper.__file__, "only-one-arg"], capture_output=True, text=True
    )
    assert result.returncode == 2 and "usage" in result.stderr


async def test_launch_spec_env_reaches_the_agent(runner: LocalRunner, repo: Path) -> None:
    spec = LaunchSpec(
        agent_id="w1-a1",
        argv=("sh", "-c", 'echo "$WAVEDECK_AGENT_ID $EXTRA"'),
        cwd=repo,
        env={"EXTRA": "from-spec"},
    )
    handle = await runner.launch(spec)
    chunks = await asyncio.wait_for(collect(runner, handle), 20)
    assert chunks[0].lines == ("w1-a1 from-spec",)


async def test_an_agent_with_no_room_for_its_exit_record_is_not_started(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    """The runner sets aside the exit record's room before the wrapper starts (an agent
    launched earlier may fill the disk while this one's wrapper starts up: it ended "lost").
    No room (the reservation lands on /dev/full): refused, naming why, and nothing runs."""
    runner.run_dir.mkdir(parents=True)
    pending = Path(f"{runner.exit_path('w1-a1')}.pending")
    pending.symlink_to("/dev/full")
    with pytest.raises(OSError) as refused:
        await launch(runner, repo, "w1-a1", sim_argv(token))
    assert refused.value.errno == errno.ENOSPC and "exit record" in str(refused.value)
    assert not os.path.lexists(pending) and pids_with(token) == []


def test_the_wrapper_keeps_the_room_the_runner_set_aside(tmp_path: Path) -> None:
    """Truncated and written again, the room's blocks could go to a flooding agent in between."""
    exit_path = str(tmp_path / "w1-a1.exit")
    wrapper.reserve_exit_file(exit_path)  # the runner's
    pending = Path(f"{exit_path}.pending")
    pending.write_bytes(b"x" * wrapper.EXIT_RESERVE)  # overwritten in place: still set aside
    inode = pending.stat().st_ino
    wrapper.reserve_exit_file(exit_path)  # the wrapper's
    assert pending.stat().st_ino == inode and pending.read_bytes() == b"x" * wrapper.EXIT_RESERVE
    wrapper.write_exit_file(exit_path, 0, None, 42)
    assert read_exit_file(exit_path) == ExitStatus(code=0) and not pending.exists()
