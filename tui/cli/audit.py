"""``wavedeck audit``: hold what a range of commits changed against one wave of the plan.

    wavedeck audit PLAN --repo DIR --wave N REV_RANGE [--json]

Prints findings like ``plan check`` (``PLAN:LINE: LEVEL[CODE]: message``; codes in
``wavedeck.agents.tools.audit``), after the ``[policy]`` of DIR's ``wavedeck.toml``. Exit status: 0 every changed
path is owned by an agent of the wave or accepted by the policy, 1 otherwise, 2 bad input (the
plan, the folder, the wave, the range or the config cannot be read; with ``--json`` also an
``{"error": ...}`` object on stdout).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from wavedeck.plan.errors import PlanError
from wavedeck.plan.safetext import neutralize
from wavedeck.plan.words import plural
from wavedeck.tui.cli.common import error_json


def _bad(ctx: click.Context, message: str, as_json: bool) -> None:
    if as_json:
        click.echo(error_json(message))
    click.echo(neutralize(message), err=True)
    ctx.exit(2)


@click.command("audit", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("plan_file", metavar="PLAN", type=click.Path(path_type=str))
@click.argument("rev_range", metavar="REV_RANGE")
@click.option(
    "--repo",
    "repo_dir",
    default=".",
    show_default=True,
    type=click.Path(path_type=str),
    help="The git repository the commits are in.",
)
@click.option("--wave", "wave", required=True, type=int, help="The wave whose ownership applies.")
@click.option("--json", "as_json", is_flag=True, help="Print findings as one JSON object.")
@click.pass_context
def audit(
    ctx: click.Context, plan_file: str, rev_range: str, repo_dir: str, wave: int, as_json: bool
) -> None:
    """Check what REV_RANGE (A..B, A...B or one commit) changed against wave N's ownership.

    Every changed path the wave does not give to an agent is reported: undeclared (attributed to
    the agent whose package holds it), unowned (with the agents that could own it), other-wave.
    Exit status: 0 all owned or accepted by the policy, 1 otherwise, 2 bad input.
    """
    from wavedeck.agents.configread import ConfigError, load_config
    from wavedeck.agents.tools.audit import AuditError
    from wavedeck.agents.tools.audit import audit as run_audit
    from wavedeck.plan.reading.loader import load_plan
    from wavedeck.plan.render import finding_lines, findings_dict, summary_line

    try:
        result = load_plan(plan_file)
    except PlanError as exc:
        _bad(ctx, str(exc), as_json)
        return
    root = Path(repo_dir).absolute()
    if not root.is_dir():
        _bad(ctx, f"{root}: --repo is not a folder", as_json)
    try:
        policy = load_config(root).policy
        report = run_audit(
            result.plan, wave, root, rev_range, policy.accept, policy.accept_undeclared
        )
    except (AuditError, ConfigError) as exc:
        _bad(ctx, str(exc), as_json)
        return
    findings = list(report.findings)
    if as_json:
        data = findings_dict(findings)
        data["changed"] = len(report.entries)
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        for line in finding_lines(plan_file, findings):
            click.echo(line)
        summary = f"{plural(len(report.entries), 'changed path')}, {summary_line(findings)}"
        click.echo(neutralize(f"{plan_file}: wave {wave}, {rev_range}: {summary}"), err=True)
    ctx.exit(0 if report.clean else 1)


COMMANDS: list[click.Command] = [audit]
