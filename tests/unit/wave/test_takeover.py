"""Taking over an agent's session by hand, through the real engine: when it is refused (and why,
as codes), the take-over lock the engine respects (no launch, restart or follow-up meanwhile),
the take-over itself with a stand-in CLI under the agent's wrapper and kernel sandbox (its exit
status, its transcript read back, its files, the record in its log), and the reports a
``wavedeck attach`` in another terminal leaves for the control room.

The real Claude Code CLI is taken over in tmux by tests/e2e/test_takeover.py."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from tests.e2e.headless_kit import env, make_demo, run, wavedeck_argv
from tests.sandboxkit import configure, git
from tests.unit.presets.test_engine_presets import claude_sandbox
from tests.unit.wave.enginekit import kill_agents, opened, wait_agents
from wavedeck.agents.config import Config
from wavedeck.agents.events import AgentOutputBatch, AgentUsage, GateRefused, Notice
from wavedeck.agents.local import landlock
from wavedeck.agents.local.logfiles import logical_size
from wavedeck.agents.state import AgentRecord
from wavedeck.agents.tools.attach import Takeover
from wavedeck.agents.wave import takeover
from wavedeck.agents.wave.supervisor import SupervisorError
from wavedeck.agents.wave.takeover import TakeoverLock, TakeoverReport
from wavedeck.plan.reading.loader import load_plan

STANDIN = str(Path(__file__).with_name("takeover_cli.py"))
pytestmark = pytest.mark.timeout(120)


def _report(**kw: object) -> TakeoverReport:
    values: dict[str, object] = {
        "agent": "w1-a1", "session_id": "s-1", "started_at": 100.0, "ended_at": 250.0,
        "exit_code": 0, "reported": True, "cli": "claude", "input_tokens": 1200,
        "output_tokens": 50, "cost_usd": 0.05, "turns": 1, "touched": ("src/a.py",),
        "said": ("keep the code",), "answer": "done",
    }  # fmt: skip
    values.update(kw)
    return TakeoverReport(**values)  # type: ignore[arg-type]


def test_refusals_are_codes(tmp_path: Path) -> None:
    plan = load_plan(Path(__file__).parents[3] / "agents/data/security-waves.md").plan
    claude = Config.model_validate({"agent": {"preset": "claude"}})
    ran = AgentRecord(launches=1, session_id="s-1", state="succeeded")

    def code(config: Config, rec: AgentRecord | None, **kw: bool) -> str | None:
        found = takeover.check(
            plan,
            config,
            "w1-a1",
            rec,
            wave_open=kw.get("open", True),
            running=kw.get("running", False),
        )
        return found.code if found else None

    assert code(claude, ran) is None
    assert code(Config(), ran) == "no-session-cli"  # generic
    assert code(Config.model_validate({"agent": {"preset": "aider"}}), ran) == "no-session-cli"
    command = Config.model_validate({"agent": {"preset": "claude", "command": ["x"]}})
    assert code(command, ran) == "command-set"
    assert code(claude, None) == "never-ran"
    assert code(claude, ran, running=True) == "agent-running"  # two writers of one session
    assert code(claude, AgentRecord(launches=1)) == "no-session"
    assert code(claude, ran, open=False) == "wave-closed"
    assert takeover.check(plan, claude, "w9-a9", ran, wave_open=True, running=False).code == (  # type: ignore[union-attr]
        "not-in-plan"
    )
    words = takeover.words(takeover.TakeoverRefusal("agent-running", "w1-a1", "42"))
    assert "pid 42" in words and "stop it first" in words


def test_the_lock_is_one_holders_and_names_it(tmp_path: Path) -> None:
    first, second = TakeoverLock(tmp_path, "w1-a1"), TakeoverLock(tmp_path, "w1-a1")
    assert first.acquire(note="wavedeck attach")
    assert not second.acquire()  # even in the same process: the flock is per open file
    assert second.holder().startswith("wavedeck attach (pid ")
    first.release()
    assert second.acquire()
    second.release()


def test_the_record_and_where_it_leaves_the_log_offset() -> None:
    report = _report(log_before=100, log_after=300)
    lines = takeover.marker_lines(report)
    assert lines[0] == "── wavedeck: attached by the operator (2 min) ──"
    assert "   you wrote: keep the code" in lines and "   files changed: src/a.py" in lines
    assert any(
        "usage: 1.2k in / 50 out tokens, $0.05 (from the claude transcript)" in line
        for line in lines
    )
    assert lines[-1] == "   the CLI ended: exit 0"
    dropped = takeover.marker_lines(
        _report(host="box", dropped=True, reported=False, exit_code=255)
    )
    assert dropped[-1] == "   the CLI ended on box: the connection dropped"
    assert "   usage: not known (the claude transcript could not be read)" in dropped
    aider = takeover.marker_lines(_report(cli="aider", reported=False))
    assert "   usage: not known (wavedeck reads no transcript of the aider CLI)" in aider
    # Read up to the record: shown now, the offset moves past it; else left to the follower.
    rec = AgentRecord(offset=100, input_tokens=10)
    events, shown, offset = takeover.settle("w1-a1", rec, report)
    assert shown == tuple(lines) and offset == 300
    assert (
        rec.input_tokens == 1210
        and rec.cost_usd == pytest.approx(0.05)
        and rec.touched == ["src/a.py"]
    )
    assert any(isinstance(e, AgentUsage) and e.input_tokens == 1210 for e in events)
    _, shown, offset = takeover.settle("w1-a1", AgentRecord(offset=40), report)
    assert shown is None and offset is None
    assert TakeoverReport.model_validate_json(report.model_dump_json()) == report


def _standin_sandbox(root: Path) -> Path:
    """The claude preset with the stand-in CLI, in the kernel sandbox, its state folder and
    what it reports in the test's folder."""
    claude_sandbox(root, {})
    config = root / "wavedeck.toml"
    text = config.read_text("utf-8")
    text = text.replace('sandbox = "off"', 'sandbox = "landlock"')
    text = text.replace("program = ", f"program = {json.dumps(STANDIN)}\n# was: program = ", 1)
    state = root.parent / "claude-state"
    env = {
        "CLAUDE_CONFIG_DIR": str(state),
        "TAKEOVER_OUT": str(state / "seen.json"),
        "TAKEOVER_FOREIGN": str(root / "packages/headless-client/zajel/cli/daemon.py"),
    }
    table = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in env.items())
    text = text.replace("[agent.extra_args]", f"env = {{ {table} }}\n\n[agent.extra_args]", 1)
    config.write_text(text, "utf-8")
    git(root, "commit", "-q", "-m", "stand-in claude", "--", "wavedeck.toml")
    return state


@pytest.mark.slow
async def test_take_over_under_the_agents_sandbox_then_record_it(tmp_path: Path) -> None:
    root = tmp_path / "s"
    state = _standin_sandbox(root)
    try:
        async with opened(root) as (sup, col):
            await sup.start_wave(1)
            await wait_agents(sup, 1, timeout=60)
            rec = sup.state.agents["w1-a1"]
            assert rec.session_id and sup.takeover_check("w1-a1") is None
            owned = sup.plan.agent("w1-a1").paths[0]
            lock = TakeoverLock(sup.wavedeck_dir, "w1-a1")
            assert lock.acquire(note="the test")
            # While the operator has the session: no take-over elsewhere, no launch.
            assert sup.takeover_check("w1-a1").code == "taken-over"  # type: ignore[union-attr]
            await sup.restart_agent("w1-a1")
            await col.until(
                lambda ev: any(
                    isinstance(e, GateRefused) and e.code == "agent-attached" for e in ev
                )
            )
            with pytest.raises(SupervisorError, match="taken over by the operator"):
                await sup.follow_up("w1-a1", "go on")
            assert sup.state.agents["w1-a1"].launches == 1
            spec = sup.takeover_spec("w1-a1")
            assert spec is not None and "-p" not in spec.argv and "--resume" in spec.argv
            job = Takeover(
                repo=root, plan=sup.plan, config=sup.config, spec=spec, session_id=rec.session_id
            )
            await job.begin()
            status = await asyncio.to_thread(job.run)
            report = await job.end(status)
            lock.release()
            assert status.code == 3 and report.exit_code == 3  # the CLI's own status
            seen = json.loads((state / "seen.json").read_text("utf-8"))
            assert seen["cwd"] == str(root) and seen["argv"][:2] == ["--resume", rec.session_id]
            if landlock.abi() >= landlock.MIN_ABI:  # the agent's kernel sandbox held
                assert seen["foreign"] == "Permission denied"
            assert report.reported and report.said == ("stand-in: keep the error code",)
            assert report.answer == "stand-in: done by hand"
            assert report.input_tokens == 2300 and report.output_tokens == 50
            assert report.cost_usd == pytest.approx(0.05)
            assert report.touched == (owned,)
            log = sup.log_path("w1-a1")
            assert report.log_after == logical_size(log) and report.log_before == rec.offset
            assert "── wavedeck: attached by the operator (1 min) ──" in log.read_text("utf-8")
            before = rec.input_tokens
            sup.record_takeover(report)
            await col.until(
                lambda ev: any(
                    isinstance(e, AgentOutputBatch)
                    and e.lines
                    and e.lines[0].startswith("── wavedeck: attached")
                    for e in ev
                )
            )
            assert rec.input_tokens == before + 2300 and rec.offset == report.log_after
            # A report another terminal left (wavedeck attach) is applied by the poll.
            takeover.write_report(sup.wavedeck_dir, report.model_copy(update={"log_before": None}))
            await col.until(
                lambda ev: (
                    sum(isinstance(e, Notice) and "back from the operator" in e.message for e in ev)
                    == 2
                )
            )
            assert rec.input_tokens == before + 4600
            assert not list((sup.wavedeck_dir / "takeovers").glob("*.json"))
            # A CLI killed by a signal: said once, as how it ended (no exit code).
            killed = replace(spec, env={**spec.env, "TAKEOVER_EXIT": "TERM"})
            job = Takeover(
                repo=root, plan=sup.plan, config=sup.config, spec=killed, session_id=rec.session_id
            )
            await job.begin()
            report = await job.end(await asyncio.to_thread(job.run))
            assert report.signal == "SIGTERM" and report.exit_code is None
            assert report.notes == ()
            tail = log.read_text("utf-8").splitlines()
            assert tail[-1] == "   the CLI ended: killed by SIGTERM"
            assert sum("killed by" in line for line in tail) == 1
    finally:
        kill_agents(root)


@pytest.mark.slow
async def test_a_running_agent_is_refused_until_it_ends(tmp_path: Path) -> None:
    root = claude_sandbox(tmp_path / "s", {"w1-a1": ["--replay", "spend"]}, budget=100)
    try:
        async with opened(root) as (sup, col):
            await sup.start_wave(1)
            await col.until(
                lambda ev: (
                    sup.agent_state("w1-a1") == "running"
                    and bool(sup.state.agents["w1-a1"].session_id)
                )
            )
            refusal = sup.takeover_check("w1-a1")
            assert refusal is not None and refusal.code == "agent-running"
            await sup.stop_agent("w1-a1")  # its progress kept: the session stays
            await wait_agents(sup, 1, timeout=60)
            assert sup.takeover_check("w1-a1") is None
    finally:
        kill_agents(root)


@pytest.mark.slow
async def test_wavedeck_attach_beside_a_control_room_stops_the_run_first(tmp_path: Path) -> None:
    root = tmp_path / "s"
    _standin_sandbox(root)
    configure(root, extra={"w1-a1": ["--replay", "spend"]}, commit=True)  # runs until stopped
    text = (root / "wavedeck.toml").read_text("utf-8").replace("max_cost_usd = 1.0", "")
    (root / "wavedeck.toml").write_text(text, "utf-8")
    git(root, "commit", "-q", "-m", "no budget", "--", "wavedeck.toml")
    try:
        async with opened(root) as (sup, col):  # the control room: it holds the state's lock
            await sup.start_wave(1)
            await col.until(
                lambda ev: any(isinstance(e, AgentUsage) and e.agent == "w1-a1" for e in ev)
            )
            assert sup.agent_state("w1-a1") == "running"
            before = sup.state.agents["w1-a1"].input_tokens
            refused = await asyncio.to_thread(run, root, "attach", "w1-a1")
            assert refused.returncode == 2, refused.stderr
            assert "w1-a1's headless run is going" in refused.stderr
            lonely = await asyncio.to_thread(run, root, "attach", "w1-a1", "--stop")
            assert lonely.returncode == 2 and "needs a terminal" in lonely.stderr  # no tty
            done = await asyncio.to_thread(in_a_terminal, root, "attach", "w1-a1", "--stop")
            assert done.returncode == 3, done.stderr  # the CLI's own exit status
            assert "w1-a1's headless run: terminated (its progress is kept)" in done.stderr
            assert "── wavedeck: attached by the operator (1 min) ──" in done.stderr
            assert "recorded by the control room running on this repository" in done.stderr
            await col.until(
                lambda ev: any(
                    isinstance(e, Notice) and "back from the operator" in e.message for e in ev
                )
            )
            assert sup.state.agents["w1-a1"].input_tokens == before + 2300
            missing = await asyncio.to_thread(run, root, "attach", "w9-a9")
            assert missing.returncode == 2 and "no agent w9-a9 in the plan" in missing.stderr
    finally:
        kill_agents(root)


def in_a_terminal(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``wavedeck ARGS`` with a pseudo-terminal for its stdin (as from a shell)."""
    controller, terminal = pty.openpty()
    try:
        return subprocess.run(
            wavedeck_argv(*args), cwd=folder, stdin=terminal, capture_output=True, text=True,
            timeout=90, env=env(), check=False,
        )  # fmt: skip
    finally:
        os.close(terminal)
        os.close(controller)


@pytest.mark.slow
def test_wavedeck_attach_says_why_it_cannot(tmp_path: Path) -> None:
    demo = make_demo(tmp_path / "demo")
    none = run(demo, "attach", "w1-a1")
    assert none.returncode == 2 and "no run recorded" in none.stderr
    assert "Warning" not in none.stderr  # asyncssh's import is quiet (cryptography's DSA)
    (demo / ".wavedeck").mkdir(exist_ok=True)
    (demo / ".wavedeck" / "state.json").write_text(
        '{"version": 2, "agents": {"w1-a1": {"launches": 1}}}'
    )
    generic = run(demo, "attach", "w1-a1")
    assert generic.returncode == 2
    assert "the generic preset keeps no session a terminal can resume" in generic.stderr
