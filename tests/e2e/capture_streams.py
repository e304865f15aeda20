"""Record what the real agent CLIs print, into ``tests/data/agent_streams/``, for the parser tests.

Each scenario runs the real CLI (installed by ``.ci/run`` in ``tests/e2e/agent_clis``) once, in a
fresh git repository under ``/tmp/wavedeck-streams/<name>/`` (a fixed place, so paths in the
transcripts do not change between captures), against its scripted model (``model_server``,
``codex_server``; Gemini CLI, opencode, aider and Qwen Code: ``capture_clis``, with their presets'
own argv and environment), and writes its stdout byte for byte to ``<name>.jsonl``;
``<name>.meta.json`` beside it says how it was made (argv, exit status, stderr, CLI version).
Run again after bumping a CLI's pinned version::

    PYTHONPATH=$PWD python3 -m tests.e2e.capture_streams [NAME ...]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e import capture_clis
from tests.e2e.agent_cli_kit import claude_program, codex_program, program
from tests.e2e.model_server import Error, ModelServer, Script, Text, Thinking, ToolUse
from wavedeck.agents.presets import PRESETS

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "agent_streams"
BASE = Path("/tmp/wavedeck-streams")
AGENT = "w1-a1"
STREAM = ["-p", "--output-format", "stream-json", "--verbose"]


def prompt(agent: str = AGENT) -> str:
    """A short prompt shaped like wavedeck's (the server finds the agent id in it)."""
    return (
        f"# You are agent {agent} of wave 1: API\n\n"
        "The ONLY files you may change: `src/api/server.py`\n\n"
        "1. `api-1` [LOW] Verbose errors\n2. `api-2` [CRITICAL] Auth bypass\n\n"
        "After each issue print: wavedeck: done <issue-id> <one-line outcome>\n"
    )


@dataclass(frozen=True)
class Scenario:
    name: str
    cli: str  # "claude" | "codex"
    # extra argv given the repository and the stdout of the ``before`` run ("" without one)
    argv: Callable[[Path, str], list[str]]
    script: Callable[[Path], Any]  # a model_server Script (claude) or a codex_server script
    stdin: str | None = None
    # A run made first in the same HOME (argv, stdin), not recorded: the session a follow-up resumes.
    before: tuple[Callable[[Path], list[str]], str] | None = None


def _repo(folder: Path) -> Path:
    repo = folder / "repo"
    (repo / "src" / "api").mkdir(parents=True)
    (repo / "src" / "api" / "server.py").write_text(
        'def handle(err):\n    return {"error": repr(err), "trace": err.__traceback__}\n', "utf-8"
    )
    (repo / "src" / "api" / "util.py").write_text("SECRET = 'x'\n", "utf-8")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "start"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True
        )
    return repo


def _settings(repo: Path) -> str:
    """Edits allowed on the agent's one file only (the claude preset's restriction, measured:
    ``Edit(./path)`` covers Write too; anything not allowed is denied in ``-p`` mode)."""
    return json.dumps(
        {"permissions": {"allow": ["Read", "Glob", "Grep", "Bash", "Edit(./src/api/server.py)"]}}
    )


def _restricted(repo: Path, first: str = "") -> list[str]:
    return [*STREAM, "--permission-mode", "default", "--settings", _settings(repo)]


def _edit_done(repo: Path) -> Script:
    server = str(repo / "src/api/server.py")
    return {
        AGENT: [
            [
                Thinking("The error handler leaks the traceback; read it first."),
                Text("Reading the handler."),
                ToolUse("Read", {"file_path": server}),
            ],
            [
                ToolUse(
                    "Edit",
                    {
                        "file_path": server,
                        "old_string": '"error": repr(err), "trace": err.__traceback__',
                        "new_string": '"error": "internal error"',
                    },
                )
            ],
            [
                Text("Checking it still compiles."),
                ToolUse(
                    "Bash",
                    {
                        "command": "python3 -m py_compile src/api/server.py",
                        "description": "compile",
                    },
                ),
            ],
            [
                Text(
                    "The handler no longer returns the traceback.\n\n"
                    "wavedeck: done api-1 errors no longer leak the traceback\n"
                    "wavedeck: done api-2 auth bypass closed by the same change"
                )
            ],
        ]
    }


def _denied(repo: Path) -> Script:
    return {
        AGENT: [
            [ToolUse("Read", {"file_path": str(repo / "src/api/util.py")})],
            [
                Text("util.py needs the fix too."),
                ToolUse(
                    "Write",
                    {"file_path": str(repo / "src/api/util.py"), "content": "SECRET = None\n"},
                ),
            ],
            [Text("I may not change src/api/util.py; it needs SECRET removed. Leaving it alone.")],
        ]
    }


def _question(repo: Path) -> Script:
    return {
        AGENT: [
            [
                ToolUse(
                    "AskUserQuestion",
                    {
                        "questions": [
                            {
                                "question": "Should the error body keep an error code?",
                                "header": "Errors",
                                "options": [
                                    {"label": "yes", "description": "keep a stable code"},
                                    {"label": "no", "description": "a fixed message only"},
                                ],
                                "multiSelect": False,
                            }
                        ]
                    },
                )
            ],
            [Text("Before I change the handler: should the error body keep an error code?")],
        ]
    }


SESSION = "6f1c1d57-2b51-4a43-9c55-0c9a4d0f3e21"


def _follow_up(repo: Path) -> Script:
    turns = list(_question(repo)[AGENT])
    server = str(repo / "src/api/server.py")
    turns.append([Text("Keeping a stable code."), ToolUse("Read", {"file_path": server})])
    turns.append(
        [
            ToolUse(
                "Edit",
                {
                    "file_path": server,
                    "old_string": '"error": repr(err), "trace": err.__traceback__',
                    "new_string": '"error": "internal error", "code": 500',
                },
            ),
        ]
    )
    turns.append([Text("wavedeck: done api-1 errors keep a stable code, no traceback")])
    return {AGENT: turns}


def _fail(repo: Path) -> Script:
    return {AGENT: [Error(400, "invalid_request_error", "scripted: this request is refused")]}


CODEX = ["exec", "--json", "--skip-git-repo-check", "-s", "workspace-write", "-"]
PATCH = (
    "*** Begin Patch\n*** Update File: src/api/server.py\n@@\n"
    '-    return {"error": repr(err), "trace": err.__traceback__}\n'
    '+    return {"error": "internal error"}\n*** End Patch\n'
)


def _codex_done(repo: Path) -> Any:
    from tests.e2e.codex_server import Say, patch, shell

    return {
        AGENT: [
            [Say("Reading the handler."), shell("sed -n 1,20p src/api/server.py")],
            [patch(PATCH)],
            [shell("python3 -m py_compile src/api/server.py")],
            [
                Say(
                    "The handler no longer returns the traceback.\n\n"
                    "wavedeck: done api-1 errors no longer leak the traceback\n"
                    "wavedeck: done api-2 auth bypass closed by the same change"
                )
            ],
        ]
    }


def _codex_question(repo: Path) -> Any:
    from tests.e2e.codex_server import Say

    return {AGENT: [[Say("Before I change the handler: should the error body keep a code?")]]}


def _codex_follow_up(repo: Path) -> Any:
    from tests.e2e.codex_server import Say, patch

    turns = list(_codex_question(repo)[AGENT])
    turns.append([Say("Keeping no code then."), patch(PATCH)])
    turns.append([Say("wavedeck: done api-1 errors no longer leak the traceback")])
    return {AGENT: turns}


def _codex_fail(repo: Path) -> Any:
    from tests.e2e.codex_server import Fail

    return {AGENT: [Fail(400, "invalid_request_error", "scripted: this request is refused")]}


def _thread(first: str) -> str:
    """The thread id of a Codex run (its first JSON line)."""
    return str(json.loads(first.splitlines()[0])["thread_id"])


RESUME = [
    "exec",
    "resume",
    "--json",
    "--skip-git-repo-check",
    "-c",
    'sandbox_mode="workspace-write"',
]

SCENARIOS: Sequence[Scenario] = (
    Scenario(
        "claude-edit-done",
        "claude",
        _restricted,
        _edit_done,
    ),
    Scenario(
        "claude-denied",
        "claude",
        _restricted,
        _denied,
    ),
    Scenario("claude-denied-default-mode", "claude", lambda r, _: STREAM, _denied),
    Scenario(
        "claude-question",
        "claude",
        lambda r, _: [*STREAM, "--permission-mode", "acceptEdits"],
        _question,
    ),
    Scenario(
        "claude-followup",
        "claude",
        lambda r, _: [*_restricted(r), "--resume", SESSION],
        _follow_up,
        stdin="Yes, keep a stable error code. Go ahead.",
        before=(lambda r: [*_restricted(r), "--session-id", SESSION], prompt()),
    ),
    Scenario(
        "claude-fail", "claude", lambda r, _: [*STREAM, "--permission-mode", "acceptEdits"], _fail
    ),
    Scenario("codex-edit-done", "codex", lambda r, _: CODEX, _codex_done),
    Scenario("codex-question", "codex", lambda r, _: CODEX, _codex_question),
    Scenario(
        "codex-followup",
        "codex",
        lambda r, first: [*RESUME, _thread(first), "-"],
        _codex_follow_up,
        stdin="No code, a fixed message is enough. Go ahead.",
        before=(lambda r: CODEX, prompt()),
    ),
    Scenario("codex-fail", "codex", lambda r, _: CODEX, _codex_fail),
)


def capture(scenario: Scenario) -> Path:
    folder = BASE / scenario.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    repo = _repo(folder)
    home = folder / "home"
    home.mkdir()
    script = scenario.script(repo)
    env = dict(os.environ)
    server: Any
    if scenario.cli == "claude":
        program = claude_program()
        server = ModelServer(script)
    else:
        from tests.e2e.codex_server import CodexServer

        program = codex_program()
        server = CodexServer(script)
    assert program is not None, f"{scenario.cli} is not installed (see tests/e2e/agent_clis)"
    with server:
        env.update(server.env(home))
        if scenario.before is not None:
            first, text = scenario.before
            before = subprocess.run(
                [str(program), *first(repo)],
                input=text.encode(),
                cwd=repo,
                env=env,
                capture_output=True,
                timeout=120,
                check=True,
            )
        argv = [
            str(program),
            *scenario.argv(repo, before.stdout.decode() if scenario.before else ""),
        ]
        done = subprocess.run(
            argv,
            input=(scenario.stdin or prompt()).encode(),
            cwd=repo,
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        requests = len(server.requests)
    version = subprocess.run(
        [str(program), "--version"], env=env, capture_output=True, text=True, check=False
    ).stdout.strip()
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"{scenario.name}.jsonl"
    out.write_bytes(done.stdout)
    meta = {
        "cli": scenario.cli,
        "version": version,
        "argv": [Path(argv[0]).name, *argv[1:]],
        "cwd": str(repo),
        "stdin": scenario.stdin or prompt(),
        "exit_status": done.returncode,
        "stderr": done.stderr.decode("utf-8", "replace")[-4000:],
        "model_requests": requests,
    }
    out.with_suffix(".meta.json").write_text(json.dumps(meta, indent=2) + "\n", "utf-8")
    return out


def capture_cli(scenario: capture_clis.CliScenario) -> Path:
    """Record one scenario of Gemini CLI, opencode, aider or Qwen Code (see ``capture_clis``)."""
    folder = BASE / scenario.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    repo = _repo(folder)
    home = folder / "home"
    home.mkdir()
    found = program(scenario.cli)
    assert found is not None, f"{scenario.cli} is not installed (see tests/e2e/agent_clis)"
    prompt_file = folder / "prompt.md"
    prompt_file.write_text(prompt(), "utf-8")
    key = f"You are agent {AGENT}"
    server = capture_clis.server_for(scenario.cli, {key: scenario.script(repo)})
    stdin_mode = PRESETS[scenario.cli].prompt == "stdin"

    def launch(prompt_path: Path, resume: str | None) -> tuple[list[str], Any]:
        ctx = capture_clis.launch(scenario.cli, str(found), repo, prompt_path, resume)
        argv, extra = capture_clis.argv_env(ctx, scenario.cli)
        done = subprocess.run(
            argv,
            input=prompt_path.read_bytes() if stdin_mode else b"",
            cwd=repo,
            env={**env, **extra},
            capture_output=True,
            timeout=180,
            check=False,
        )
        return argv, done

    with server:
        env = {**os.environ, **capture_clis.ENV[scenario.cli](server.url, home)}
        stdin_text = prompt()
        if scenario.follow_up:
            _argv, first = launch(prompt_file, None)
            resume = capture_clis.SESSION
            if scenario.cli == "opencode":
                resume = json.loads(first.stdout.decode().splitlines()[0])["sessionID"]
            prompt_file = folder / "follow-up.md"
            prompt_file.write_text(capture_clis.ANSWER + "\n", "utf-8")
            stdin_text = capture_clis.ANSWER + "\n"
            argv, done = launch(prompt_file, resume)
        else:
            argv, done = launch(prompt_file, None)
        requests = len(server.requests)
    return _write(scenario.name, scenario.cli, found, argv, repo, stdin_text, done, requests, env)


def _write(
    name: str,
    cli: str,
    found: Path,
    argv: list[str],
    repo: Path,
    stdin: str,
    done: Any,
    requests: int,
    env: dict[str, str],
) -> Path:
    version = subprocess.run(
        [str(found), "--version"], env=env, capture_output=True, text=True, check=False
    ).stdout.strip()
    out = OUT / f"{name}.jsonl"
    out.write_bytes(done.stdout)
    meta = {
        "cli": cli,
        "version": version,
        "argv": [Path(argv[0]).name, *argv[1:]],
        "cwd": str(repo),
        "stdin": stdin,
        "exit_status": done.returncode,
        "stderr": done.stderr.decode("utf-8", "replace")[-4000:],
        "model_requests": requests,
    }
    out.with_suffix(".meta.json").write_text(json.dumps(meta, indent=2) + "\n", "utf-8")
    return out


def main(names: Sequence[str]) -> int:
    chosen: list[Any] = [s for s in SCENARIOS if not names or s.name in names]
    chosen += [s for s in capture_clis.SCENARIOS if not names or s.name in names]
    for scenario in chosen:
        if isinstance(scenario, capture_clis.CliScenario):
            path = capture_cli(scenario)
        else:
            path = capture(scenario)
        meta = json.loads(path.with_suffix(".meta.json").read_text("utf-8"))
        lines = path.read_bytes().count(b"\n")
        print(f"{path.relative_to(ROOT)}: {lines} lines, exit {meta['exit_status']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
