"""The text-only presets: aider (one run from a message file) and generic (``agent.command``).

Their output is shown as it comes; progress lines are read from it as from any agent.
"""

from __future__ import annotations

from wavedeck.agents.presets.base import StreamParser
from wavedeck.agents.presets.spec import LaunchContext, Preset


def aider_argv(ctx: LaunchContext) -> list[str]:
    return [
        ctx.program,
        "--message-file",
        str(ctx.prompt_file),
        "--yes-always",
        "--no-auto-commits",
        "--no-pretty",
        *ctx.extra,
        # Only the owned files are added to the chat: aider edits files in its chat.
        *ctx.owned,
    ]


def generic_argv(ctx: LaunchContext) -> list[str]:
    raise AssertionError("the generic preset runs agent.command")  # pragma: no cover


AIDER = Preset(name="aider", program="aider", prompt="file", argv=aider_argv, parser=StreamParser)
GENERIC = Preset(name="generic", program="", prompt="file", argv=generic_argv, parser=StreamParser)
