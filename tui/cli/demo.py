"""``wavedeck demo``: a sandbox repository running the reference plan with simulated agents.

It creates the sandbox (``wavedeck.agents.tools.demo``) in a new or empty folder, then opens the
control room on it, or with ``--no-ui`` says how to open it or run it headless.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from wavedeck.tui.cli.common import fail

# What the demo suggests: it completes, accepting the one file the demo's agent writes outside
# the plan on purpose (recorded in the checkpoint's trailers).
DEMO_RUN = "wavedeck run --headless --all --yes --accept-violations"


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
    from wavedeck.agents.tools.demo import PLAN_IN_SANDBOX, DemoError, make_sandbox
    from wavedeck.tui.launch import NOT_A_TERMINAL, has_terminal

    try:
        target = folder if folder is not None else Path(tempfile.mkdtemp(prefix="wavedeck-demo-"))
        root = make_sandbox(target, fast=fast)
    except OSError as exc:
        fail(f"{exc.filename or tempfile.gettempdir()}: cannot create the sandbox: {exc.strerror}")
    except DemoError as exc:
        fail(str(exc))
    click.echo(str(root))
    if not no_ui and not has_terminal():
        fail(
            f"{NOT_A_TERMINAL} in the sandbox (cd {root} && {DEMO_RUN}), or `demo --no-ui`: "
            "the control room needs a terminal"
        )
    if no_ui:
        click.echo(
            f"wavedeck: sandbox ready; run `cd {root} && wavedeck` for the control room (its "
            "wave-1 agent writes one file outside the plan on purpose: `v` to review and accept "
            f"it), or `cd {root} && {DEMO_RUN}` to run every wave headless, accepting it",
            err=True,
        )
        return
    from wavedeck.tui.launch import open_control_room

    sys.exit(open_control_room(plan=str(root / PLAN_IN_SANDBOX), repo=str(root), sandbox=True))


COMMANDS: list[click.Command] = [demo_cmd]
