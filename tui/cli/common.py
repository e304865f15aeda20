"""What every ``wavedeck`` command shares: one exit status for "cannot start", and its message.

Exit status 2 means the command could not start or was given bad input (a folder that is not a
usable repository, a missing plan, a bad ``wavedeck.toml``, a second control room); it is printed
as ``wavedeck: <message naming the place>`` on stderr, never as a traceback. With ``--json`` the
same error is also printed on stdout as ``{"error": {"message": ..., "exit": 2}}`` so a script
reading stdout always gets JSON.

``stopping`` is how the headless commands (``run --no-ui``, ``follow-up``, ``review``) take
SIGTERM, SIGHUP and SIGINT: a stop event set, the signal recorded for the exit status 128+N.

``repo_problem`` is the check the control room and ``wavedeck run`` make before anything else: a
git working tree (not bare), with a first commit, on a branch, whose ``.wavedeck/`` can be written.
``load_run_inputs`` is what ``run``, ``review`` and ``attach`` read next: the configuration and
the checked plan, or exit 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from wavedeck.plan.safetext import neutralize
from wavedeck.plan.words import noun, plural

if TYPE_CHECKING:
    from wavedeck.agents.config import Config
    from wavedeck.plan.models import Plan

EXIT_CANNOT_START = 2

_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


@dataclass
class Stopping:
    """What ``stopping`` hands the command: the event a signal sets, and the signals received."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)
    received: list[int] = field(default_factory=list)


@contextlib.contextmanager
def stopping(on_signal: Callable[[], None] | None = None) -> Iterator[Stopping]:
    """While inside, SIGTERM/SIGHUP/SIGINT are recorded and set the stop event (``on_signal``
    runs first, at once); the handlers are removed on the way out. Needs a running loop."""
    loop = asyncio.get_running_loop()
    stopping = Stopping()

    def handle(signum: int) -> None:
        stopping.received.append(signum)
        if on_signal is not None:
            on_signal()
        stopping.stop.set()

    for sig in _SIGNALS:
        loop.add_signal_handler(sig, handle, sig)
    try:
        yield stopping
    finally:
        for sig in _SIGNALS:
            loop.remove_signal_handler(sig)


def error_json(message: str, **extra: object) -> str:
    """The JSON error object printed on stdout with ``--json`` (strings kept exactly)."""
    return json.dumps({"error": {"message": message, "exit": EXIT_CANNOT_START, **extra}})


def fail(message: str, *, as_json: bool = False) -> NoReturn:
    """Print ``message`` (and, with ``as_json``, its JSON object on stdout) and exit 2."""
    if as_json:
        click.echo(error_json(message))
    click.echo(f"wavedeck: {neutralize(message)}", err=True)
    sys.exit(EXIT_CANNOT_START)


class CannotStart(click.ClickException):
    """A ``ClickException`` that exits 2 and reads like every other wavedeck error."""

    exit_code = EXIT_CANNOT_START

    def show(self, file: object = None) -> None:
        click.echo(f"wavedeck: {neutralize(self.message)}", err=True)


def worktree_problem(root: Path) -> str | None:
    """Why ``root`` is not the top of a git working tree (a sentence naming it), or None.

    Read-only. The checks a new user meets first: a folder, a git repository at all, a working
    tree (not a bare repository), its top level.
    """
    from wavedeck.agents.git.errors import GitError
    from wavedeck.agents.git.repo import GitRepo

    if not root.is_dir():
        return f"{root}: no such folder"
    try:
        repo = GitRepo(root)
    except GitError as exc:
        if "work tree" in str(exc):
            return (
                f"{root} is a bare git repository (no working tree): run wavedeck in a clone "
                "with a working tree"
            )
        if "not a git repository" in str(exc):
            return f"{root} is not a git repository (wavedeck needs one: git init, then a commit)"
        return str(exc)  # git's own words (e.g. "detected dubious ownership")
    try:
        if repo.root != root.resolve():
            return (
                f"{root} is inside the repository {repo.root}: run wavedeck at its top level "
                f"(cd {repo.root})"
            )
    finally:
        repo.close()
    return None


def repo_problem(root: Path) -> str | None:
    """Why wavedeck cannot run waves in ``root`` (a sentence naming it), or None.

    Read-only: nothing is created. The checks, in the order a new user meets them: a git
    repository at all, a working tree (not a bare repository), a first commit, a branch checked
    out (a checkpoint moves a branch), and a ``.wavedeck/`` folder wavedeck can write.
    """
    from wavedeck.agents.git.errors import GitError
    from wavedeck.agents.git.repo import GitRepo

    problem = worktree_problem(root)
    if problem is not None:
        return problem
    repo = GitRepo(root)
    try:
        try:
            repo.head()
        except GitError:
            return (
                f"{repo.root}: the repository has no commit yet; make a first commit "
                "(git add -A && git commit -m start), then run wavedeck again"
            )
        if repo.branch() is None:
            return (
                f"{repo.root}: HEAD is detached; check out the branch the waves should commit "
                "to (git switch BRANCH), then run wavedeck again"
            )
    finally:
        repo.close()
    data = root / ".wavedeck"
    where = data if data.exists() else root
    if not os.access(where, os.W_OK | os.X_OK):
        return (
            f"{where}: not writable (wavedeck keeps its run state, logs and lock in "
            f"{data}); run it where you may write, or fix the permissions"
        )
    return None


def plan_file(repo: Path, plan_arg: str | None, configured: str | None) -> Path:
    """The plan to open: ``plan_arg`` (relative to where the user is) or ``plan = ...`` of
    ``wavedeck.toml`` (relative to the repository). Raises ``CannotStart`` naming the key when
    neither is given, or when the configured file does not exist (the user must know to edit
    ``wavedeck.toml``, not look for a file they never named)."""
    from wavedeck.agents.configread import CONFIG_NAME

    config_file = repo / CONFIG_NAME
    chosen = plan_arg or configured
    if not chosen:
        raise CannotStart(
            f"no plan given and no `plan = ...` in {config_file}: "
            "run `wavedeck PLAN.md` or set the plan in wavedeck.toml"
        )
    path = Path(chosen)
    if not path.is_absolute():
        path = (Path.cwd() if plan_arg else repo) / path
    if not plan_arg and not path.exists():
        raise CannotStart(
            f"{config_file}: plan = {json.dumps(configured)}: {path}: no such file "
            "(fix the key, or give the plan: `wavedeck PLAN.md`)"
        )
    return path


def load_run_inputs(repo: Path, plan_arg: str | None, as_json: bool) -> tuple[Config, Plan, Path]:
    """What a command running the plan needs: the repository's configuration, its plan
    (checked: no error finding, at least one wave) and the plan's path; else a clear message
    and exit 2 (with ``--json``, the error object too)."""

    def _fail(message: str) -> NoReturn:
        fail(message, as_json=as_json)

    from wavedeck.agents.configread import ConfigError, load_config
    from wavedeck.plan.checking.checks import run_checks
    from wavedeck.plan.errors import PlanError
    from wavedeck.plan.reading.loader import load_plan

    try:
        config = load_config(repo)
    except ConfigError as exc:
        _fail(str(exc))
    try:
        plan_path = plan_file(repo, plan_arg, config.plan)
    except CannotStart as exc:
        _fail(exc.message)
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
        _fail(
            f"the plan has {plural(len(errors), 'error')}: fix "
            f"{noun(len(errors), 'it', 'them')} (wavedeck plan check) before running"
        )
    if not result.plan.waves:
        _fail(f"{plan_path}: the plan has no waves")
    return config, result.plan, plan_path
