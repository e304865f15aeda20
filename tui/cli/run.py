"""``wavedeck run``: the engine from the command line.

``run --headless`` drives waves without the UI (start, wait for the agents, test, checkpoint, next)
and prints one line per event, or one JSON object per line with ``--json``. It exits 0 when every
wave asked for is committed (saying "plan complete" after the last one, or that nothing was left
to do), 1 when a gate refused (the reason is printed; with ``--json`` on stderr too), 2 when it cannot start (not a usable
repository, config, plan, a second control room, a corrupt state file; with ``--json`` also an
``{"error": ...}`` object on stdout), and 143/129/130 on SIGTERM/SIGHUP/SIGINT, leaving the agents
running for the next control room to adopt. A closed stdout (``--json | head``) ends the
printing quietly, not the run (``wavedeck.agents.wave.headless.printer``).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from wavedeck.plan.safetext import neutralize
from wavedeck.plan.words import all_committed, noun, plural
from wavedeck.tui.cli.common import (
    EXIT_CANNOT_START,
    fail,
    load_run_inputs,
    repo_problem,
    stopping,
)

if TYPE_CHECKING:
    from wavedeck.agents.kinds import RefusalCode
    from wavedeck.agents.wave.supervisor import Supervisor
    from wavedeck.plan.models import Plan

EXIT_ERROR = EXIT_CANNOT_START
# The ways out of a refusal, as the command line offers them (the control room names its keys).
HINTS: dict[RefusalCode, str] = {
    "stray-paths": (
        "accept each (`wavedeck run --headless --accept-violations`, recorded in the "
        "checkpoint; or `v` in the control room) or revert it (`v`, then revert)"
    ),
    "operator-conflict": (
        "in the control room (c, the checkpoint) accept a file to commit it whole, your changes "
        "included, or revert it (x) to put it back as you left it; --accept-violations does not "
        "accept these"
    ),
    "git-tampered": (
        "review each one in the control room (`v`: accept keeps it, revert undoes it), or put "
        "it back yourself (`git config --unset ...`) and run again; --accept-violations never "
        "accepts these"
    ),
    "tamper-not-revertible": "put it back yourself, then keep it in the control room (`v`)",
    "review-unanswered": (
        "wait for the agent's run to end (`wavedeck status`), or approve it anyway "
        "(`wavedeck review --wave N --approve AGENT`, or `a` in the review)"
    ),
    "review-findings-open": (
        "forward them to their agent or dismiss them (`wavedeck review --wave N --forward ID` / "
        "`--dismiss ID`; `F` / `D` in the review)"
    ),
    "head-rewritten": (
        "switch back to the branch the wave started on (`git switch <branch>`), or restore "
        "it (`git reflog` shows where it was)"
    ),
    "head-moved": (
        "adopt them with `wavedeck run --headless --adopt-head` (each file is committed as it "
        "is now, on top of your commit: see `git diff HEAD -- <file>`), or in the control room "
        "(c) accept each"
    ),
    "start-tree-missing": (
        "set your own files aside (`git stash push -- <file>`, `git stash pop` after the "
        "checkpoint), or in the control room (c, the checkpoint) accept a file to commit it "
        "whole; --accept-violations does not accept these"
    ),
}


def _choose_waves(
    plan: Plan, sup: Supervisor, wave: int | None, all_waves: bool, as_json: bool
) -> list[int]:
    numbers = [w.number for w in plan.waves]
    if wave is not None:
        if wave not in numbers:
            fail(
                f"the plan has no wave {wave} (waves: {', '.join(map(str, numbers))})",
                as_json=as_json,
            )
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
@click.option(
    "--adopt-head",
    is_flag=True,
    help="When you committed during the wave, commit the files both your commits and the wave "
    "changed as they are now, on top of your commits (never one that lacks your commit's "
    "change).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event on stdout.")
@click.option(
    "--review",
    is_flag=True,
    help="Run the [review] reviewer agents once a wave's agents have ended; a finding of "
    "severity high or above holds the checkpoint until forwarded or dismissed "
    "(wavedeck review).",
)
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
    adopt_head: bool,
    as_json: bool,
    review: bool,
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
        fail(
            "--follow-up runs without the UI: add --headless (in the control room: key u)",
            as_json=as_json,
        )
    if not headless:
        from wavedeck.tui.launch import open_control_room

        sys.exit(open_control_room(plan=plan, repo=str(repo)))
    if wave is not None and all_waves:
        fail("--wave and --all cannot be combined", as_json=as_json)
    problem = repo_problem(repo)
    if problem is not None:
        fail(problem, as_json=as_json)
    config, parsed, plan_path = load_run_inputs(repo, plan, as_json)
    if review and config.review.preset is None:
        fail(
            '--review needs a reviewer: set [review] preset = "..." in wavedeck.toml',
            as_json=as_json,
        )
    from wavedeck.agents.git.errors import GitError
    from wavedeck.agents.wave.supervisor import Supervisor, SupervisorError

    try:
        sup = Supervisor(repo, parsed, config, plan_path=plan_path)
        sup.peek()  # which wave is current depends on the run so far
    except (SupervisorError, GitError, OSError) as exc:
        fail(str(exc), as_json=as_json)
    if follow_up is not None:
        sys.exit(asyncio.run(_follow_up(sup, follow_up[0], follow_up[1], as_json)))
    waves = _choose_waves(parsed, sup, wave, all_waves, as_json)
    left = [n for n in waves if not _committed(sup, n)]
    if not left:
        which = f"wave {waves[0]} is" if wave is not None else "every wave of the plan is"
        click.echo(f"wavedeck: {which} already committed: nothing left to do", err=True)
        sys.exit(0)
    _refuse_unconfigured(sup, left[0], as_json)
    commands = sup.test_commands()
    agents = sum(len(parsed.wave(n).agents) for n in waves)
    summary = (
        f"wavedeck: plan {plan_path.name}: {noun(len(waves), 'wave')} "
        f"{', '.join(map(str, waves))} ({plural(agents, 'agent')}); tests between waves "
        "(run with sh -c): " + (" ; ".join(commands) or "(none)")
    )
    click.echo(neutralize(summary), err=True)
    if not yes:
        if not sys.stdin.isatty():
            fail("not a terminal: pass --yes to run without confirmation", as_json=as_json)
        if not click.confirm("Start?", default=False, err=True):
            sys.exit(1)
    code = asyncio.run(
        _run(
            sup,
            waves,
            (accept_violations, adopt_head),
            as_json,
            stop_agents_on_signal,
            review=review,
        )
    )
    if code == 0 and all(_committed(sup, w.number) for w in parsed.waves):
        click.echo(f"wavedeck: plan complete: {all_committed(len(parsed.waves))}", err=True)
    sys.exit(code)


def _refuse_unconfigured(sup: Supervisor, wave: int, as_json: bool) -> None:
    """Exit 2 before any agent starts when the run lacks what every wave needs: an agent
    chosen in wavedeck.toml (never the simulated agent by default) and test commands."""
    from wavedeck.agents.kinds import Refusal
    from wavedeck.agents.presets import clis_on_path
    from wavedeck.agents.state import AlreadyRunning
    from wavedeck.agents.wave.refusals import describe

    store = sup.ctx.store
    try:  # a second control room is the first thing to say (the run would stop there)
        store.lock()
    except AlreadyRunning as exc:
        fail(f"already running: {exc}", as_json=as_json)
    finally:
        store.unlock()
    if not sup.config.agent.chosen:
        refused = Refusal("no-agent", wave, programs=clis_on_path())
    elif not sup.test_commands():
        refused = Refusal("no-test-commands", wave)
    else:
        return
    text = describe(refused, HINTS)
    if as_json:
        from wavedeck.tui.cli.common import error_json

        click.echo(error_json(text, code=refused.code))
    first, *rest = text.split("\n")
    click.echo(f"wavedeck: {neutralize(first)}", err=True)
    for line in rest:
        click.echo(f"  {neutralize(line)}", err=True)
    sys.exit(EXIT_ERROR)


def _committed(sup: Supervisor, n: int) -> bool:
    return sup.wave_state(n) == "committed"


async def _run(
    sup: Supervisor,
    waves: list[int],
    accepting: tuple[bool, bool],
    as_json: bool,
    stop_agents: bool,
    *,
    review: bool = False,
) -> int:
    """Run ``waves`` headless; ``accepting``: (--accept-violations, --adopt-head)."""
    from wavedeck.agents.git.errors import GitError
    from wavedeck.agents.wave.headless import printer, run_waves
    from wavedeck.agents.wave.supervisor import SupervisorError

    def stop_launching() -> None:
        sup.launching = False  # stop launching at once, even in the middle of a wave start

    with stopping(stop_launching) as stopped:
        try:
            code = await run_waves(
                sup,
                waves,
                printer(sys.stdout, as_json, HINTS, errors=sys.stderr),
                accept_violations=accepting[0],
                adopt_head=accepting[1],
                stop=stopped.stop,
                stop_agents_on_stop=stop_agents,
                review=review,
            )
        except (SupervisorError, GitError, OSError) as exc:
            from wavedeck.tui.cli.common import error_json

            # Best effort: the error may be that these very streams cannot be written.
            with contextlib.suppress(OSError):
                if as_json:
                    click.echo(error_json(str(exc)))
            with contextlib.suppress(OSError):
                click.echo(f"wavedeck: {neutralize(str(exc))}", err=True)
            return EXIT_ERROR
    received = stopped.received
    if received:
        name = signal.Signals(received[0]).name
        what = "running agents stopped" if stop_agents else "running agents keep running"
        click.echo(f"wavedeck: {name}: state saved; {what}", err=True)
        return 128 + received[0]
    return code if code is not None else 1


async def _follow_up(sup: Supervisor, agent_id: str, message: str, as_json: bool) -> int:
    from wavedeck.agents.wave.headless import printer, run_follow_up
    from wavedeck.agents.wave.supervisor import SupervisorError

    with stopping() as stopped:
        try:
            code = await run_follow_up(
                sup,
                agent_id,
                message,
                printer(sys.stdout, as_json, HINTS, errors=sys.stderr),
                stop=stopped.stop,
            )
        except SupervisorError as exc:
            click.echo(f"wavedeck: {neutralize(str(exc))}", err=True)
            return EXIT_ERROR
    received = stopped.received
    if received:
        return 128 + received[0]
    return code if code is not None else 1


COMMANDS: list[click.Command] = [run_cmd]
