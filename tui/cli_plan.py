"""``wavedeck plan check`` and ``wavedeck plan show``: read a wave plan, report, print it.

Exit codes of ``plan check``: 0 no errors (warnings allowed), 1 at least one error, 2 the plan (or
the ``--repo`` folder) cannot be read at all. Errors go to stderr as ``PLAN: message`` (with
``--json`` also ``{"error": {"message", "line", "source"}}`` on stdout); a traceback is never
printed for bad input. ``--strict`` reads the reference format only. ``--repo`` hands the repo checks a ``RepoView`` built here (the plan
layer does no I/O): paths from ``git ls-files``, or a folder walk when DIR is not a git repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from plan.errors import PlanError
from plan.safetext import neutralize

if TYPE_CHECKING:
    from plan.loader import ParseResult


def _fail(source: str, message: str, as_json: bool = False, line: int | None = None) -> None:
    """An exit-2 failure: the message on stderr, and with ``--json`` an error object on stdout."""
    click.echo(neutralize(f"{source}: {message}"), err=True)
    if as_json:
        from plan.render import error_json

        click.echo(error_json(message, line, source))


def _load(ctx: click.Context, plan_file: str, strict: bool, as_json: bool) -> ParseResult:
    """The parsed plan, or exit 2 with the reason (and its line) reported."""
    from plan.loader import load_plan

    try:
        return load_plan(plan_file, strict=strict)
    except PlanError as exc:
        click.echo(neutralize(str(exc)), err=True)  # ``PLAN:LINE: message``
        if as_json:
            from plan.render import error_json

            click.echo(error_json(exc.message, exc.line, exc.source or plan_file))
        ctx.exit(2)
        raise  # not reached: ctx.exit raises


_STRICT_HELP = (
    "Read the reference format only ('## Wave N' over '### Agent N: title', issue tables), "
    "exactly as before other shapes were read."
)


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
@click.option("--strict", is_flag=True, help=_STRICT_HELP)
@click.pass_context
def check_command(
    ctx: click.Context, plan_file: str, repo_dir: str | None, as_json: bool, strict: bool
) -> None:
    """Check PLAN and print one finding per line: PLAN:LINE: LEVEL[CODE]: message.

    Exit status: 0 no errors, 1 at least one error, 2 the plan cannot be read (with --json, also
    {"error": {"message", "line", "source"}} on stdout).
    """
    from plan.checks import run_checks
    from plan.render import finding_lines, findings_json, summary_line

    result = _load(ctx, plan_file, strict, as_json)
    repo = None
    if repo_dir is not None:
        root = Path(repo_dir)
        if not root.is_dir():
            _fail(repo_dir, "--repo is not a folder", as_json)
            ctx.exit(2)
        from agents.repoview import repo_view

        repo = repo_view(root)
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
@click.option("--strict", is_flag=True, help=_STRICT_HELP)
@click.pass_context
def show_command(ctx: click.Context, plan_file: str, as_json: bool, strict: bool) -> None:
    """Show PLAN as a tree of waves, agents and issues (or as JSON with --json); each agent says
    the line it came from and how it was recognised."""
    from plan.render import finding_lines, plan_json, tree

    result = _load(ctx, plan_file, strict, as_json)
    if as_json:
        click.echo(plan_json(result.plan))
    else:
        for line in tree(result.plan):
            click.echo(line)
    # What the reader could not read is never silent, even here (``plan check`` has the rest).
    for line in finding_lines(plan_file, result.findings):
        click.echo(line, err=True)


COMMANDS: list[click.Command] = [plan_group]
