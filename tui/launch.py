"""Opening the control room from the command line (``wavedeck [PLAN]`` and ``wavedeck demo``).

Loads the config and plan, opens a ``Supervisor`` (which re-attaches to agents still running),
runs the Textual app in the same event loop, and closes the supervisor when the app ends —
leaving agents running unless the operator chose to stop them. Everything that can stop the
control room from starting (not a usable repository, no plan, a bad ``wavedeck.toml``, a second
control room, no terminal to draw on) is checked before the UI opens and ends in
``CannotStart``: a message naming the place and exit status 2, as ``wavedeck run`` does; never a
traceback.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import click

from wavedeck.tui.cli.common import CannotStart, plan_file, repo_problem

NOT_A_TERMINAL = "not a terminal; use `run --headless`"


def has_terminal() -> bool:
    """Standard input and the standard error the control room draws on (Textual writes there)
    are both a terminal."""
    return os.isatty(0) and os.isatty(2)


def _no_terminal(repo: Path) -> CannotStart:
    """The refusal without a terminal; a second control room is still named first (the
    better reason, and what the operator must deal with either way)."""
    from wavedeck.agents.state import AlreadyRunning, StateStore

    if (repo / ".wavedeck").is_dir():
        store = StateStore(repo / ".wavedeck")
        try:
            store.lock()
        except AlreadyRunning as exc:
            return CannotStart(f"already running: {exc}")
        except OSError:
            pass  # unwritable: the terminal is what this run lacks first
        finally:
            store.unlock()
    return CannotStart(
        f"{NOT_A_TERMINAL} to run waves without the control room (it needs a terminal on "
        "standard input and standard error)"
    )


async def _run(repo: Path, plan_path: Path, sandbox: bool = False) -> int:
    from wavedeck.agents.configread import CONFIG_NAME, ConfigError, load_config
    from wavedeck.agents.git.errors import GitError
    from wavedeck.agents.wave.supervisor import Supervisor, SupervisorError
    from wavedeck.plan.errors import PlanError
    from wavedeck.plan.reading.loader import load_plan
    from wavedeck.tui.app import WavedeckApp
    from wavedeck.tui.keys import keymap_from_config

    try:
        config = load_config(repo)
        keymap = keymap_from_config(config.keys, repo / CONFIG_NAME)
        plan = load_plan(plan_path).plan
    except (ConfigError, PlanError) as exc:
        raise CannotStart(str(exc)) from None
    if not plan.waves:
        raise CannotStart(f"{plan_path}: the plan has no waves")
    if not has_terminal():  # Textual would draw into a file and wait for keys for ever
        raise _no_terminal(repo)
    try:
        supervisor = Supervisor(repo, plan, config, plan_path=plan_path)
        await supervisor.open()
    except (SupervisorError, GitError, OSError) as exc:
        raise CannotStart(str(exc)) from None
    app = WavedeckApp(plan, supervisor, keymap=keymap, sandbox=repo if sandbox else None)
    try:
        code = await app.run_async()
    finally:
        if not app.engine_closed:
            await supervisor.close(stop_agents=False)
        if (farewell := app.farewell()) is not None:
            click.echo(farewell, err=True)
    return int(code or 0)


def open_control_room(
    plan: str | Path | None = None, repo: str | Path | None = None, *, sandbox: bool = False
) -> int:
    """Open the Textual control room on ``repo`` (default: the current folder) for ``plan``
    (default: the plan named in ``wavedeck.toml``); returns the process exit code.
    ``sandbox``: ``repo`` is the demo's sandbox (the header and the goodbye say where it is)."""
    from wavedeck.agents.configread import ConfigError, load_config

    root = Path(repo or Path.cwd()).absolute()
    problem = repo_problem(root)
    if problem is not None:
        raise CannotStart(problem)
    try:
        configured = load_config(root).plan
    except ConfigError as exc:
        raise CannotStart(str(exc)) from None
    plan_path = plan_file(root, str(plan) if plan else None, configured)
    return asyncio.run(_run(root, plan_path, sandbox))
