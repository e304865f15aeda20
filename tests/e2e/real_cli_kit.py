"""Sandboxes where `wavedeck run --headless` drives a real agent CLI (Claude Code or Codex)
against a scripted model (``model_server`` or ``codex_server``).

A sandbox is a git repository (one commit) with a two-agent plan: ``w1-a1`` owns
``src/api/server.py`` (issue ``api-1``), ``w1-a2`` owns ``src/web/page.py`` (issue ``web-1``);
the test command byte-compiles both. ``wavedeck.toml`` selects the agent: the ``claude`` or
``codex`` preset with ``program`` pointing at the installed binary, or (Claude) an explicit
``command``, the same argv a user would write without a preset. The agents' environment
(``[agent] env``) points the CLI at the scripted model with a throwaway HOME (Codex: a
``CODEX_HOME`` whose config.toml names the scripted provider); the control room itself keeps the
test's environment (its git identity included).

The model server tells the agents apart by the first line of wavedeck's prompt
(``# You are agent <id> of wave <n>``): ``key(agent)`` is that text.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.e2e.chat_server import aider_env, opencode_env, qwen_env
from tests.e2e.codex_server import codex_env, write_codex_config
from tests.e2e.gemini_server import gemini_env
from tests.e2e.model_server import claude_env

# How each CLI is pointed at its scripted server with a throwaway HOME (base URL, home).
CLI_ENV = {
    "claude": claude_env,
    "gemini": gemini_env,
    "opencode": opencode_env,
    "aider": aider_env,
    "qwen": qwen_env,
}

PLAN = "plans/plan.md"
RUN = ("run", "--headless", "--all", "--yes", "--json")  # the whole plan, headless, as JSON
FILES = {"w1-a1": "src/api/server.py", "w1-a2": "src/web/page.py"}
ISSUES = {"w1-a1": "api-1", "w1-a2": "web-1"}
ORIGINAL = {
    "src/api/server.py": (
        'def handle(err):\n    return {"error": repr(err), "trace": err.__traceback__}\n'
    ),
    "src/web/page.py": 'def page(name):\n    return "<h1>" + name + "</h1>"\n',
}
FIXED = {  # what a fixing agent writes
    "src/api/server.py": 'def handle(err):\n    return {"error": "internal error"}\n',
    "src/web/page.py": (
        'import html\n\n\ndef page(name):\n    return "<h1>" + html.escape(name) + "</h1>"\n'
    ),
}
# The claude preset's argv without the preset (what a user writes as `command`), prompt on stdin.
CLAUDE_ARGV = ["-p", "--output-format", "stream-json", "--verbose", "--permission-mode"]

PLAN_TEXT = """# Real agent CLI test plan

## Strategy

Two agents, one package each, no shared file.

## Wave 1 — HIGH (2 issues, 2 agents)

Both issues are small.

### Agent 1: API
**Package**: `src/api/`
**Files**: `server.py`
| Order | Issue | Severity | Summary |
|---|---|---|---|
| 1 | api-1 | HIGH | Errors leak the traceback |

### Agent 2: Web
**Package**: `src/web/`
**Files**: `page.py`
| Order | Issue | Severity | Summary |
|---|---|---|---|
| 1 | web-1 | HIGH | The page echoes its input unescaped |
"""


def key(agent: str) -> str:
    """What the model server looks for in an agent's first message: its prompt's first line."""
    return f"You are agent {agent} of wave {agent[1:].split('-')[0]}"


def _toml(value: Any) -> str:
    """TOML for strings, lists of strings and flat string tables (JSON escapes are TOML's)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def make_sandbox(
    folder: Path,
    program: Path,
    base_url: str,
    *,
    cli: str = "claude",
    preset: bool = True,
    agent_settings: str = "",
    permission_mode: str = "acceptEdits",
) -> Path:
    """A repository at ``folder`` whose plan runs ``program`` as every agent.

    ``cli`` is a preset's name (claude, codex, gemini, opencode, aider, qwen). ``preset``: ``[agent] preset = cli`` + ``program``;
    else (claude) an explicit ``command`` with ``permission_mode``. ``agent_settings`` is
    appended to the ``[agent]`` table as TOML lines.
    """
    folder.mkdir(parents=True)
    home = folder.parent / (folder.name + "-home")
    home.mkdir()
    for rel, text in ORIGINAL.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    (folder / PLAN).parent.mkdir(parents=True)
    (folder / PLAN).write_text(PLAN_TEXT, "utf-8")
    (folder / ".gitignore").write_text(".wavedeck/\n__pycache__/\n", "utf-8")
    if cli == "codex":
        write_codex_config(home, base_url)
        env = codex_env(home)
    else:
        env = CLI_ENV[cli](base_url, home)
    if preset:
        agent = f"preset = {_toml(cli)}\nprogram = {_toml(str(program))}\n"
    else:
        argv = [str(program), *CLAUDE_ARGV, permission_mode]
        agent = f'command = {_toml(argv)}\nprompt = "stdin"\n'
    config = (
        f"plan = {_toml(PLAN)}\n\n"
        "[agent]\n"
        f"{agent}"
        "stop_grace_s = 2\n"
        f"{agent_settings}"
        f"env = {_toml(env)}\n\n"
        "[tests]\n"
        f"commands = {_toml(['python3 -m py_compile ' + ' '.join(ORIGINAL)])}\n"
        "timeout_s = 60\n"
    )
    (folder / "wavedeck.toml").write_text(config, "utf-8")
    _git(folder, "init", "-q", "-b", "main")
    _git(folder, "add", "-A")
    _git(
        folder,
        "-c",
        "user.name=test",
        "-c",
        "user.email=test@example.com",
        "commit",
        "-qm",
        "start",
    )
    return folder


def committed(repo: Path, rel: str, rev: str = "HEAD") -> str:
    """A file's text as committed at ``rev``."""
    return _git(repo, "show", f"{rev}:{rel}")


def commit_message(repo: Path, rev: str = "HEAD") -> str:
    return _git(repo, "log", "-1", "--format=%B", rev)


def by_name(evs: list[dict[str, Any]], name: str, **match: Any) -> list[dict[str, Any]]:
    """The events called ``name`` whose fields equal ``match``."""
    return [e for e in evs if e["event"] == name and all(e.get(k) == v for k, v in match.items())]


def final_state(evs: list[dict[str, Any]], agent: str) -> dict[str, Any]:
    """The agent's last ``agent_state_changed`` event."""
    changes = by_name(evs, "agent_state_changed", agent=agent)
    assert changes, f"no state change for {agent}"
    return changes[-1]


def pane(evs: list[dict[str, Any]], agent: str) -> list[str]:
    """The rendered lines of an agent's pane, in order (single and batched output events)."""
    lines: list[str] = []
    for e in evs:
        if e.get("agent") != agent:
            continue
        if e["event"] == "agent_output":
            lines.append(e["line"])
        elif e["event"] == "agent_output_batch":
            lines.extend(e["lines"])
    return lines


def ran(done: Any) -> str:
    """What to show when a run did not go as expected."""
    return f"exit {done.returncode}\nstderr: {done.stderr[-3000:]}\nstdout: {done.stdout[-4000:]}"
