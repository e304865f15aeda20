"""Agents of a CLI whose starts at once go wrong start one at a time (real processes, real git).

A stand-in for opencode (the preset's argv, its JSON events) notes when it started, says its
session after a moment and notes when: with the ``opencode`` preset, the second agent starts only
once the first has said its session; an agent that never says one holds the next start only
``SESSION_WAIT_S`` and a notice names it; the generic preset starts its agents at once.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.unit.wave.enginekit import collecting, kill_agents, wait_agents
from tests.unit.wave.scriptkit import script_repo, supervisor
from wavedeck.agents.events import Notice
from wavedeck.agents.wave import processes
from wavedeck.agents.wave.supervisor import Supervisor

pytestmark = pytest.mark.slow  # real agent processes, seconds each

# opencode's argv is `PROGRAM run --format json`; the stand-in ignores it.
STAND_IN = """#!{python}
import json, os, sys, time
from pathlib import Path
agent = os.environ["WAVEDECK_AGENT_ID"]
sid = "ses_" + agent.replace("-", "")
notes = Path({notes!r})
(notes / (agent + ".start")).write_text(repr(time.time()))
time.sleep({delay})
if {says_session}:
    (notes / (agent + ".session")).write_text(repr(time.time()))
    print(json.dumps({{"type": "step_start", "sessionID": sid}}), flush=True)
issue = {{"w1-a1": "api-1", "w1-a2": "web-1"}}[agent]
part = {{"type": "text", "text": "wavedeck: done " + issue + " nothing to change"}}
print(json.dumps({{"type": "text", "sessionID": sid, "part": part}}), flush=True)
"""


def _repo(tmp_path: Path, preset: str, *, delay: float = 0.6, says_session: bool = True) -> Path:
    notes = tmp_path / "notes"
    notes.mkdir()
    program = tmp_path / "opencode-stand-in"
    program.write_text(
        STAND_IN.format(python=sys.executable, notes=str(notes), delay=delay,
                        says_session=says_session),
        "utf-8",
    )  # fmt: skip
    program.chmod(0o755)
    repo = script_repo(tmp_path / "repo", {})
    config = (repo / "wavedeck.toml").read_text("utf-8")
    agent = f'preset = "{preset}"\nprogram = "{program}"\n'
    if preset == "generic":
        agent = f'command = ["{program}"]\n'
    lines = [line for line in config.splitlines() if not line.startswith("command = ")]
    text = "\n".join(lines).replace("[agent]\n", "[agent]\n" + agent, 1) + "\n"
    (repo / "wavedeck.toml").write_text(text, "utf-8")
    return notes


def _time(notes: Path, name: str) -> float:
    return float((notes / name).read_text())


async def _wave(repo: Path) -> Supervisor:
    """Wave 1 run to its agents' end; the supervisor, to ask how they ended."""
    sup = supervisor(repo)
    try:
        async with collecting(sup, stop_agents=True):
            await sup.start_wave(1)
            await wait_agents(sup, 1)
    finally:
        kill_agents(repo)
    return sup


@pytest.mark.timeout(60)
async def test_the_second_agent_starts_once_the_first_has_said_its_session(
    tmp_path: Path,
) -> None:
    notes = _repo(tmp_path, "opencode")
    sup = await _wave(tmp_path / "repo")
    assert sup.agent_state("w1-a1") == "succeeded"
    assert sup.agent_record("w1-a1").session_id == "ses_w1a1"
    assert _time(notes, "w1-a2.start") >= _time(notes, "w1-a1.session")


@pytest.mark.timeout(60)
async def test_the_generic_preset_starts_its_agents_at_once(tmp_path: Path) -> None:
    notes = _repo(tmp_path, "generic")
    await _wave(tmp_path / "repo")
    assert _time(notes, "w1-a2.start") < _time(notes, "w1-a1.session")


@pytest.mark.timeout(60)
async def test_a_session_never_said_holds_the_next_start_only_so_long_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(processes, "SESSION_WAIT_S", 0.5)
    notes = _repo(tmp_path, "opencode", delay=3.0, says_session=False)
    sup = supervisor(tmp_path / "repo")
    began = time.time()
    try:
        async with collecting(sup, stop_agents=True) as col:
            await sup.start_wave(1)
            await col.until(lambda evs: any(isinstance(e, Notice) and e.agent for e in evs))
            (notice,) = [e for e in col.events if isinstance(e, Notice) and e.agent]
            assert notice.agent == "w1-a1" and "no session recorded" in notice.message
            await wait_agents(sup, 1)
    finally:
        kill_agents(tmp_path / "repo")
    # w1-a2 started while w1-a1 still ran (3 s), once the shortened wait had passed.
    assert _time(notes, "w1-a2.start") < _time(notes, "w1-a1.start") + 3.0
    assert _time(notes, "w1-a2.start") >= began
