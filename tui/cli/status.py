"""``wavedeck status [--json] [--repo DIR]``: the run recorded in ``.wavedeck/state.json``, now.

Agents the state calls running are looked at (process, exit file: ``wavedeck.agents.tools.status``), so a
run whose control room was killed shows what its agents did since. Read-only: it takes no lock
and writes nothing, beside a running control room or not. Exit 0 with a summary, 2 when there is
no run to read (with ``--json``, an ``{"error": ...}`` object on stdout too).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from wavedeck.plan.safetext import neutralize
from wavedeck.tui.cli.common import fail

if TYPE_CHECKING:
    from wavedeck.agents.kinds import WaveState
    from wavedeck.agents.presets.usage import UsageTotal
    from wavedeck.agents.state import AgentRecord, RunState
    from wavedeck.agents.tools.status import AgentStatus
    from wavedeck.plan.models import Plan


def _plan_of(plan_path: str | None, repo: Path) -> Plan | None:
    """The run's plan, or None when it cannot be read."""
    if not plan_path:
        return None
    from wavedeck.plan.errors import PlanError
    from wavedeck.plan.reading.loader import load_plan

    path = Path(plan_path)
    try:
        return load_plan(path if path.is_absolute() else repo / path).plan
    except (PlanError, OSError):
        return None


def _wave_states(plan: Plan | None, state: RunState) -> dict[int, WaveState | None]:
    """Each recorded wave's state, derived as the control room derives it (``gates``); from its
    own facts alone when the plan cannot be read (None: not started)."""
    from wavedeck.agents.wave import gates

    if plan is not None:
        views = gates.views_of(plan, state)
        known = {w.number for w in plan.waves}
        return {n: gates.wave_state(plan, views, n) if n in known else None for n in state.waves}
    return {
        n: gates.started_state(
            gates.WaveView(
                n,
                started=rec.base_commit is not None,
                committed=rec.checkpoint is not None,
                tests_passed=rec.tests.passed if rec.tests is not None else None,
            )
        )
        for n, rec in state.waves.items()
    }


def _agent_line(seen: AgentStatus, agent: AgentRecord | None) -> str:
    from wavedeck.agents.presets import usage as spent

    extra = f" marked done: {seen.marked_done}" if seen.marked_done else ""
    reason = f" ({seen.reason})" if seen.reason and not extra else ""
    note = f" [{seen.note}]" if seen.note and seen.state != seen.recorded else ""
    used = spent.describe(spent.of_record(agent)) if agent is not None else ""
    used = f", {used}" if used else ""
    session = f", session {agent.session_id}" if agent and agent.session_id else ""
    return neutralize(
        f"  {seen.agent}: {seen.state}, {len(seen.issues_done)} issue(s) done, "
        f"{seen.launches} launch(es){used}{session}{reason}{extra}{note}"
    )


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the state as JSON.")
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    help="The repository (default: the current folder).",
)
def status_cmd(as_json: bool, repo: Path) -> None:
    """Summarise the run recorded in .wavedeck/state.json: waves, agents, issues done.

    Agents recorded as running are checked (their process, their exit file), so the summary is
    current even when the control room that started them is gone. Nothing is changed.
    """
    from wavedeck.agents.state import StateError, StateStore
    from wavedeck.agents.tools.status import observe

    root = repo.absolute()
    store = StateStore(root / ".wavedeck")
    if not root.is_dir():
        fail(f"{root}: no such folder", as_json=as_json)
    if not store.path.exists():
        fail(f"no run recorded in {root} (no .wavedeck/state.json)", as_json=as_json)
    try:
        state = store.load()
    except StateError as exc:
        fail(str(exc), as_json=as_json)
    from wavedeck.agents.presets import usage as spent

    plan = _plan_of(state.plan_path, root)
    issues = {a.id: [i.id for i in a.issues] for a in plan.agents} if plan is not None else None
    agents = {s.agent: s for s in observe(state, issues)}
    issues_done = sum(len(s.issues_done) for s in agents.values())
    # Each agent's wave: its record's (the plan's, for records written before they had one).
    planned = {a.id: a.wave for a in plan.agents} if plan is not None else {}
    wave_of = {
        a: rec.wave if rec.wave is not None else planned.get(a) for a, rec in state.agents.items()
    }
    states = _wave_states(plan, state)

    def wave_usage(n: int) -> UsageTotal:  # agent presets: what the agents' CLIs reported
        records = state.agents.items()
        return spent.total(spent.of_record(a) for i, a in records if wave_of[i] == n)

    if as_json:
        data: dict[str, Any] = state.model_dump()  # wave numbers stay ints until json.dumps
        for agent_id, seen in agents.items():
            data["agents"][agent_id].update(seen.as_dict())
        data["issues_done"] = issues_done
        # Each wave's derived state, and usage summed per wave and in all (each agent's own is
        # in agents.<id>).
        for n, derived in states.items():
            data["waves"][n]["state"] = derived or "not started"
            data["waves"][n]["usage"] = dataclasses.asdict(wave_usage(n))
        all_usage = spent.total(spent.of_record(a) for a in state.agents.values())
        data["usage"] = dataclasses.asdict(all_usage)
        click.echo(json.dumps(data, ensure_ascii=True))
        return
    click.echo(f"plan: {neutralize(state.plan_path or '?')}")
    for n in sorted(state.waves):
        rec = state.waves[n]
        tests = "not run" if rec.tests is None else ("passed" if rec.tests.passed else "failed")
        commit = f" checkpoint {rec.checkpoint[:12]}" if rec.checkpoint else ""
        mine = [s for a, s in agents.items() if wave_of.get(a) == n]
        shown: str = states[n] or "not started"
        if shown == "running" and mine and all(s.state != "running" for s in mine):
            shown = "running (every agent has ended: open wavedeck to test and commit)"
        used = spent.describe(wave_usage(n))
        used = f"; {used}" if used else ""
        click.echo(f"wave {n}: {shown} (tests {tests}){commit}{used}")
        for seen in mine:
            click.echo(_agent_line(seen, state.agents.get(seen.agent)))
    unknown = [s for a, s in agents.items() if wave_of.get(a) not in state.waves]
    if unknown:  # a record of no wave the run knows (its plan unreadable): still shown
        click.echo("agents of no recorded wave:")
        for seen in unknown:
            click.echo(_agent_line(seen, state.agents.get(seen.agent)))
    click.echo(f"issues done: {issues_done}")


COMMANDS: list[click.Command] = [status_cmd]
