"""``wavedeck plan check``, ``plan show`` and ``plan make``: read, report, print, write a plan.

Exit codes of ``plan check``: 0 no errors (warnings allowed), 1 at least one error, 2 the plan (or
the ``--repo`` folder) cannot be read at all. Errors go to stderr as ``PLAN: message`` (with
``--json`` also ``{"error": {"message", "line", "source"}}`` on stdout); a traceback is never
printed for bad input. ``--strict`` reads the reference format only. A ``.yaml``/``.yml`` PLAN is read
as a Scout-and-Wave manifest (``wavedeck.plan.reading.saw``). ``--repo`` hands the repo checks a ``RepoView`` built here (the plan
layer does no I/O): paths from ``git ls-files``, or a folder walk when DIR is not a git repository.
``plan make`` plans issues (``wavedeck.plan.making.planner``) and checks what it writes (``wavedeck.agents.replan``); its exit
codes: 0 the made plan has no error, 1 no plan satisfies the limits (or it has errors), 2 unreadable
input.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from wavedeck.plan.errors import PlanError
from wavedeck.plan.safetext import neutralize

if TYPE_CHECKING:
    from wavedeck.plan.reading.parser import ParseResult


def _fail(source: str, message: str, as_json: bool = False, line: int | None = None) -> None:
    """An exit-2 failure: the message on stderr, and with ``--json`` an error object on stdout."""
    click.echo(neutralize(f"{source}: {message}"), err=True)
    if as_json:
        from wavedeck.plan.render import error_json

        click.echo(error_json(message, line, source))


def _make_failed(
    ctx: click.Context,
    source: str,
    problems: list[str],
    code: int,
    as_json: bool,
    line: int | None = None,
) -> None:
    """``plan make`` failed: each problem on stderr and, with ``--json``, one error object on
    stdout (as every ``--json`` command prints one): message, line, source, exit, problems."""
    for problem in problems:
        click.echo(neutralize(f"{source}: {problem}"), err=True)
    if as_json:
        click.echo(_error_object(source, problems, code, line))
    ctx.exit(code)


def _error_object(source: str, problems: list[str], code: int, line: int | None) -> str:
    from wavedeck.plan.render import safe_json

    error = {"message": "; ".join(problems), "line": line, "source": source, "exit": code}
    return safe_json({"error": {**error, "problems": problems}})


def _load(ctx: click.Context, plan_file: str, strict: bool, as_json: bool) -> ParseResult:
    """The parsed plan, or exit 2 with the reason (and its line) reported."""
    from wavedeck.plan.reading.loader import load_plan

    try:
        return load_plan(plan_file, strict=strict)
    except PlanError as exc:
        click.echo(neutralize(str(exc)), err=True)  # ``PLAN:LINE: message``
        if as_json:
            from wavedeck.plan.render import error_json

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
    """Check PLAN (a wave plan, or a Scout-and-Wave IMPL doc in YAML or Markdown) and print one
    finding per line: PLAN:LINE: LEVEL[CODE]: message.

    Exit status: 0 no errors, 1 at least one error, 2 the plan cannot be read (with --json, also
    {"error": {"message", "line", "source"}} on stdout).
    """
    from wavedeck.plan.checking.checks import run_checks
    from wavedeck.plan.render import finding_lines, findings_json, summary_line

    result = _load(ctx, plan_file, strict, as_json)
    repo = None
    if repo_dir is not None:
        root = Path(repo_dir)
        if not root.is_dir():
            _fail(repo_dir, "--repo is not a folder", as_json)
            ctx.exit(2)
        from wavedeck.agents.repoview import repo_view

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
    the line it came from and how it was recognised. A Scout-and-Wave IMPL doc is named as such,
    with its gates and the SAW conventions wavedeck reads but does not act on."""
    from wavedeck.plan.render import finding_lines, plan_json, tree

    result = _load(ctx, plan_file, strict, as_json)
    if as_json:
        click.echo(plan_json(result.plan))
    else:
        for line in tree(result.plan):
            click.echo(line)
    # What the reader could not read is never silent, even here (``plan check`` has the rest).
    for line in finding_lines(plan_file, result.findings):
        click.echo(line, err=True)


@plan_group.command("make")
@click.option(
    "--repo",
    "repo_dir",
    required=True,
    type=click.Path(path_type=str),
    help="The repository: its issue files, fix plans and paths.",
)
@click.option(
    "--from",
    "from_plan",
    type=click.Path(path_type=str),
    default=None,
    help="Re-plan the issues of this plan (its rules and test commands are kept).",
)
@click.option(
    "--issues",
    "issues_glob",
    default=None,
    help="Plan the issues whose files match this repo-relative glob (issues/issue-*.md).",
)
@click.option(
    "--max-agents",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Agents per wave.",
)
@click.option(
    "--max-waves", type=click.IntRange(min=1), default=None, help="Fail if more waves are needed."
)
@click.option(
    "--max-issues",
    type=click.IntRange(min=1),
    default=None,
    help="Issues per agent in a wave (a larger file group is split across waves).",
)
@click.option("--output", "-o", type=click.Path(path_type=str), default=None, help="Write here.")
@click.option("--json", "as_json", is_flag=True, help="Print the made waves as JSON.")
@click.option("--explain", is_flag=True, help="Say why: file groups, dependencies, bounds.")
@click.pass_context
def make_command(
    ctx: click.Context,
    repo_dir: str,
    from_plan: str | None,
    issues_glob: str | None,
    max_agents: int,
    max_waves: int | None,
    max_issues: int | None,
    output: str | None,
    as_json: bool,
    explain: bool,
) -> None:
    """Write a wave plan with no predicted overlap, from a plan's issues or issue files.

    Exit status: 0 the plan passes plan check --repo, 1 no plan satisfies the rules (or the
    made plan has errors, listed), 2 the input cannot be read.
    """
    from wavedeck.agents.replan import context_from, make_plan_text
    from wavedeck.agents.repoview import repo_view
    from wavedeck.plan.making.inputs import specs_from_files, specs_from_plan
    from wavedeck.plan.making.model import MakeError, MakeOptions
    from wavedeck.plan.making.render import RenderContext, explain_lines, made_dict
    from wavedeck.plan.reading.loader import load_plan
    from wavedeck.plan.render import finding_lines, safe_json

    if (from_plan is None) == (issues_glob is None):
        _make_failed(
            ctx, "plan make", ["give exactly one of --from PLAN and --issues GLOB"], 2, as_json
        )
    root = Path(repo_dir)
    if not root.is_dir():
        _make_failed(ctx, repo_dir, ["--repo is not a folder"], 2, as_json)
    if (
        output is not None
        and from_plan is not None
        and Path(output).resolve() == Path(from_plan).resolve()
    ):
        why = "--output is the plan given with --from; write the new plan elsewhere"
        _make_failed(ctx, output, [why], 2, as_json)
    view = repo_view(root)
    notes: list[str] = []
    opts = MakeOptions(max_agents, max_waves, max_issues)
    try:
        if from_plan is not None:
            loaded = load_plan(from_plan)
            unread = [f for f in loaded.findings if f.level == "error"]
            if unread:
                # An issue row the reader could not read would be silently left out of the plan.
                for line in finding_lines(from_plan, unread):
                    click.echo(line, err=True)
                why = "cannot read every issue of the plan; fix the lines above first"
                _make_failed(ctx, from_plan, [why], 2, as_json, unread[0].line)
            source = loaded.plan
            specs = specs_from_plan(source, view, notes)
            render = context_from(source, Path(from_plan).name, max_agents)
        else:
            assert issues_glob is not None
            specs = specs_from_files(issues_glob, view, notes)
            render = RenderContext(
                title=f"Wave plan — {len(specs)} issues", origin=issues_glob, max_agents=max_agents
            )
        made = make_plan_text(specs, opts, render, view, notes)
    except PlanError as exc:
        click.echo(neutralize(str(exc)), err=True)
        if as_json:
            where = exc.source or from_plan or repo_dir
            click.echo(_error_object(where, [exc.message], 2, exc.line))
        ctx.exit(2)
    except MakeError as exc:
        _make_failed(ctx, "plan make", [f"error: {p}" for p in exc.problems], 1, as_json)
    to_stdout = output is None and not as_json
    if output is not None:
        try:
            Path(output).write_text(made.text, encoding="utf-8")
        except OSError as exc:
            _make_failed(ctx, output, [f"cannot write: {exc.strerror or exc}"], 2, as_json)
    if as_json:
        data = made_dict(made.made)
        data["errors"] = len(made.errors)
        data["findings"] = [f.as_dict() for f in made.findings]
        click.echo(safe_json(data))
    elif to_stdout:
        click.echo(made.text, nl=False)
    if explain:
        # On stdout only when stdout carries nothing else (the plan went to --output).
        for line in explain_lines(made.made):
            click.echo(line, err=to_stdout or as_json)
    waves = len(made.made.waves)
    agents = max(len(w.agents) for w in made.made.waves)
    summary = f"{len(specs)} issues, {waves} wave(s) of at most {agents} agents, {len(made.errors)} error(s)"
    click.echo(neutralize(f"plan make: {summary}" + (f" -> {output}" if output else "")), err=True)
    if made.errors:
        for line in finding_lines(output or "made plan", made.errors):
            click.echo(line, err=True)
    ctx.exit(1 if made.errors else 0)


COMMANDS: list[click.Command] = [plan_group]
