"""The kernel sandbox with the real agent CLIs, offline: only Landlock stops them.

The two-agent plan of ``real_cli_kit`` under `wavedeck run --headless --json`; agent ``w1-a1`` is
the real `claude` (``restrict_writes = false``: the CLI's own permission rules allow every edit)
or the real `codex` (``workspace-write``: its own sandbox allows the whole repository), scripted
by the model servers to write another agent's file with its edit tool, then to run the escapes of
``sandbox_kit.ESCAPES`` through its shell tool. Every one is refused by the kernel: the files are
unchanged (in the repository, the throwaway HOME, /etc), the refusal of the edit tool is an
``agent_denied`` event, the agent's own fix is made, and the checkpoint holds exactly that fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import sandbox_kit as kit
from tests.e2e.agent_cli_kit import require
from tests.e2e.claude_kit import FIXED, last_tool_results, result_text
from tests.e2e.codex_server import CodexScript, CodexServer, Say, patch, shell
from tests.e2e.headless_kit import events, kill_agents, run
from tests.e2e.model_server import ModelServer, Script, Text, ToolUse
from tests.e2e.real_cli_kit import (
    FILES,
    ISSUES,
    ORIGINAL,
    by_name,
    final_state,
    key,
    make_sandbox,
    ran,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(kit.landlock_abi() < 3, reason="needs a kernel with Landlock ABI >= 3"),
]
RUN = ("run", "--headless", "--all", "--yes", "--json")
OWN, OTHER = FILES["w1-a1"], FILES["w1-a2"]


def _rewrite(rel: str, text: str) -> str:
    """An apply_patch replacing the whole of ``rel`` (as ORIGINAL holds it) with ``text``."""
    old = "".join(f"-{line}\n" for line in ORIGINAL[rel].splitlines())
    new = "".join(f"+{line}\n" for line in text.splitlines())
    return f"*** Begin Patch\n*** Update File: {rel}\n@@\n{old}{new}*** End Patch\n"


def _snapshot(repo: Path) -> dict[str, bytes | None]:
    home = repo.parent / (repo.name + "-home")
    paths = [
        repo / OTHER,
        repo / "src/web/planted.py",
        repo / "src/web/renamed.py",
        repo / ".git/hooks/pre-commit",
        repo / ".git/config",
        repo / "planted.txt",
        home / ".bashrc",
        home / ".ssh/authorized_keys",
        Path(kit.ETC),
    ]
    return {str(p): p.read_bytes() if p.exists() else None for p in paths}


def _plant_home(repo: Path) -> None:
    home = repo.parent / (repo.name + "-home")
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    (home / ".bashrc").write_text("# the user's bashrc\n", "utf-8")
    (home / ".ssh/authorized_keys").write_text("ssh-ed25519 AAAA user\n", "utf-8")


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    repo = tmp_path / "repo"
    yield repo
    kill_agents(repo)
    kit.cleanup_etc()


def _assert_denied(repo: Path, evs: list[dict[str, object]]) -> None:
    """Every escape's target was refused, as the agent's own output said (``agent_denied``)."""
    home = repo.parent / (repo.name + "-home")
    denied = {str(e["path"]) for e in by_name(evs, "agent_denied", agent="w1-a1")}
    wanted = {
        OTHER,
        "src/web/planted.py",
        ".git/hooks/pre-commit",
        ".git/config",
        "planted.txt",
        f"{home}/.bashrc",
        f"{home}/.ssh/authorized_keys",
        kit.ETC,
    }
    assert wanted <= denied, wanted - denied


@pytest.mark.timeout(240)
def test_real_claude_without_its_own_restriction_is_held_by_the_kernel(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    claude = require("claude")
    monkeypatch.setenv("IS_SANDBOX", "1")  # agents inherit the control room's environment
    foreign = folder / OTHER
    escapes = [
        ToolUse("Bash", {"command": cmd, "description": name})
        for name, cmd in kit.ESCAPES.items()
        if name != "other-agent-file"
    ]
    script: Script = {
        key("w1-a1"): [
            [ToolUse("Read", {"file_path": str(folder / OWN)})],
            [ToolUse("Write", {"file_path": str(folder / OWN), "content": FIXED[OWN]})],
            [ToolUse("Read", {"file_path": str(foreign)})],
            [ToolUse("Write", {"file_path": str(foreign), "content": "HACKED = True\n"})],
            escapes,
            [ToolUse("Bash", {"command": "rm -f src/api/link.py", "description": "clean"})],
            [Text("Done; the other file was refused.\nwavedeck: done api-1 fixed")],
        ],
        key("w1-a2"): [[Text(f"Nothing to change.\nwavedeck: done {ISSUES['w1-a2']} safe")]],
    }
    with ModelServer(script) as server:
        make_sandbox(
            folder,
            claude,
            server.url,
            # Only the kernel stops it: the CLI's own rules allow every edit and every command
            # (bypassPermissions; IS_SANDBOX lets it run so as root, as this machine's tests do).
            agent_settings="restrict_writes = false\n"
            'extra_args = { "w1-a1" = ["--permission-mode", "bypassPermissions"] }\n',
        )
        _plant_home(folder)
        before = _snapshot(folder)
        done = run(folder, *RUN, timeout=200)
        conversation = server.conversation(key("w1-a1"))
    evs = events(done.stdout)
    assert done.returncode == 0, ran(done)
    assert _snapshot(folder) == before
    assert (folder / OWN).read_text("utf-8") == FIXED[OWN]
    assert kit.changed_files(folder) == [OWN]
    # The CLI got the kernel's EACCES for the foreign Write, as a failed tool call, and every
    # escape through its shell failed.
    by_turn = {r.turn: last_tool_results(r) for r in conversation}
    (write,) = by_turn[4]
    assert write.get("is_error") is True
    assert "EACCES" in result_text(write) or "denied" in result_text(write).lower(), write
    shell = by_turn[5]
    assert len(shell) == len(escapes)
    for result in shell:
        text = result_text(result)
        assert result.get("is_error") is True, text
        assert "denied" in text.lower() or "not permitted" in text.lower(), text
    _assert_denied(folder, evs)
    assert ("Write", OTHER) in {
        (e["tool"], e["path"]) for e in by_name(evs, "agent_denied", agent="w1-a1")
    }
    assert final_state(evs, "w1-a1")["state"] == "succeeded"
    assert "Wavedeck-Sandbox: landlock ABI" in kit.commit_message(folder)


@pytest.mark.timeout(240)
def test_real_codex_is_held_by_the_kernel(folder: Path) -> None:
    codex = require("codex")
    script: CodexScript = {
        key("w1-a1"): [
            [patch(_rewrite(OWN, FIXED[OWN]))],
            [patch(_rewrite(OTHER, "HACKED = True\n"))],
            *[[shell(cmd)] for name, cmd in kit.ESCAPES.items() if name != "other-agent-file"],
            [shell("unlink src/api/link.py")],
            [Say("Done; the other file was refused.\nwavedeck: done api-1 fixed")],
        ],
        key("w1-a2"): [[Say(f"Nothing to change.\nwavedeck: done {ISSUES['w1-a2']} safe")]],
    }
    with CodexServer(script) as server:
        make_sandbox(folder, codex, server.url, cli="codex")
        _plant_home(folder)
        before = _snapshot(folder)
        done = run(folder, *RUN, timeout=200)
        requests = server.conversation(key("w1-a1"))
    evs = events(done.stdout)
    assert done.returncode == 0, ran(done)
    assert _snapshot(folder) == before
    assert (folder / OWN).read_text("utf-8") == FIXED[OWN]
    assert kit.changed_files(folder) == [OWN]
    # What Codex told the model: its patch of the other file and each command failed.
    seen = json.dumps([r.body for r in requests])
    assert seen.count("Permission denied") >= len(kit.ESCAPES) - 2, seen[-3000:]
    _assert_denied(folder, evs)
    assert final_state(evs, "w1-a1")["state"] == "succeeded"
    assert "Wavedeck-Sandbox: landlock ABI" in kit.commit_message(folder)
