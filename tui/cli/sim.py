"""``wavedeck sim-agent``: the simulated agent (``wavedeck.agents.tools.sim``), for the demo and the tests.

Options are parsed by ``wavedeck.agents.tools.sim`` itself (``wavedeck sim-agent --help`` lists them), so the
command stays as light as the agent: nothing heavy is imported here.
"""

from __future__ import annotations

import click


@click.command(
    "sim-agent",
    add_help_option=False,
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def sim_agent(ctx: click.Context, args: tuple[str, ...]) -> None:
    """Run the simulated agent (prints progress, edits its files; see --help)."""
    from wavedeck.agents.tools import sim

    ctx.exit(sim.main(list(args)))


COMMANDS: list[click.Command] = [sim_agent]
