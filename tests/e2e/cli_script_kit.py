"""The model's side of the real Gemini CLI, opencode, aider and Qwen Code tests: each CLI's
tools as its model calls them, the scripted server it talks to, its sandbox
(``real_cli_kit.make_sandbox`` with the installed binary) and one headless run of the whole plan
against a script.

Shared by ``test_real_other_clis`` (the scenarios Claude Code has) and ``test_real_cli_honesty``
(what wavedeck says is true, #19).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from tests.e2e.agent_cli_kit import require
from tests.e2e.chat_server import ChatServer
from tests.e2e.gemini_server import GeminiServer
from tests.e2e.headless_kit import events, run
from tests.e2e.real_cli_kit import CLI_ENV, RUN, make_sandbox
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


def sandbox(cli: str, folder: Path, url: str, settings: str = "", *, warm: bool = False) -> Path:
    """``make_sandbox`` running the installed ``cli`` against ``url``; ``warm``: opencode's
    database is made first, as on the machine of a user who ran opencode before."""
    program = require(cli)
    repo = make_sandbox(folder, program, url, cli=cli, agent_settings=settings)
    if cli == "opencode" and warm:
        # opencode migrates its database on its first start, and two first starts at once race
        # ("Failed query: CREATE TABLE"): this HOME is a user's who ran opencode before.
        home = folder.parent / (folder.name + "-home")
        subprocess.run(
            [str(program), "db", "path"],
            env={**os.environ, **CLI_ENV[cli](url, home)},
            cwd=home,
            capture_output=True,
            check=True,
            timeout=120,
        )
    return repo


def run_scripted(
    cli: str, folder: Path, script: dict[str, list[Any]], settings: str = "", *, warm: bool = False
) -> tuple[subprocess.CompletedProcess[str], Events]:
    """The whole plan run headless (``RUN``) in a new sandbox at ``folder`` whose agents' model
    follows ``script``; the finished command and its events."""
    with server(cli, script) as srv:
        sandbox(cli, folder, srv.url, settings, warm=warm)
        finished = run(folder, *RUN, timeout=200)
    return finished, events(finished.stdout)
