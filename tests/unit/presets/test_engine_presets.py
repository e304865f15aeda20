"""The claude preset through the real engine: a stand-in CLI (fake_claude.py, printing the
event shapes recorded from Claude Code) runs as each agent of the demo's wave 1 as real detached
processes: rendered lines, issue_done from the assistant's text, session/tool/usage/denied
events, usage in the record, needs_you, the cost budget, exact write attribution, follow-ups."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from tests.sandboxkit import git
from tests.unit.wave.enginekit import kill_agents, opened, sandbox, supervisor, wait_agents
from wavedeck.agents.configread import load_config
from wavedeck.agents.events import (
    AgentDenied,
    AgentOutput,
    AgentSession,
    AgentStateChanged,
    AgentTool,
    AgentUsage,
    GateRefused,
    IssueDone,
    ViolationFound,
)
from wavedeck.agents.kinds import AsksQuestion, ToolRefused
from wavedeck.agents.wave.supervisor import SupervisorError

FAKE = str(Path(__file__).parent / "fake_claude.py")


def claude_sandbox(folder: Path, extra: dict[str, list[str]], budget: float = 1.0) -> Path:
    root = sandbox(folder, extra={})
    config = root / "wavedeck.toml"
    text = config.read_text("utf-8")
    text = re.sub(r"command = \[.*\]\n", "", text)
    text = text.replace(
        'prompt = "file"\n',
        f'preset = "claude"\nprogram = {json.dumps(FAKE)}\nmax_cost_usd = {budget}\n',
    )
    args = "".join(f"{json.dumps(a)} = {json.dumps(v)}\n" for a, v in extra.items())
    text = text.replace("[agent.extra_args]\n", "[agent.extra_args]\n" + args)
    config.write_text(text, "utf-8")
    git(root, "commit", "-q", "-m", "claude preset", "--", "wavedeck.toml")
    return root


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_wave_of_claude_agents(tmp_path: Path) -> None:
    extra = {
        "w1-a2": ["--replay", "question"],
        "w1-a3": ["--replay", "deny"],
        "w1-a4": ["--replay", "spend"],
        "w1-a5": ["--replay", "courtesy"],
    }
    root = claude_sandbox(tmp_path / "s", extra)
    try:
        async with opened(root) as (sup, col):
            await sup.start_wave(1)
            await wait_agents(sup, 1, timeout=60)
            await col.until(lambda ev: any(isinstance(e, AgentUsage) for e in ev))
            state = sup.state
            a1 = state.agents["w1-a1"]
            # Rendered lines, not JSON; the progress protocol read from inside the JSON text.
            shown = [e.line for e in col.of(AgentOutput) if e.agent == "w1-a1"]
            assert "✎ Edit packages/headless-client/zajel/client.py" in shown
            assert not any(line.startswith("{") for line in shown)
            issues = {e.issue for e in col.of(IssueDone) if e.agent == "w1-a1"}
            assert issues == {i.id for i in sup.plan.agent("w1-a1").issues}
            assert a1.state == "succeeded" and a1.cost_usd == pytest.approx(0.25)
            assert a1.input_tokens == 120 and a1.output_tokens == 30 and a1.turns == 2
            # The session id wavedeck chose before the start is the one the CLI reported.
            sessions = {e.agent: e.session_id for e in col.of(AgentSession)}
            assert sessions["w1-a1"] == a1.session_id and len(a1.session_id or "") == 36
            tools = [e for e in col.of(AgentTool) if e.agent == "w1-a1"]
            assert tools[0].tool == "Edit" and tools[0].path.endswith("zajel/client.py")
            # The log on disk keeps the raw stream.
            raw = sup.log_path("w1-a1").read_text("utf-8").splitlines()
            assert json.loads(raw[0])["type"] == "system"
            # Asked a question / refused a write: needs you, with the reason.
            a2, a3, a4 = state.agents["w1-a2"], state.agents["w1-a3"], state.agents["w1-a4"]
            assert a2.state == "needs_you" and isinstance(a2.needs, AsksQuestion)
            assert a2.needs.question.startswith("Before I change it")
            assert a3.state == "needs_you" and a3.needs == ToolRefused("Write", "not-mine.txt")
            assert [e.path for e in col.of(AgentDenied)] == ["not-mine.txt"]
            # Over budget ($5 > $1): stopped, failed with the reason.
            assert a4.state == "failed" and "over max_cost_usd $1" in a4.reason
            # Every issue reported done: a closing question does not make it need you.
            assert state.agents["w1-a5"].state == "succeeded"
            ended = [e for e in col.of(AgentStateChanged) if e.agent == "w1-a2"]
            assert ended[-1].state == "needs_you" and ended[-1].needs == a2.needs
            # The wave does not count as done while an agent needs you.
            refused = sup.can_start_wave(2)
            assert refused is not None and refused.code == "previous-unfinished"
    finally:
        kill_agents(root)


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_follow_up_resumes_the_session_in_the_same_log(tmp_path: Path) -> None:
    root = claude_sandbox(tmp_path / "s", {"w1-a2": ["--replay", "question"]})
    try:
        async with opened(root) as (sup, col):
            await sup.start_wave(1)
            await wait_agents(sup, 1, timeout=60)
            rec = sup.state.agents["w1-a2"]
            assert rec.state == "needs_you"
            session = rec.session_id
            with pytest.raises(SupervisorError, match="needs a message"):
                await sup.follow_up("w1-a2", "  ")
            with pytest.raises(SupervisorError, match="w1-a9"):
                await sup.follow_up("w1-a9", "hi")
            await sup.follow_up("w1-a2", "Keep the code. Go on.")
            await wait_agents(sup, 1, timeout=60)
            rec = sup.state.agents["w1-a2"]
            assert rec.state == "succeeded" and rec.follow_ups == 1
            assert rec.session_id == session and rec.launches == 2
            log = sup.log_path("w1-a2").read_text("utf-8")
            assert "── wavedeck: follow-up 1: Keep the code. Go on. ──\n" in log
            shown = [e.line for e in col.of(AgentOutput) if e.agent == "w1-a2"]
            assert "follow-up received: Keep the code. Go on." in shown
            assert rec.cost_usd == pytest.approx(0.5)  # both runs
            assert rec.needs is None and rec.reason == ""
    finally:
        kill_agents(root)


@pytest.mark.timeout(60)
async def test_a_missing_program_refuses_the_wave_naming_the_agent_and_key(
    tmp_path: Path,
) -> None:
    root = claude_sandbox(tmp_path / "s", {})
    config = load_config(root)
    config.agent.program = str(tmp_path / "no-such-claude")
    try:
        async with opened(root, config) as (sup, col):
            await sup.start_wave(1)
            await col.until(lambda ev: any(isinstance(e, GateRefused) for e in ev))
            (refused,) = col.of(GateRefused)
            assert refused.code == "program-missing"
            assert refused.refusal.detail.startswith("w1-a1: agent.program: ")
            assert "no-such-claude is not an executable file" in refused.refusal.detail
            assert sup.wave_state(1) == "ready" and not sup.state.agents
    finally:
        kill_agents(root)


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_tool_writes_name_the_agent_in_the_shared_workspace(tmp_path: Path) -> None:
    # w1-a1's tool call writes a file w1-a2 owns: the violation names w1-a1, not a guess.
    root = claude_sandbox(tmp_path / "s", {})
    fake = tmp_path / "writer.py"
    target = "packages/headless-client/zajel/daemon.py"  # w1-a2's
    fake.write_text(
        "#!/usr/bin/env python3\nimport json, os, sys, time\nsys.stdin.read()\n"
        "if os.environ['WAVEDECK_AGENT_ID'] != 'w1-a1':\n    sys.exit(0)\n"
        f"use = {{'type': 'tool_use', 'id': 't', 'name': 'Write', 'input': {{'file_path': {target!r}}}}}\n"
        "print(json.dumps({'type': 'assistant', 'message': {'content': [use]}}), flush=True)\n"
        "time.sleep(0.5)\n"
        f"open({target!r}, 'a').write('# x\\n')\n"
        "time.sleep(1)\n",
        "utf-8",
    )
    fake.chmod(0o755)
    config = load_config(root)
    config.agent.program = str(fake)
    try:
        async with opened(root, config) as (sup, col):
            await sup.start_wave(1)

            def found(ev: list[object]) -> bool:
                return any(isinstance(e, ViolationFound) and e.path == target for e in ev)

            await col.until(found, timeout=60)
            (violation,) = [e for e in col.of(ViolationFound) if e.path == target]
            assert violation.agent == "w1-a1" and violation.kind == "foreign"
            await wait_agents(sup, 1, timeout=60)
    finally:
        kill_agents(root)
        await asyncio.sleep(0)


def test_a_kernel_refusal_read_in_the_batch_of_its_tool_call_names_the_tool(
    tmp_path: Path,
) -> None:
    """Under load a tool call and its refused result reach the engine in one batch of lines:
    the refusal names the tool (``Write``), never ``?`` (the call was read after the scan)."""
    root = claude_sandbox(tmp_path / "s", {})
    runs = supervisor(root).processes.presets
    cwd = str(root)
    runs.sandboxed("w1-a1", lambda path: path.startswith(cwd + "/src/api/"))
    target = f"{cwd}/src/web/page.py"
    call = {"type": "tool_use", "id": "toolu_1", "name": "Write", "input": {"file_path": target}}
    refused = {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "is_error": True,
        "content": f"EACCES: permission denied, open '{target}'",
    }
    batch = (
        json.dumps({"type": "assistant", "message": {"content": [call]}}, separators=(",", ":")),
        json.dumps({"type": "user", "message": {"content": [refused]}}, separators=(",", ":")),
    )
    _shown, events, _ = runs.feed("w1-a1", batch)
    denied = [(e.tool, e.path) for e in events if isinstance(e, AgentDenied)]
    assert denied == [("Write", "src/web/page.py")]
