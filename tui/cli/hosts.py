"""``wavedeck hosts``: the SSH hosts of ``wavedeck.toml`` (``wavedeck hosts check [--json]``)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from wavedeck.plan.safetext import neutralize
from wavedeck.tui.cli.common import fail


@click.group("hosts")
def hosts() -> None:
    """The SSH hosts agents may run on (configured in wavedeck.toml)."""


@hosts.command("check")
@click.option("--json", "as_json", is_flag=True, help="print a JSON object instead of a table")
def check(as_json: bool) -> None:
    """Check each host: reachable, host key, authentication, the clone, the tools.

    Exits 1 when any host fails a check, 2 when wavedeck.toml cannot be read (with --json, an
    {"error": ...} object on stdout too).
    """
    import asyncio

    from wavedeck.agents.configread import ConfigError, load_config
    from wavedeck.agents.remote.hosts_check import STEPS, check_hosts

    try:
        config = load_config(Path.cwd())
    except ConfigError as exc:
        fail(str(exc), as_json=as_json)
    reports = asyncio.run(check_hosts(config))
    if as_json:
        data = {"hosts": [r.as_dict() for r in reports], "ok": all(r.ok for r in reports)}
        click.echo(json.dumps(data, indent=2))
    elif not reports:
        click.echo("no hosts configured in wavedeck.toml ([hosts.NAME] tables)")
    else:
        width = max(len(r.host) for r in reports)
        addr = max(len(r.address) for r in reports)
        header = f"{'host':<{width}}  {'address':<{addr}}  " + "  ".join(STEPS)
        click.echo(header)
        for r in reports:
            cells = "  ".join(f"{r.steps[s]:<{len(s)}}" for s in STEPS)
            click.echo(neutralize(f"{r.host:<{width}}  {r.address:<{addr}}  {cells}".rstrip()))
        for r in reports:
            for problem in r.problems:
                click.echo(neutralize(f"{r.host}: {problem}"))
    raise SystemExit(0 if all(r.ok for r in reports) else 1)


COMMANDS: list[click.Command] = [hosts]
