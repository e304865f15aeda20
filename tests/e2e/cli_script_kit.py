"""The model's side of the real Gemini CLI, opencode, aider and Qwen Code tests: each CLI's
tools as its model calls them, the scripted server it talks to, its sandbox
(``real_cli_kit.make_sandbox`` with the installed binary) and one headless run of the whole plan
against a script.

Shared by ``test_real_other_clis`` (the scenarios Claude Code has) and ``test_real_cli_honesty``
(what wavedeck says is true, #19).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from tests.e2e.agent_cli_kit import require
from tests.e2e.chat_server import ChatServer
from tests.e2e.gemini_server import GeminiServer
from tests.e2e.headless_kit import events, run
from tests.e2e.real_cli_kit import RUN, make_sandbox
from tests.e2e.scripted_http import Call, Say, ScriptedServer

Events = list[dict[str, Any]]


def write(cli: str, path: str, text: str) -> list[Any]:
    """One turn writing ``text`` to ``path`` (absolute) with the CLI's own tool."""
    if cli == "gemini":
        return [Call("write_file", {"file_path": path, "content": text})]
    if cli == "opencode":
        return [Call("write", {"filePath": path, "content": text})]
    if cli == "qwen":  # Qwen Code writes a file only once it has read it in the session
        read = Call("read_file", {"file_path": path})
        return [read, Call("write_file", {"file_path": path, "content": text})]
    rel = path.split("/repo/", 1)[1]
    return [Say(f"{rel}\n```python\n{text}```\n")]  # aider's "whole" edit format


def shell(cli: str, command: str, description: str) -> list[Any]:
    """One turn running ``command`` with the CLI's shell tool (not aider's: it has none)."""
    name = {"gemini": "run_shell_command", "opencode": "bash", "qwen": "run_shell_command"}[cli]
    return [Call(name, {"command": command, "description": description})]


def server(cli: str, script: dict[str, list[Any]]) -> ScriptedServer[Any]:
    """The scripted model API ``cli`` talks to (aider's: answers in text, no tool calls)."""
    if cli == "gemini":
        return GeminiServer(script)
    return ChatServer(script, tools=cli != "aider")


def sandbox(cli: str, folder: Path, url: str, settings: str = "") -> Path:
    """``make_sandbox`` running the installed ``cli`` against ``url``, in a fresh HOME (opencode's
    first starts race on its database unless wavedeck starts its agents one at a time)."""
    return make_sandbox(folder, require(cli), url, cli=cli, agent_settings=settings)


def run_scripted(
    cli: str, folder: Path, script: dict[str, list[Any]], settings: str = ""
) -> tuple[subprocess.CompletedProcess[str], Events]:
    """The whole plan run headless (``RUN``) in a new sandbox at ``folder`` whose agents' model
    follows ``script``; the finished command and its events."""
    with server(cli, script) as srv:
        sandbox(cli, folder, srv.url, settings)
        finished = run(folder, *RUN, timeout=200)
    return finished, events(finished.stdout)
