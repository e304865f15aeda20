"""Claude Code scripts and request readers shared by the real-Claude end-to-end tests.

``fixes`` is the well-behaved agent (read, rewrite, byte-compile, report done); the readers pick
out of a recorded Messages API request what the real CLI sent: the first user message (the
prompt), the system prompt (where the preset explains the write restriction) and the tool results
(what the CLI answered the model after running, or refusing, a tool call).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.model_server import Request, Text, ToolUse
from tests.e2e.real_cli_kit import FILES, ISSUES
from tests.e2e.real_cli_kit import FIXED as FIXED  # the Claude tests' names for the kit's
from tests.e2e.real_cli_kit import RUN as RUN


def fixes(repo: Path, agent: str) -> list[list[Text | ToolUse]]:
    """Read the owned file, rewrite it fixed, byte-compile it, report the issue done."""
    path = str(repo / FILES[agent])
    return [
        [Text(f"Reading {FILES[agent]}."), ToolUse("Read", {"file_path": path})],
        [ToolUse("Write", {"file_path": path, "content": FIXED[FILES[agent]]})],
        [
            ToolUse(
                "Bash",
                {"command": f"python3 -m py_compile {FILES[agent]}", "description": "compile"},
            )
        ],
        [Text(f"The fix is in.\nwavedeck: done {ISSUES[agent]} fixed")],
    ]


def nothing_to_do(agent: str) -> list[list[Text | ToolUse]]:
    return [[Text(f"Nothing to change here.\nwavedeck: done {ISSUES[agent]} already safe")]]


def first_user_text(request: Request) -> str:
    content = request.body["messages"][0]["content"]
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", "") for b in content if isinstance(b, dict))


def system_text(request: Request) -> str:
    system = request.body.get("system")
    if isinstance(system, list):
        return "\n".join(b.get("text", "") for b in system if isinstance(b, dict))
    return str(system or "")


def last_tool_results(request: Request) -> list[dict[str, Any]]:
    """The tool_result blocks of the request's last message (what the CLI answered the model)."""
    content = request.body["messages"][-1]["content"]
    if not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


def result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, list):
        return "\n".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
    return str(content)
