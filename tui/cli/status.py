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
from typing import Any

import click

from wavedeck.plan.safetext import neutralize
from wavedeck.tui.cli.common import fail


def _issues_of(plan_path: str | None, repo: Path) -> dict[str, list[str]] | None:
    """Each agent's issue ids from the run's plan, or None when it cannot be read."""
    if not plan_path:
        return None
    from wavedeck.plan.errors import PlanError
    from wavedeck.plan.reading.loader import load_plan

    path = Path(plan_path)
    try:
        plan = load_plan(path if path.is_absolute() else repo / path).plan
    except (PlanError, OSError):
        return None
    return {a.id: [i.id for i in a.issues] for a in plan.agents}


def _wave_key(key: str) -> int:
    return int(key) if key.isdigit() else 0


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

    agents = {s.agent: s for s in observe(state, _issues_of(state.plan_path, root))}
    issues_done = sum(len(s.issues_done) for s in agents.values())

    def wave_usage(key: str) -> Any:  # agent presets: what the agents' CLIs reported
        records = state.agents.items()
        return spent.total(spent.of_record(a) for i, a in records if i.startswith(f"w{key}-"))

    if as_json:
        data: dict[str, Any] = json.loads(state.model_dump_json())
        for agent_id, seen in agents.items():
            data["agents"][agent_id].update(seen.as_dict())
        data["issues_done"] = issues_done
        # Usage summed per wave and in all (each agent's own is in agents.<id>).
        for key in data["waves"]:
            data["waves"][key]["usage"] = dataclasses.asdict(wave_usage(key))
        all_usage = spent.total(spent.of_record(a) for a in state.agents.values())
        data["usage"] = dataclasses.asdict(all_usage)
        click.echo(json.dumps(data, ensure_ascii=True))
        return
    click.echo(f"plan: {neutralize(state.plan_path or '?')}")
    for key in sorted(state.waves, key=_wave_key):
        rec = state.waves[key]
        tests = "not run" if rec.tests is None else ("passed" if rec.tests.passed else "failed")
        commit = f" checkpoint {rec.checkpoint[:12]}" if rec.checkpoint else ""
        mine = [s for a, s in agents.items() if a.startswith(f"w{key}-")]
        wave_state = rec.state
        if rec.state == "running" and mine and all(s.state != "running" for s in mine):
            wave_state = "running (every agent has ended: open wavedeck to test and commit)"
        used = spent.describe(wave_usage(key))
        used = f"; {used}" if used else ""
        click.echo(f"wave {key}: {wave_state} (tests {tests}){commit}{used}")
        for seen in mine:
            extra = f" marked done: {seen.marked_done}" if seen.marked_done else ""
            reason = f" ({seen.reason})" if seen.reason and not extra else ""
            note = f" [{seen.note}]" if seen.note and seen.state != seen.recorded else ""
            rec = state.agents.get(seen.agent)
            used = spent.describe(spent.of_record(rec)) if rec is not None else ""
            used = f", {used}" if used else ""
            session = f", session {rec.session_id}" if rec is not None and rec.session_id else ""
            click.echo(
                neutralize(
                    f"  {seen.agent}: {seen.state}, {len(seen.issues_done)} issue(s) done, "
                    f"{seen.launches} launch(es){used}{session}{reason}{extra}{note}"
                )
            )
    click.echo(f"issues done: {issues_done}")


COMMANDS: list[click.Command] = [status_cmd]
