"""One writer of agent and wave states: ``agents/wave/transitions.py``.

Parsed with ``ast``: no other module of the engine assigns an agent's ``state``, ``reason`` or
``needs``, or the facts a wave's state is derived from (started, tested, committed, a done mark),
or announces a state
change (``AgentStateChanged``, ``WaveStateChanged``); in ``tui/`` only the adapter copies states
into the view. Then the transitions themselves on a real context: each records, saves, and says
so with its event; a wave's state is derived from the facts, and ``wavedeck status`` derives
the same; why a run needs the operator reaches its record from the preset's stream through the
transitions, and is said by the event the control room reads.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

from click.testing import CliRunner

from tests.unit.wave.enginekit import sandbox, supervisor
from wavedeck.agents.configread import load_config
from wavedeck.agents.events import AgentDenied, AgentStateChanged, Event, WaveStateChanged
from wavedeck.agents.kinds import AsksQuestion, ToolRefused
from wavedeck.agents.runtypes import AgentHandle, ExitStatus
from wavedeck.agents.wave import gates, transitions
from wavedeck.agents.wave.testrun import TestRunResult
from wavedeck.tui.cli.main import main

ROOT = Path(__file__).resolve().parents[3]
STREAMS = ROOT / "tests" / "data" / "agent_streams"
WRITER = "agents/wave/transitions.py"
# What an agent's or a wave's state is, or is derived from, and why it is so.
STATE_FACTS = {"state", "reason", "needs", "base_commit", "tests", "checkpoint", "marked_done"}
ANNOUNCEMENTS = {"AgentStateChanged", "WaveStateChanged"}
# Attributes of that name that are no record's: the context holds the run state itself under
# ``state`` (loaded from disk, not a transition), a git error its reason, and a preset's stream
# the needs fact it read (a value, recorded through the transitions).
OWN = {
    ("agents/wave/context.py", "self.state"),
    ("agents/git/errors.py", "self.reason"),
    ("agents/presets/stream.py", "self.needs"),
}


def _targets(node: ast.AST) -> Iterator[ast.expr]:
    if isinstance(node, ast.Assign):
        for target in node.targets:
            yield from _flat(target)
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        yield from _flat(node.target)


def _flat(target: ast.expr) -> Iterator[ast.expr]:
    if isinstance(target, (ast.Tuple, ast.List)):
        for item in target.elts:
            yield from _flat(item)
    else:
        yield target


def _writes(layer: str) -> list[tuple[str, int, str]]:
    """(module, line, target) of every assignment to a state fact in ``layer``."""
    found = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        module = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            for target in _targets(node):
                if isinstance(target, ast.Attribute) and target.attr in STATE_FACTS:
                    found.append((module, node.lineno, ast.unparse(target)))
    return found


def _announcements(layer: str) -> list[tuple[str, int]]:
    found = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        module = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else None
                name = node.func.id if isinstance(node.func, ast.Name) else name
                if name in ANNOUNCEMENTS:
                    found.append((module, node.lineno))
    return found


def test_only_the_transitions_write_an_agents_or_a_waves_state() -> None:
    writes = _writes("agents")
    assert any(m == WRITER for m, _, _ in writes)  # the scan sees the writer itself
    strays = [(m, n, t) for m, n, t in writes if m != WRITER and (m, t) not in OWN]
    assert strays == []


def test_only_the_transitions_announce_a_state_change() -> None:
    found = _announcements("agents")
    assert {m for m, _ in found} == {WRITER}


def test_the_control_room_copies_states_in_one_place() -> None:
    modules = {m for m, _, t in _writes("tui") if t.endswith(".state")}
    assert modules == {"tui/adapter.py"}  # engine facts into the view, nowhere else


def _ctx(root: Path):  # type: ignore[no-untyped-def]
    sup = supervisor(root)
    seen: list[Event] = []
    sup.ctx.emit = seen.append  # type: ignore[method-assign]
    return sup, sup.ctx, seen


def test_a_wave_goes_through_its_states_from_its_facts(tmp_path: Path) -> None:
    root = sandbox(tmp_path / "repo")
    sup, ctx, seen = _ctx(root)
    assert sup.wave_state(1) == "ready" and sup.wave_state(2) == "locked"
    transitions.wave_started(ctx, 1, base="abc", start_tree="def")
    assert sup.wave_state(1) == "running" and ctx.store.load().waves[1].base_commit == "abc"
    transitions.tests_started(ctx, 1, ("make test",))
    assert sup.wave_state(1) == "testing"
    transitions.tests_interrupted(ctx, 1)
    assert sup.wave_state(1) == "running"  # interrupted: as if the tests never ran
    transitions.tests_started(ctx, 1, ("make test",))
    transitions.tests_finished(ctx, 1, TestRunResult(True, 1.5, (("make test", 0),)))
    assert sup.wave_state(1) == "tested" and ctx.store.load().waves[1].tests is not None
    transitions.checkpoint_recorded(ctx, 1, "f00d")
    assert sup.wave_state(1) == "committed" and ctx.store.load().waves[1].checkpoint == "f00d"
    transitions.checkpoint_announced(ctx, 1, "f00d", ("x-1",))
    states = [e.state for e in seen if isinstance(e, WaveStateChanged)]
    assert states == ["running", "testing", "testing", "tested", "committed"]
    assert sup.wave_state(2) == "ready"


def test_an_agent_is_launched_ends_and_is_marked_done(tmp_path: Path) -> None:
    root = sandbox(tmp_path / "repo")
    _sup, ctx, seen = _ctx(root)
    handle = AgentHandle("w1-a1", 10, 20, 10, "/l", "/e")
    transitions.agent_launched(ctx, "w1-a1", handle)
    rec = ctx.store.load().agents["w1-a1"]
    assert (rec.state, rec.launches, rec.handle, rec.wave) == ("running", 1, handle, 1)
    end = transitions.ending(ExitStatus(3), stopped=False, last_lines=("boom",))
    assert (end.state, end.reason) == ("failed", "exit code 3; last output: boom")
    assert transitions.ending(None, stopped=False, last_lines=()).state == "lost"
    assert transitions.ending(ExitStatus(None, "SIGTERM"), stopped=True, last_lines=()).state == (
        "stopped"
    )
    asked = AsksQuestion("keep it?")
    transitions.agent_ended(
        ctx, "w1-a1", transitions.AgentEnd("needs_you", asked.text, ExitStatus(0), needs=asked)
    )
    changed = [e for e in seen if isinstance(e, AgentStateChanged)]
    assert [(e.state, e.needs) for e in changed] == [("running", None), ("needs_you", asked)]
    assert ctx.store.load().agents["w1-a1"].exit_code == 0
    transitions.agent_marked_done(ctx, "w1-a1", "  ")
    assert ctx.agent_record("w1-a1").marked_done == "marked done by the operator"
    transitions.agent_reopened(ctx, "w1-a1")
    assert ctx.agent_record("w1-a1").marked_done is None


def test_status_derives_the_same_wave_state_as_the_control_room(tmp_path: Path) -> None:
    root = sandbox(tmp_path / "repo")
    sup, ctx, _ = _ctx(root)
    ctx.state.plan_path = str(root / "plans" / "security-waves.md")
    transitions.wave_started(ctx, 1, base="abc", start_tree="def")
    transitions.tests_finished(ctx, 1, TestRunResult(True, 1.0, ()))
    shown = CliRunner().invoke(main, ["status", "--json", "--repo", str(root)])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert data["waves"]["1"]["state"] == sup.wave_state(1) == "tested"
    views = gates.views_of(sup.plan, ctx.store.load())
    assert gates.wave_state(sup.plan, views, 1) == "tested"
    text = CliRunner().invoke(main, ["status", "--repo", str(root)])
    assert "wave 1: tested (tests passed)" in text.output


def test_what_a_run_needs_reaches_its_record_through_the_transitions(tmp_path: Path) -> None:
    # The claude preset's stream reads a refused write; the preset runs record it through the
    # transitions as it is read (a control room started later keeps it), the first fact of a
    # run wins, and the run's end says it with the event the control room reads.
    root = sandbox(tmp_path / "repo")
    cfg = load_config(root)
    cfg = cfg.model_copy(update={"agent": cfg.agent.model_copy(update={"preset": "claude"})})
    sup = supervisor(root, cfg)
    ctx, presets = sup.ctx, sup.processes.presets
    seen: list[Event] = []
    ctx.emit = seen.append  # type: ignore[method-assign]
    presets.launch_args("w1-a3", ctx.agent("w1-a3"))
    denied = (STREAMS / "claude-denied-default-mode.jsonl").read_text("utf-8").splitlines()
    _shown, events, _over = presets.feed("w1-a3", tuple(denied))
    (told,) = [e for e in events if isinstance(e, AgentDenied)]  # the pane's event, as before
    refused = ToolRefused(told.tool, told.path)
    assert ctx.agent_record("w1-a3").needs == refused  # recorded before the run ends
    question = (STREAMS / "claude-question.jsonl").read_text("utf-8").splitlines()
    presets.feed("w1-a3", tuple(question))
    presets.finish("w1-a3")
    assert ctx.agent_record("w1-a3").needs == refused  # the question came second
    end = presets.ended("w1-a3", transitions.AgentEnd("succeeded", "", ExitStatus(0)))
    assert (end.state, end.needs) == ("needs_you", refused)
    transitions.agent_ended(ctx, "w1-a3", end)
    (changed,) = [e for e in seen if isinstance(e, AgentStateChanged)]
    assert (changed.state, changed.needs) == ("needs_you", refused)
    assert ctx.store.load().agents["w1-a3"].needs == refused
    presets.launch_args("w1-a3", ctx.agent("w1-a3"))  # another run: nothing needed yet
    assert ctx.agent_record("w1-a3").needs is None
