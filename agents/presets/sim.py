"""The sim preset: wavedeck's simulated agent (``wavedeck.agents.tools.sim``), run only by name.

``[agent] preset = "sim"`` runs ``python -m wavedeck.agents.tools.sim --prompt FILE`` with the
Python running wavedeck (no ``wavedeck`` on PATH needed), plus ``[agent.extra_args]`` (the
simulated agent's misbehaviour flags). Its output is plain text, shown as it comes. It is never
a default: a repository with no agent configured is refused (``no-agent``), so the simulated
agent cannot write ``# wavedeck-sim`` lines into a user's source files by accident.
"""

from __future__ import annotations

import sys

from wavedeck.agents.presets.base import StreamParser
from wavedeck.agents.presets.spec import LaunchContext, Preset

MODULE = "wavedeck.agents.tools.sim"


def argv(ctx: LaunchContext) -> list[str]:
    return [ctx.program, "-m", MODULE, "--prompt", str(ctx.prompt_file), *ctx.extra]


PRESET = Preset(
    name="sim",
    program=sys.executable,
    prompt="file",
    argv=argv,
    parser=StreamParser,
)
