"""Remote agents against a real sshd: detach and re-attach, stop, many agents, hostile input."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.eventkit import until
from tests.unit.remote.faultkit import Proxy
from tests.unit.remote.sshkit import (
    ME,
    Sshd,
    closed_port_host,
    git,
    kill_token,
    make_clone,
    make_repo,
    numbered,
    pgrep,
    token,
)
from wavedeck.agents.remote.runner import RemoteRunner
from wavedeck.agents.runtypes import AgentHandle, ExitStatus, LaunchSpec

pytestmark = [pytest.mark.timeout(90), pytest.mark.sshd]
PY = sys.executable
SYS_PY = "/usr/bin/python3"  # readable by the non-root account (pyenv lives in /root)


async def collect(runner: RemoteRunner, handle: AgentHandle, offset: int = 0) -> list[str]:
    lines: list[str] = []
    async for chunk in runner.follow(handle, offset):
        lines.extend(chunk.lines)
    return lines


async def wait_exit(runner: RemoteRunner, handle: AgentHandle) -> ExitStatus | None:
    for _ in range(200):
        if not await runner.is_alive(handle):
            return await runner.exit_status(handle)
        await asyncio.sleep(0.05)
    raise AssertionError("agent did not end")


async def test_a15_plan_strings_reach_argv_exactly(
    sshd: Sshd, repo: Path, host_clone: Path, tmp_path: Path
) -> None:
    canary = tmp_path / "pwned"
    hostile = [
        f"x; touch {canary}",
        f"`touch {canary}`",
        f"$(touch {canary})",
        'it\'s "quoted" \\ back',
        "two\nlines",
        "-leading-dash",
        "--",
        "",
        "ünïcode ☃ $HOME *",
    ]
    argv = (PY, "-c", "import sys; print(repr(sys.argv[1:]))", *hostile)
    r = RemoteRunner("loop", sshd.cfg(host_clone), repo=repo, bring_back=False)
    h = await r.launch(LaunchSpec("w1-a1", argv, repo))
    lines = await collect(r, h)
    assert lines == [repr(hostile)]
    assert not canary.exists()
    await r.close()


async def test_a14_env_values_arrive_byte_exact(sshd: Sshd, repo: Path, host_clone: Path) -> None:
    env = {"V1": "a;b $(id) `id` 'q' \"d\"", "V2": "line1\nline2", "V_3": "=x=", "V4": ""}
    code = "import os; print(repr([os.environ[k] for k in ('V1','V2','V_3','V4')]))"
    r = RemoteRunner("loop", sshd.cfg(host_clone), repo=repo, bring_back=False)
    h = await r.launch(LaunchSpec("w1-a1", (PY, "-c", code), repo, env=env))
    assert await collect(r, h) == [repr(list(env.values()))]
    for bad in ("A;B", "X=Y", "A\nB", "$(id)", "1X"):
        with pytest.raises(OSError, match="environment variable name"):
            await r.launch(LaunchSpec("w1-a2", (PY, "-c", "0"), repo, env={bad: "v"}))
    await r.close()


async def test_a21_stdin_is_dev_null_or_the_prompt(
    sshd: Sshd, repo: Path, host_clone: Path, fake_agent: Path, tmp_path: Path
) -> None:
    r = RemoteRunner("loop", sshd.cfg(host_clone), repo=repo, bring_back=False)
    h = await asyncio.wait_for(
        r.launch(LaunchSpec("w1-a1", (PY, str(fake_agent), "--read-stdin"), repo)), 30
    )
    assert await asyncio.wait_for(collect(r, h), 30) == ["stdin=''"]
    prompt = tmp_path / "prompt.md"
    prompt.write_text("fix headless-01\n$(id) `x`\n")
    argv = (PY, str(fake_agent), "--read-stdin")
    h = await r.launch(LaunchSpec("w1-a2", argv, repo, stdin_file=prompt))
    assert await collect(r, h) == ["stdin=" + repr(prompt.read_text())]
    await r.close()


async def test_prompt_file_and_tree_paths_are_mapped_to_the_host(
    sshd: Sshd, repo: Path, host_clone: Path
) -> None:
    """``{prompt_file}`` and ``{repo}`` are local paths: on the host they name the uploaded
    prompt and the agent's worktree, in argv and in the environment alike."""
    prompt = repo / ".wavedeck" / "prompts" / "w1-a3.md"
    prompt.parent.mkdir(parents=True)
    prompt.write_text(f"the prompt for {repo}/pkg\n")
    code = (
        "import os, sys; p = sys.argv[1]; print(open(p).read().strip(), p == sys.argv[2], "
        "os.environ['PF'] == p, os.environ['RP'] == os.getcwd() == sys.argv[3])"
    )
    relative = ".wavedeck/prompts/w1-a3.md"
    argv = (PY, "-c", code, str(prompt), relative, str(repo))
    env = {"PF": str(prompt), "RP": str(repo)}
    r = RemoteRunner("loop", sshd.cfg(host_clone), repo=repo, bring_back=False)
    h = await r.launch(LaunchSpec("w1-a3", argv, repo, env=env))
    tree = host_clone / ".wavedeck" / "worktrees" / "w1-a3"
    assert await collect(r, h) == [f"the prompt for {tree}/pkg True True True"]
    await r.close()


async def test_a18_signal_and_exit_255_are_recorded(
    sshd: Sshd, repo: Path, host_clone: Path
) -> None:
    r = RemoteRunner("loop", sshd.cfg(host_clone), repo=repo, bring_back=False)
    h = await r.launch(LaunchSpec("w1-a1", ("sh", "-c", "echo bye; kill -KILL $$"), repo))
    assert await collect(r, h) == ["bye"]
    assert await r.exit_status(h) == ExitStatus(None, "SIGKILL")
    h = await r.launch(LaunchSpec("w1-a2", ("sh", "-c", "exit 255"), repo))
    assert await collect(r, h) == []
    assert await r.exit_status(h) == ExitStatus(255)
    await r.close()


@pytest.mark.parametrize("as_user", ["root", "nonroot"])
async def test_a12_stop_terms_then_kills_the_whole_group(
    sshd: Sshd, user_dir: Path, fake_agent: Path, as_user: str
) -> None:
    user = ME if as_user == "root" else sshd.user
    if user is None:
        pytest.skip("needs root to create the non-root test account")
    repo = make_repo(user_dir / "local")
    clone = make_clone(user_dir / "host", owner=None if user == "root" else user)
    tok, tok2 = token(), token()
    py = PY if user == "root" else SYS_PY
    r = RemoteRunner("loop", sshd.cfg(clone, user=user), repo=repo, bring_back=False)
    try:
        argv = (py, str(fake_agent), "--token", tok, "--spawn-bg", "--ignore-term")
        h = await r.launch(LaunchSpec("w1-a1", argv, repo))
        # the wrapper, the agent and two background children
        await until(lambda: len(pgrep(tok)) == 4, what="agent and children")
        assert await r.stop(h, grace_s=0.5) == "killed"
        assert pgrep(tok) == []
        assert await r.exit_status(h) == ExitStatus(None, "SIGKILL")
        # An agent that honours TERM ends with it and nothing is left behind.
        h2 = await r.launch(
            LaunchSpec("w1-a2", (py, str(fake_agent), "--token", tok2, "--spawn-bg"), repo)
        )
        await until(lambda: len(pgrep(tok2)) == 4, what="agent and children")
        assert await r.stop(h2, grace_s=5) == "terminated"
        assert pgrep(tok2) == []
        assert await r.exit_status(h2) == ExitStatus(None, "SIGTERM")
        assert await r.stop(h2, grace_s=1) == "not running"
    finally:
        kill_token(tok)
        kill_token(tok2)
        await r.close()


async def test_a13_twelve_agents_on_one_host(sshd: Sshd, repo: Path, host_clone: Path) -> None:
    before = sshd.connections()
    r = RemoteRunner("loop", sshd.cfg(host_clone), repo=repo, bring_back=False)
    code = "import sys,time; print('hello', sys.argv[1], flush=True); time.sleep(1.5)"
    handles = await asyncio.gather(
        *(r.launch(LaunchSpec(f"w1-a{i}", (PY, "-c", code, str(i)), repo)) for i in range(1, 13))
    )
    # Twelve log streams open at once: more channels than sshd's MaxSessions (10).
    results = await asyncio.wait_for(asyncio.gather(*(collect(r, h) for h in handles)), 60)
    assert results == [[f"hello {i}"] for i in range(1, 13)]
    assert sshd.connections() - before >= 2  # sshd saw the pool open a second connection
    await r.close()


async def test_a11_control_room_gone_agent_keeps_running_and_is_readopted(
    sshd: Sshd, repo: Path, host_clone: Path, fake_agent: Path, tmp_path: Path
) -> None:
    tok = token()
    gate = tmp_path / "gate"
    argv = (
        PY,
        str(fake_agent),
        "--token",
        tok,
        "--lines",
        "60",
        "--gate",
        str(gate),
        "--after",
        "90",
    )
    first = RemoteRunner("loop", sshd.cfg(host_clone), repo=repo, bring_back=False)
    h = await first.launch(LaunchSpec("w1-a1", argv, repo))
    seen: list[str] = []
    offset = 0
    async for chunk in first.follow(h, 0):
        seen.extend(chunk.lines)
        offset = chunk.offset
        if len(seen) >= 20:
            break
    first.transport.abort()  # the control room vanishes (no clean close)
    agent_only = f"^{PY} .*{tok}"  # the agent itself, not its wrapper
    assert len(pgrep(agent_only)) == 1  # still running, detached
    second = RemoteRunner("loop", sshd.cfg(host_clone), repo=repo, bring_back=False)
    again = await second.launch(LaunchSpec("w1-a1", argv, repo))  # must not start a 2nd copy
    assert again == h and len(pgrep(agent_only)) == 1
    gate.touch()
    seen += await collect(second, h, offset)
    assert numbered(seen) == list(range(1, 151))
    assert await second.exit_status(h) == ExitStatus(0)
    await second.close()


async def test_a8_a20_drops_mid_stream_lose_and_repeat_nothing(
    sshd: Sshd,
    repo: Path,
    host_clone: Path,
    fake_agent: Path,
    proxy: Callable[[int], Awaitable[Proxy]],
    tmp_path: Path,
) -> None:
    p = await proxy(sshd.port)
    cfg = sshd.cfg(host_clone, port=p.port, connect_timeout_s=2)
    events: list[str] = []
    r = RemoteRunner(
        "loop", cfg, repo=repo, bring_back=False, on_event=lambda e: events.append(e.state)
    )
    gate = tmp_path / "gate"
    argv = (PY, str(fake_agent), "--lines", "100", "--gate", str(gate), "--after", "300")
    h = await r.launch(LaunchSpec("w1-a1", argv, repo))
    seen: list[str] = []
    faults: asyncio.Task[None] | None = None

    async def partition_then_heal(reset_at: int) -> None:
        # The follow is back after the reset (the agent waits at the gate meanwhile).
        await until(lambda: "connected" in events[reset_at:], 15, "a reconnect after the reset")
        p.mode = "blackhole"  # A20: partition; keepalive notices, reconnects time out
        partitioned = len(events)
        gate.touch()  # the agent writes 300 more lines while we cannot see them
        # Healed only once keepalive (1 s x (2 + 1)) has noticed the partition.
        await until(lambda: "reconnecting" in events[partitioned:], 15, "keepalive to notice")
        p.mode = "pass"
        p.reset()

    async for chunk in r.follow(h, 0):
        seen.extend(chunk.lines)
        if faults is None:
            p.reset()  # A8: TCP RST while the agent runs
            faults = asyncio.get_running_loop().create_task(partition_then_heal(len(events)))
    assert faults is not None
    await faults
    assert numbered(seen) == list(range(1, 401))
    assert "reconnecting" in events and events[-1] == "connected"
    await r.close()


async def test_unreachable_host_presumes_a_detached_agent_running(tmp_path: Path) -> None:
    from wavedeck.agents.events import Event, HostConnectionChanged

    cfg = closed_port_host(tmp_path)
    events: list[Event] = []
    r = RemoteRunner("gone", cfg, on_event=events.append)
    h = AgentHandle("w1-a1", 123, 456, 123, "l", "e", "gone")
    assert await asyncio.wait_for(r.is_alive(h), 10) is True  # one attempt, no backoff round
    assert r.transport.attempts == 1
    assert [e.state for e in events if isinstance(e, HostConnectionChanged)] == ["unreachable"]


CONTROL_ROOM = r"""
import asyncio, json, os, sys
from pathlib import Path
from wavedeck.agents.config import HostConfig
from wavedeck.agents.remote.runner import RemoteRunner
from wavedeck.agents.runtypes import LaunchSpec

async def main() -> None:
    cfg = HostConfig.model_validate_json(sys.argv[1])
    repo, journal = Path(sys.argv[2]), sys.argv[3]
    argv = tuple(json.loads(sys.argv[4]))
    r = RemoteRunner("loop", cfg, repo=repo, bring_back=False)
    h = await r.launch(LaunchSpec("w1-a1", argv, repo))
    fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, (json.dumps({"handle": h.__dict__}) + "\n").encode())
    async for chunk in r.follow(h, 0):
        # One write per chunk: lines and the offset after them are recorded together.
        os.write(fd, (json.dumps({"offset": chunk.offset, "lines": chunk.lines}) + "\n").encode())

asyncio.run(main())
"""


async def test_a11_control_room_sigkilled_mid_stream_restart_resumes_exactly(
    sshd: Sshd, repo: Path, host_clone: Path, fake_agent: Path, tmp_path: Path
) -> None:
    import json
    import signal

    tok = token()
    gate = tmp_path / "gate"
    journal = tmp_path / "journal"
    argv = [PY, str(fake_agent), "--token", tok, "--lines", "80", "--gate", str(gate)]
    argv += ["--after", "120"]
    cfg = sshd.cfg(host_clone)
    room = subprocess.Popen(
        [PY, "-c", CONTROL_ROOM, cfg.model_dump_json(), str(repo), str(journal), json.dumps(argv)]
    )
    try:
        await until(
            lambda: journal.exists() and journal.read_text().count("\n") >= 2, what="journal"
        )
        room.send_signal(signal.SIGKILL)
        room.wait(10)
    finally:
        if room.poll() is None:
            room.kill()
    records = []
    for raw in journal.read_text().splitlines():
        try:
            records.append(json.loads(raw))
        except ValueError:
            break  # a record cut by the kill was never consumed
    from wavedeck.agents.runtypes import AgentHandle as Handle

    handle = Handle(**records[0]["handle"])
    seen = [line for rec in records[1:] for line in rec["lines"]]
    offset = records[-1]["offset"] if len(records) > 1 else 0
    agent_only = f"^{PY} .*{tok}"
    assert len(pgrep(agent_only)) == 1  # the agent outlived its control room
    r = RemoteRunner("loop", cfg, repo=repo, bring_back=False)
    assert await r.launch(LaunchSpec("w1-a1", tuple(argv), repo)) == handle  # no second copy
    # Opened only now: opened before the launch above, the agent could end (under load) before
    # that launch looked, which then rightly started a new run (its own pid and start time).
    gate.touch()
    seen += await collect(r, handle, offset)
    assert numbered(seen) == list(range(1, 201))
    assert await r.exit_status(handle) == ExitStatus(0)
    await r.close()


async def test_programs_planted_in_the_hosts_clone_never_run_from_wavedecks_git(
    sshd: Sshd, repo: Path, host_clone: Path, fake_agent: Path, tmp_path: Path
) -> None:
    """Issue #20: a filter, a textconv, an external diff, fsmonitor and hooks in the host's clone
    configuration, with a ``.gitattributes`` the agent writes, run for none of the git commands
    wavedeck runs there (prepare, live status, collecting the patch); plain git runs them."""
    marker = tmp_path / "planted-ran"
    prog = tmp_path / "prog.sh"
    prog.write_text(f"#!/bin/sh\necho \"$0 $*\" >> '{marker}'\ncat\n")
    prog.chmod(0o755)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for name in ("post-checkout", "post-index-change", "reference-transaction"):
        (hooks / name).write_text(f"#!/bin/sh\necho {name} >> '{marker}'\n")
        (hooks / name).chmod(0o755)
    with (host_clone / ".git" / "config").open("a") as fh:
        fh.write(
            f'[filter "evil"]\n\tclean = {prog}\n\tsmudge = {prog}\n\trequired = true\n'
            f'[filter "a=b"]\n\tclean = {prog}\n[diff "evil"]\n\ttextconv = {prog}\n'
            f"[diff]\n\texternal = {prog}\n[core]\n\tfsmonitor = {prog}\n\thooksPath = {hooks}\n"
        )
    (repo / ".gitattributes").write_text("*.py filter=evil diff=evil\nREADME filter=a=b\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "attributes")
    r = RemoteRunner("loop", sshd.cfg(host_clone), repo=repo)
    argv = (PY, str(fake_agent), "--lines", "3", "--write", "pkg/a.py=A = 2")
    h = await r.launch(LaunchSpec("w1-a1", argv, repo))
    await collect(r, h, 0)
    assert (repo / "pkg" / "a.py").read_text() == "A = 2\n"
    assert sorted(r.applied["w1-a1"]) == ["pkg/a.py"]
    await r.close()
    assert not marker.exists(), marker.read_text()
    # The control: plain git in the agent's worktree on the host runs the plants.
    worktree = host_clone / ".wavedeck" / "worktrees" / "w1-a1"
    (worktree / "pkg" / "a.py").write_text("A = 3\n")
    subprocess.run(["git", "diff"], cwd=worktree, capture_output=True, timeout=60)
    assert marker.exists()
