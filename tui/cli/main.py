"""The ``wavedeck`` command: a click group whose subcommands live in ``wavedeck.tui.cli``.

``wavedeck [PLAN]`` with no subcommand opens the control room on the repository in the current
folder. Heavy imports (textual, git, asyncssh) happen inside the commands, so that
``wavedeck sim-agent`` and ``wavedeck --help`` start fast.
"""

from __future__ import annotations

import click

from wavedeck import __version__
from wavedeck.plan.errors import WavedeckError
from wavedeck.tui.cli import (
    attach as cli_attach,
)
from wavedeck.tui.cli import (
    audit as cli_audit,
)
from wavedeck.tui.cli import (
    demo as cli_demo,
)
from wavedeck.tui.cli import (
    hosts as cli_hosts,
)
from wavedeck.tui.cli import (
    plan as cli_plan,
)
from wavedeck.tui.cli import (
    review as cli_review,
)
from wavedeck.tui.cli import (
    run as cli_run,
)
from wavedeck.tui.cli import (
    sim as cli_sim,
)
from wavedeck.tui.cli import (
    status as cli_status,
)
from wavedeck.tui.cli.common import CannotStart


class WavedeckGroup(click.Group):
    """A group whose first argument may be a plan file instead of a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            ctx.meta["wavedeck_plan"] = args[0]
            args = args[1:]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Both ways to call wavedeck: with a plan (the control room) or with a command."""
        formatter.write_usage(ctx.command_path, "[OPTIONS] [PLAN]")
        formatter.write_usage(ctx.command_path, "COMMAND [ARGS]...", prefix="   or: ")

    def invoke(self, ctx: click.Context) -> object:
        """The last safety net: an error from the engine's own domain that a command did not
        turn into a message still ends as one (exit 2, the place named), not as a traceback."""
        try:
            return super().invoke(ctx)
        except Exception as exc:
            # Every error wavedeck raises on purpose derives from WavedeckError (plan/errors.py,
            # a light module: sim-agent stays fast).
            if isinstance(exc, WavedeckError):
                raise CannotStart(str(exc)) from None
            if not isinstance(exc, PermissionError):
                raise
            where = exc.filename or "a file"
            raise CannotStart(f"{where}: {exc.strerror or 'permission denied'}") from None


@click.group(
    cls=WavedeckGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "--version", prog_name="wavedeck")
@click.pass_context
def main(ctx: click.Context) -> None:
    """wavedeck: a terminal control room for a wave plan of parallel coding agents.

    With no command, opens the control room on the repository in the current folder, for
    PLAN (a wave plan file; default: plan = "..." in wavedeck.toml). Each command has --help.
    """
    if ctx.invoked_subcommand is None:
        from wavedeck.tui.launch import open_control_room

        ctx.exit(open_control_room(plan=ctx.meta.get("wavedeck_plan")))


for _module in (
    cli_plan,
    cli_run,
    cli_demo,
    cli_review,
    cli_status,
    cli_attach,
    cli_sim,
    cli_hosts,
    cli_audit,
):
    for _command in _module.COMMANDS:
        main.add_command(_command)
