"""The recording scenarios of Gemini CLI, opencode, aider and Qwen Code (``capture_streams`` runs
them; Claude Code's and Codex's are there).

Each CLI runs with exactly the argv and environment its wavedeck preset gives it (the preset's
``argv`` and ``env`` for a ``LaunchContext`` in the capture's repository, owning
``src/api/server.py``), against its scripted server: ``gemini_server`` (Gemini API) or
``chat_server`` (Chat Completions: opencode, aider, Qwen Code).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.chat_server import ChatServer, aider_env, opencode_env, qwen_env
from tests.e2e.gemini_server import GeminiServer, gemini_env
from tests.e2e.scripted_http import Call, Fail, Say, ScriptedServer
from wavedeck.agents.presets import PRESETS, LaunchContext

AGENT = "w1-a1"
OWNED = ("src/api/server.py",)
SESSION = "0f6c7a4e-3b1d-4c2a-9e55-7d1c2b3a4f60"
OLD = '    return {"error": repr(err), "trace": err.__traceback__}'
NEW = '    return {"error": "internal error"}'
DONE = (
    "The handler no longer returns the traceback.\n\n"
    "wavedeck: done api-1 errors no longer leak the traceback\n"
    "wavedeck: done api-2 auth bypass closed by the same change"
)
QUESTION = "Before I change the handler: should the error body keep an error code?"
ANSWER = "No code, a fixed message is enough. Go ahead."
ENV: dict[str, Callable[[str, Path], dict[str, str]]] = {
    "gemini": gemini_env,
    "opencode": opencode_env,
    "aider": aider_env,
    "qwen": qwen_env,
}


@dataclass(frozen=True)
class CliScenario:
    name: str
    cli: str
    script: Callable[[Path], list[Any]]  # the turns of the agent's conversation
    follow_up: bool = False  # run a first time (the question), then resume with ANSWER


def server_for(cli: str, script: dict[str, list[Any]]) -> ScriptedServer[Any]:
    if cli == "gemini":
        return GeminiServer(script)
    return ChatServer(script, tools=cli != "aider")


def launch(cli: str, program: str, repo: Path, prompt: Path, resume: str | None) -> LaunchContext:
    return LaunchContext(
        agent_id=AGENT,
        program=program,
        prompt_file=prompt,
        cwd=repo,
        wavedeck_dir=repo / ".wavedeck",
        owned=OWNED,
        session_id=SESSION,
        resume=resume,
    )


def argv_env(ctx: LaunchContext, cli: str) -> tuple[list[str], dict[str, str]]:
    preset = PRESETS[cli]
    env = {"PWD": str(ctx.cwd), **(preset.env(ctx) if preset.env else {})}
    return preset.argv(ctx), env


# -- scripts (absolute paths: what these CLIs' models send) -----------------------------------


def _path(repo: Path, rel: str = OWNED[0]) -> str:
    return str(repo / rel)


def gemini_edit(repo: Path) -> list[Any]:
    return [
        [Say("Reading the handler."), Call("read_file", {"file_path": _path(repo)})],
        [
            Call(
                "replace",
                {
                    "file_path": _path(repo),
                    "old_string": OLD,
                    "new_string": NEW,
                    "instruction": "stop returning the traceback",
                },
            )
        ],
        [Call("run_shell_command", {"command": "python3 -m py_compile src/api/server.py"})],
        [Say(DONE)],
    ]


def gemini_denied(repo: Path) -> list[Any]:
    return [
        [Call("write_file", {"file_path": _path(repo, "src/api/util.py"), "content": "X = 1\n"})],
        [Say("I may not change src/api/util.py; it needs SECRET removed. Leaving it alone.")],
    ]


def chat_edit(repo: Path, tools: tuple[str, str, str], path_key: str) -> list[Any]:
    read, edit, shell = tools
    edit_args = {path_key: _path(repo)}
    if edit == "edit" and path_key == "filePath":
        edit_args |= {"oldString": OLD, "newString": NEW}
    else:
        edit_args |= {"old_string": OLD, "new_string": NEW}
    command = {"command": "python3 -m py_compile src/api/server.py", "description": "compile"}
    return [
        [Say("Reading the handler."), Call(read, {path_key: _path(repo)})],
        [Call(edit, edit_args)],
        [Call(shell, command)],
        [Say(DONE)],
    ]


def chat_denied(repo: Path, write: str, path_key: str) -> list[Any]:
    return [
        [Call(write, {path_key: _path(repo, "src/api/util.py"), "content": "SECRET = None\n"})],
        [Say("I may not change src/api/util.py; it needs SECRET removed. Leaving it alone.")],
    ]


def opencode_outside(repo: Path) -> list[Any]:
    """A write outside the project: opencode asks, and headless it rejects on its own."""
    return [[Call("write", {"filePath": str(repo.parent / "notes.txt"), "content": "x\n"})]]


def whole(rel: str, text: str) -> str:
    """aider's "whole" edit format: the file name, then the whole new file fenced."""
    return f"{rel}\n```python\n{text}```\n"


def aider_edit(repo: Path) -> list[Any]:
    fixed = 'def handle(err):\n    return {"error": "internal error"}\n'
    return [[Say(f"Fixing the handler.\n\n{whole(OWNED[0], fixed)}\n{DONE}\n")]]


def aider_new_file(repo: Path) -> list[Any]:
    """An answer creating a file the agent does not own (--yes-always lets aider do it)."""
    extra = whole("src/api/extra.py", "X = 1\n")
    return [[Say(f"Adding a helper.\n\n{extra}\nwavedeck: done api-1 with a helper\n")]]


def question(repo: Path, then: list[Any]) -> list[Any]:
    return [[Say(QUESTION)], *then]


def fail(repo: Path) -> list[Any]:
    return [Fail(400, "invalid_request_error", "scripted: this request is refused")]


def _after_question(edit: Callable[[Path], list[Any]]) -> Callable[[Path], list[Any]]:
    return lambda repo: question(repo, edit(repo))


SCENARIOS: Sequence[CliScenario] = (
    CliScenario("gemini-edit-done", "gemini", gemini_edit),
    CliScenario("gemini-denied", "gemini", gemini_denied),
    CliScenario("gemini-followup", "gemini", _after_question(gemini_edit), follow_up=True),
    CliScenario("gemini-fail", "gemini", fail),
    CliScenario(
        "opencode-edit-done",
        "opencode",
        lambda r: chat_edit(r, ("read", "edit", "bash"), "filePath"),
    ),
    CliScenario("opencode-denied", "opencode", lambda r: chat_denied(r, "write", "filePath")),
    CliScenario("opencode-refused", "opencode", opencode_outside),
    CliScenario(
        "opencode-followup",
        "opencode",
        _after_question(lambda r: chat_edit(r, ("read", "edit", "bash"), "filePath")),
        follow_up=True,
    ),
    CliScenario("opencode-fail", "opencode", fail),
    CliScenario("aider-edit-done", "aider", aider_edit),
    CliScenario("aider-new-file", "aider", aider_new_file),
    CliScenario(
        "aider-followup",
        "aider",
        lambda r: question(r, aider_edit(r)),
        follow_up=True,
    ),
    CliScenario("aider-fail", "aider", fail),
    CliScenario(
        "qwen-edit-done",
        "qwen",
        lambda r: chat_edit(r, ("read_file", "edit", "run_shell_command"), "file_path"),
    ),
    CliScenario("qwen-denied", "qwen", lambda r: chat_denied(r, "write_file", "file_path")),
    CliScenario(
        "qwen-followup",
        "qwen",
        _after_question(
            lambda r: chat_edit(r, ("read_file", "edit", "run_shell_command"), "file_path")
        ),
        follow_up=True,
    ),
    CliScenario("qwen-fail", "qwen", fail),
)
