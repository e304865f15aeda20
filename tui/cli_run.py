"""``wavedeck run``, ``wavedeck status`` and ``wavedeck demo``: the engine from the command line.

``run --headless`` drives waves without the UI (start, wait for the agents, test, checkpoint, next)
and prints one line per event, or one JSON object per line with ``--json``. It exits 0 only when
every wave asked for is committed, 1 when a gate refused (the reason is printed), 2 for bad input
(config, plan, a second control room, a corrupt state file), and 143/129/130 on
SIGTERM/SIGHUP/SIGINT, leaving the agents running for the next control room to adopt.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

import click

from plan.safetext import neutralize

EXIT_ERROR = 2
_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


def _fail(message: str) -> NoReturn:
    click.echo(f"wavedeck: {neutralize(message)}", err=True)
    sys.exit(EXIT_ERROR)


def _load(repo: Path, plan_arg: str | None) -> tuple[Any, Any, Path]:
    """Config, plan and plan path, or a clear message and exit 2."""
    from agents.config import ConfigError, load_config
    from plan.checks import run_checks
    from plan.errors import PlanError
    from plan.loader import load_plan

    try:
        config = load_config(repo)
    except ConfigError as exc:
        _fail(str(exc))
    plan_name = plan_arg or config.plan
    if not plan_name:
        _fail('no plan: give PLAN or set plan = "..." in wavedeck.toml')
    plan_path = Path(plan_name)
    if not plan_path.is_absolute():
        plan_path = (Path.cwd() / plan_path) if plan_arg else (repo / plan_path)
    try:
        result = load_plan(plan_path)
    except PlanError as exc:
        _fail(str(exc))
    errors = [f for f in run_checks(result.plan, result.findings) if f.level == "error"]
    if errors:
        for finding in errors[:20]:
            click.echo(
                f"{plan_path}:{finding.line}: error[{finding.code}]: {neutralize(finding.message)}",
                err=True,
            )
        _fail(f"the plan has {len(errors)} error(s): fix them (wavedeck plan check) before running")
    if not result.plan.waves:
        _fail(f"{plan_path}: the plan has no waves")
    return config, result.plan, plan_path


def _choose_waves(plan: Any, sup: Any, wave: int | None, all_waves: bool) -> list[int]:
    numbers = [w.number for w in plan.waves]
    if wave is not None:
        if wave not in numbers:
            _fail(f"the plan has no wave {wave} (waves: {', '.join(map(str, numbers))})")
        return [wave]
    current = sup.current_wave
    if all_waves:
        return [n for n in numbers if n >= current]
    return [current]


@click.command("run")
@click.argument("plan", required=False)
@click.option("--headless", is_flag=True, help="Run without the UI, printing events.")
@click.option("--wave", type=int, default=None, help="Run only wave N (its gates still apply).")
@click.option("--all", "all_waves", is_flag=True, help="Run every remaining wave in order.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--accept-violations",
    is_flag=True,
    help="Accept every changed path outside the plan at checkpoints (recorded in the commit).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event on stdout.")
@click.option(
    "--stop-agents-on-signal",
    is_flag=True,
    help="On TERM/HUP/INT also stop the running agents (TERM, grace, KILL); by default they "
    "keep running for the next control room to adopt.",
)
@click.option(
    "--follow-up",
    "follow_up",
    nargs=2,
    type=str,
    default=None,
    metavar="AGENT MESSAGE",
    help="Send MESSAGE to an ended agent (resuming its CLI session: claude, codex), wait for "
    "it, and exit 0 when it succeeded. Starts no wave. Needs --headless.",
)
@click.option(
    "--repo",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=".",
    help="The repository (default: the current folder).",
)
def run_cmd(
    plan: str | None,
    headless: bool,
    wave: int | None,
    all_waves: bool,
    yes: bool,
    accept_violations: bool,
    as_json: bool,
    stop_agents_on_signal: bool,
    follow_up: tuple[str, str] | None,
    repo: Path,
) -> None:
    """Run the plan's waves: agents, tests between waves, one checkpoint commit per wave.

    Test commands are shell commands (from the plan or wavedeck.toml); they are shown before the
    run starts. Signals (TERM, HUP, INT) stop launching and leave running agents detached.
    """
    repo = repo.absolute()
    if follow_up is not None and not headless:
        _fail("--follow-up runs without the UI: add --headless (in the control room: key u)")
    if not headless:
        from tui.launch import open_control_room

        sys.exit(open_control_room(plan=plan, repo=str(repo)))
    if wave is not None and all_waves:
        _fail("--wave and --all cannot be combined")
    config, parsed, plan_path = _load(repo, plan)
    from agents.wave.supervisor import Supervisor, SupervisorError

    sup = Supervisor(repo, parsed, config, plan_path=plan_path)
    try:
        sup.peek()  # which wave is current depends on the run so far
    except SupervisorError as exc:
        _fail(str(exc))
    if follow_up is not None:
        sys.exit(asyncio.run(_follow_up(sup, follow_up[0], follow_up[1], as_json)))
    waves = _choose_waves(parsed, sup, wave, all_waves)
    commands = sup.test_commands()
    agents = sum(len(parsed.wave(n).agents) for n in waves)
    summary = (
        f"wavedeck: plan {plan_path.name}: wave(s) {', '.join(map(str, waves))} "
        f"({agents} agents); tests between waves (run with sh -c): "
        + (" ; ".join(commands) or "(none)")
    )
    click.echo(neutralize(summary), err=True)
    if not yes:
        if not sys.stdin.isatty():
            _fail("not a terminal: pass --yes to run without confirmation")
        if not click.confirm("Start?", default=False, err=True):
            sys.exit(1)
    sys.exit(asyncio.run(_run(sup, waves, accept_violations, as_json, stop_agents_on_signal)))


async def _run(
    sup: Any, waves: list[int], accept_violations: bool, as_json: bool, stop_agents: bool
) -> int:
    from agents.git.errors import GitError
    from agents.wave.headless import printer, run_waves
    from agents.wave.supervisor import SupervisorError

    stop = asyncio.Event()
    received: list[int] = []
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        received.append(signum)
        sup.launching = False  # stop launching at once, even in the middle of a wave start
        stop.set()

    for sig in _SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        code = await run_waves(
            sup,
            waves,
            printer(sys.stdout, as_json),
            accept_violations=accept_violations,
            stop=stop,
            stop_agents_on_stop=stop_agents,
        )
    except (SupervisorError, GitError, OSError) as exc:
        click.echo(f"wavedeck: {neutralize(str(exc))}", err=True)
        return EXIT_ERROR
    finally:
        for sig in _SIGNALS:
            loop.remove_signal_handler(sig)
    if received:
        name = signal.Signals(received[0]).name
        what = "running agents stopped" if stop_agents else "running agents keep running"
        click.echo(f"wavedeck: {name}: state saved; {what}", err=True)
        return 128 + received[0]
    return code if code is not None else 1


async def _follow_up(sup: Any, agent_id: str, message: str, as_json: bool) -> int:
    from agents.wave.headless import printer, run_follow_up
    from agents.wave.supervisor import SupervisorError

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    received: list[int] = []

    def on_signal(signum: int) -> None:
        received.append(signum)
        stop.set()

    for sig in _SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        code = await run_follow_up(sup, agent_id, message, printer(sys.stdout, as_json), stop=stop)
    except SupervisorError as exc:
        click.echo(f"wavedeck: {neutralize(str(exc))}", err=True)
        return EXIT_ERROR
    finally:
        for sig in _SIGNALS:
            loop.remove_signal_handler(sig)
    if received:
        return 128 + received[0]
    return code if code is not None else 1


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the state as JSON.")
@click.option(
    "--repo",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=".",
    help="The repository (default: the current folder).",
)
def status_cmd(as_json: bool, repo: Path) -> None:
    """Summarise the run recorded in .wavedeck/state.json: waves, agents, issues done."""
    from agents.state import StateError, StateStore

    store = StateStore(repo.absolute() / ".wavedeck")
    if not store.path.exists():
        _fail(f"no run recorded in {repo.absolute()} (no .wavedeck/state.json)")
    try:
        state = store.load()
    except StateError as exc:
        _fail(str(exc))
    from agents.presets import usage as spent

    issues_done = sum(len(a.issues_done) for a in state.agents.values())

    def wave_usage(key: str) -> Any:
        return spent.total(
            spent.of_record(a) for i, a in state.agents.items() if i.startswith(f"w{key}-")
        )

    if as_json:
        data = json.loads(state.model_dump_json())
        data["issues_done"] = issues_done
        # Usage summed per wave and in all (each agent's own is in agents.<id>).
        for key in data["waves"]:
            data["waves"][key]["usage"] = dataclasses.asdict(wave_usage(key))
        all_usage = spent.total(spent.of_record(a) for a in state.agents.values())
        data["usage"] = dataclasses.asdict(all_usage)
        click.echo(json.dumps(data, ensure_ascii=True))
        return
    click.echo(f"plan: {neutralize(state.plan_path or '?')}")
    for key in sorted(state.waves, key=lambda k: int(k) if k.isdigit() else 0):
        rec = state.waves[key]
        tests = "not run" if rec.tests is None else ("passed" if rec.tests.passed else "failed")
        commit = f" checkpoint {rec.checkpoint[:12]}" if rec.checkpoint else ""
        used = spent.describe(wave_usage(key))
        click.echo(
            f"wave {key}: {rec.state} (tests {tests}){commit}" + (f"; {used}" if used else "")
        )
        for agent_id in sorted(a for a in state.agents if a.startswith(f"w{key}-")):
            a = state.agents[agent_id]
            extra = f" marked done: {a.marked_done}" if a.marked_done else ""
            reason = f" ({a.reason})" if a.reason and not extra else ""
            used = spent.describe(spent.of_record(a))
            used = f", {used}" if used else ""
            session = f", session {a.session_id}" if a.session_id else ""
            click.echo(
                neutralize(
                    f"  {agent_id}: {a.state}, {len(a.issues_done)} issue(s) done, "
                    f"{a.launches} launch(es){used}{session}{reason}{extra}"
                )
            )
    click.echo(f"issues done: {issues_done}")


@click.command("demo")
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to create the sandbox (new or empty; default: a fresh temporary folder).",
)
@click.option(
    "--no-ui", is_flag=True, help="Only create the sandbox; do not open the control room."
)
@click.option("--fast", is_flag=True, help="Simulated agents finish in seconds.")
def demo_cmd(folder: Path | None, no_ui: bool, fast: bool) -> None:
    """Create a sandbox repository running the reference plan with simulated agents."""
    from agents.tools.demo import PLAN_IN_SANDBOX, DemoError, make_sandbox

    target = folder if folder is not None else Path(tempfile.mkdtemp(prefix="wavedeck-demo-"))
    try:
        root = make_sandbox(target, fast=fast)
    except DemoError as exc:
        _fail(str(exc))
    click.echo(str(root))
    if no_ui:
        click.echo(
            f"wavedeck: sandbox ready; run `cd {root} && wavedeck run --headless --all --yes`"
            " or `wavedeck` there",
            err=True,
        )
        return
    from tui.launch import open_control_room

    sys.exit(open_control_room(plan=str(root / PLAN_IN_SANDBOX), repo=str(root)))


COMMANDS: list[click.Command] = [run_cmd, status_cmd, demo_cmd]
