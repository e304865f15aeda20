"""The Qwen Code preset: ``qwen`` with ``--output-format stream-json``, read by the Claude parser.

Qwen Code (0.15, recorded in ``tests/data/agent_streams/qwen-*``) prints Claude Code's stream-json
events (``system/init``, ``assistant``, ``user`` tool results, ``result`` with
``permission_denials``); its tools are its own: ``edit`` and ``write_file`` (``file_path``) write,
``run_shell_command`` runs a command, ``read_file`` reads.

Writes are restricted at the source (measured with 0.15.10): headless in its ``default`` approval
mode, Qwen Code refuses the shell and every edit that ``--allowed-tools`` does not allow; its rules
read Claude's syntax. The preset allows ``run_shell_command`` and ``Edit(path)``/``write_file(path)``
for each owned file: an edit elsewhere, and a shell command that redirects into a file the agent
does not own, are refused (``permission_denials``: the agent needs you). A failed model call
exits 0 with ``is_error`` false: the parser reads its ``[API Error: ...]`` answer as the failure. ``restrict_writes =
false`` runs ``--approval-mode auto-edit`` with the shell allowed. Follow-ups: ``--session-id``
(wavedeck chooses it) then ``--resume``.
"""

from __future__ import annotations

from typing import Any

from wavedeck.agents.presets.base import Parsed
from wavedeck.agents.presets.claude import ClaudeParser, why_denied
from wavedeck.agents.presets.spec import LaunchContext, Preset

WRITE_TOOLS = frozenset({"edit", "write_file"})


def _rule_path(path: str) -> str:
    return path + "**" if path.endswith("/") else path


def argv(ctx: LaunchContext) -> list[str]:
    out = [ctx.program, "--output-format", "stream-json"]
    if ctx.restrict_writes:
        # "Edit" covers edit; write_file needs its own rule (0.15.10 ignores "Write(...)" there).
        rules = [f"{verb}({_rule_path(p)})" for p in ctx.owned for verb in ("Edit", "write_file")]
        out += ["--approval-mode", "default", "--allowed-tools", "run_shell_command", *rules]
    else:
        out += ["--approval-mode", "auto-edit", "--allowed-tools", "run_shell_command"]
    if ctx.resume:
        out += ["--resume", ctx.resume]
    elif ctx.session_id:
        out += ["--session-id", ctx.session_id]
    if ctx.restrict_writes:
        out += ["--append-system-prompt", why_denied(ctx.owned)]
    return [*out, *ctx.extra]


class QwenParser(ClaudeParser):
    """Claude Code's stream-json with Qwen Code's tool names. A failed model call is an answer
    ``[API Error: ...]`` and a result with ``is_error`` false (0.15.10 exits 0): read as the
    failure it is."""

    write_tools = WRITE_TOOLS
    shell_tool = "run_shell_command"

    def _result(self, obj: dict[str, Any], out: Parsed) -> None:
        text = obj.get("result")
        if not obj.get("is_error") and isinstance(text, str) and text.startswith("[API Error"):
            obj = {**obj, "is_error": True, "subtype": "api_error"}
        super()._result(obj, out)


PRESET = Preset(
    name="qwen",
    program="qwen",
    prompt="stdin",
    argv=argv,
    parser=QwenParser,
    resumable=True,
    new_session_id=True,
    tool_lag_s=1.0,
)
