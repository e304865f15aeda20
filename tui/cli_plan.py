"""``wavedeck plan check`` and ``wavedeck plan show``: read a wave plan, report, print it.

Exit codes of ``plan check``: 0 no errors (warnings allowed), 1 at least one error, 2 the plan (or
the ``--repo`` folder) cannot be read at all. Errors go to stderr as ``PLAN: message``; a traceback
is never printed for bad input. ``--repo`` hands the repo checks a ``RepoView`` built here (the plan
layer does no I/O): paths from ``git ls-files``, or a folder walk when DIR is not a git repository.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import click

from plan.checkapi import RepoView
from plan.errors import PlanError
from plan.paths import is_safe_repo_path
from plan.safetext import neutralize

# Issue detail files read for predictions are small; anything larger is not read at all.
MAX_READ_BYTES = 1024 * 1024
_SKIP_DIRS = {".git", ".wavedeck", "node_modules", "__pycache__", ".venv"}


def _git_paths(root: Path) -> frozenset[str] | None:
    """Tracked and untracked-but-not-ignored paths, or ``None`` when ``root`` is not a git repo."""
    # Variables that would point git at another repository or index are dropped.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"}
    }
    env.update(GIT_OPTIONAL_LOCKS="0", GIT_TERMINAL_PROMPT="0")
    argv = [
        "git",
        "-c",
        "core.fsmonitor=false",
        "-C",
        str(root),
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
    ]
    try:
        done = subprocess.run(argv, capture_output=True, env=env, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    # Plan paths are valid UTF-8, so a name that is not can never match one: replace, not fail.
    names = done.stdout.decode("utf-8", errors="replace").split("\0")
    return frozenset(n for n in names if n)


def _walk_paths(root: Path) -> frozenset[str]:
    found: set[str] = set()
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
        rel = os.path.relpath(folder, root)
        for name in files:
            found.add(name if rel == "." else f"{rel}/{name}".replace(os.sep, "/"))
    return frozenset(found)


def make_reader(root: Path) -> Callable[[str], str | None]:
    """A ``read_text(path)`` that only reads small regular files really inside ``root``."""
    real_root = root.resolve()

    def read_text(path: str) -> str | None:
        if not is_safe_repo_path(path):
            return None
        target = real_root / path
        try:
            real = target.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        # A symlink may point anywhere: only follow it if it lands inside the repository.
        if real != real_root and real_root not in real.parents:
            return None
        try:
            info = real.stat()
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_READ_BYTES:
                return None
            with real.open("rb") as handle:
                return handle.read(MAX_READ_BYTES).decode("utf-8", errors="replace")
        except OSError:
            return None

    return read_text


def build_repo_view(root: Path) -> RepoView:
    """The repository at ``root`` as data for the repo checks."""
    paths = _git_paths(root)
    if paths is None:
        paths = _walk_paths(root)
    reader = make_reader(root)
    return RepoView(paths=paths, read_text=reader)


def _fail(source: str, message: str) -> None:
    click.echo(neutralize(f"{source}: {message}"), err=True)


@click.group("plan", context_settings={"help_option_names": ["-h", "--help"]})
def plan_group() -> None:
    """Read, check and show a wave plan."""


@plan_group.command("check")
@click.argument("plan_file", metavar="PLAN", type=click.Path(dir_okay=True, path_type=str))
@click.option(
    "--repo",
    "repo_dir",
    type=click.Path(path_type=str),
    default=None,
    help="Also check the plan against this repository (missing files, predicted overlaps).",
)
@click.option("--json", "as_json", is_flag=True, help="Print findings as one JSON object.")
@click.pass_context
def check_command(ctx: click.Context, plan_file: str, repo_dir: str | None, as_json: bool) -> None:
    """Check PLAN and print one finding per line: PLAN:LINE: LEVEL[CODE]: message.

    Exit status: 0 no errors, 1 at least one error, 2 the plan cannot be read.
    """
    from plan.checks import run_checks
    from plan.loader import load_plan
    from plan.render import finding_lines, findings_json, summary_line

    try:
        result = load_plan(plan_file)
    except PlanError as exc:
        click.echo(neutralize(str(exc)), err=True)
        ctx.exit(2)
    repo = None
    if repo_dir is not None:
        root = Path(repo_dir)
        if not root.is_dir():
            _fail(repo_dir, "--repo is not a folder")
            ctx.exit(2)
        repo = build_repo_view(root)
    findings = run_checks(result.plan, result.findings, repo)
    if as_json:
        click.echo(findings_json(findings))
    else:
        for line in finding_lines(plan_file, findings):
            click.echo(line)
        click.echo(neutralize(f"{plan_file}: {summary_line(findings)}"), err=True)
    ctx.exit(1 if any(f.level == "error" for f in findings) else 0)


@plan_group.command("show")
@click.argument("plan_file", metavar="PLAN", type=click.Path(dir_okay=True, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the normalised plan as JSON.")
@click.pass_context
def show_command(ctx: click.Context, plan_file: str, as_json: bool) -> None:
    """Show PLAN as a tree of waves, agents and issues (or as JSON with --json)."""
    from plan.loader import load_plan
    from plan.render import finding_lines, plan_json, tree

    try:
        result = load_plan(plan_file)
    except PlanError as exc:
        click.echo(neutralize(str(exc)), err=True)
        ctx.exit(2)
    if as_json:
        click.echo(plan_json(result.plan))
    else:
        for line in tree(result.plan):
            click.echo(line)
    # What the reader could not read is never silent, even here (``plan check`` has the rest).
    for line in finding_lines(plan_file, result.findings):
        click.echo(line, err=True)


COMMANDS: list[click.Command] = [plan_group]
