"""The argv each preset runs, the claude settings that restrict writes, and the errors for an
unknown preset or a missing program (naming the agent and the key)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.unit.wave.enginekit import sandbox
from wavedeck.agents.config import Config
from wavedeck.agents.configread import ConfigError, load_config
from wavedeck.agents.presets import PRESETS, LaunchContext, PresetError, program_for
from wavedeck.agents.wave.launch import build_spec
from wavedeck.plan.reading.loader import load_plan

FAKE = str(Path(__file__).parent / "fake_claude.py")


def ctx(tmp_path: Path, **kw: object) -> LaunchContext:
    base: dict[str, object] = {
        "agent_id": "w1-a1",
        "program": "/bin/x",
        "prompt_file": tmp_path / "p.md",
        "cwd": tmp_path,
        "wavedeck_dir": tmp_path / ".wavedeck",
        "owned": ("src/a.py", "src/pkg/"),
    }
    base.update(kw)
    return LaunchContext(**base)  # type: ignore[arg-type]


def test_claude_argv_and_settings(tmp_path: Path) -> None:
    argv = PRESETS["claude"].argv(ctx(tmp_path, session_id="u-1", max_cost_usd=2.5))
    assert argv[:8] == [
        "/bin/x", "-p", "--output-format", "stream-json", "--verbose",
        "--permission-mode", "default", "--settings",
    ]  # fmt: skip
    assert argv[9:13] == ["--session-id", "u-1", "--max-budget-usd", "2.5"]
    assert argv[13] == "--append-system-prompt" and "src/a.py, src/pkg/" in argv[14]
    allow = json.loads(argv[8])["permissions"]["allow"]
    assert "Edit(./src/a.py)" in allow and "Edit(./src/pkg/**)" in allow
    assert not [rule for rule in allow if rule.startswith(("Edit", "Write")) and "src/" not in rule]


def test_claude_unrestricted_and_resume(tmp_path: Path) -> None:
    argv = PRESETS["claude"].argv(
        ctx(tmp_path, restrict_writes=False, resume="u-1", session_id="u-2", extra=("--model", "m"))
    )
    assert argv == [
        "/bin/x", "-p", "--output-format", "stream-json", "--verbose",
        "--permission-mode", "acceptEdits", "--resume", "u-1", "--model", "m",
    ]  # fmt: skip


def test_other_presets_argv(tmp_path: Path) -> None:
    c = ctx(tmp_path)
    assert PRESETS["codex"].argv(c) == [
        "/bin/x", "exec", "--json", "--skip-git-repo-check", "-s", "workspace-write", "-",
    ]  # fmt: skip
    assert PRESETS["codex"].argv(ctx(tmp_path, resume="th-1")) == [
        "/bin/x", "exec", "resume", "--json", "--skip-git-repo-check",
        "-c", 'sandbox_mode="workspace-write"', "th-1", "-",
    ]  # fmt: skip
    gemini = PRESETS["gemini"].argv(ctx(tmp_path, session_id="u-1"))
    assert gemini[:6] == [
        "/bin/x", "--output-format", "stream-json", "--skip-trust", "--approval-mode", "default",
    ]  # fmt: skip
    assert gemini[6] == "--policy" and gemini[8:] == ["--session-id", "u-1"]
    policy = Path(gemini[7]).read_text("utf-8")
    assert 'toolName = "run_shell_command"\ndecision = "allow"' in policy
    assert "src/a\\\\.py|src/pkg/" in policy  # the owned file and folder, as a pattern
    assert PRESETS["gemini"].argv(ctx(tmp_path, restrict_writes=False, resume="u-1")) == [
        "/bin/x", "--output-format", "stream-json", "--skip-trust", "--approval-mode",
        "auto_edit", "--allowed-tools", "run_shell_command", "--resume", "u-1",
    ]  # fmt: skip
    assert PRESETS["opencode"].argv(c) == ["/bin/x", "run", "--format", "json"]
    assert PRESETS["opencode"].argv(ctx(tmp_path, resume="ses_1"))[-2:] == ["--session", "ses_1"]
    assert PRESETS["opencode"].env is not None
    rules = json.loads(PRESETS["opencode"].env(c)["OPENCODE_CONFIG_CONTENT"])
    assert rules == {
        "permission": {"edit": {"*": "deny", "src/a.py": "allow", "src/pkg/*": "allow"}}
    }
    aider = PRESETS["aider"].argv(ctx(tmp_path, session_id="u-1"))
    assert aider[:3] == ["/bin/x", "--message-file", str(tmp_path / "p.md")]
    for flag in ("--yes-always", "--no-auto-commits", "--no-gitignore", "--no-pretty"):
        assert flag in aider
    assert aider[aider.index("--chat-history-file") + 1].startswith(str(tmp_path / ".wavedeck"))
    assert aider[-2:] == ["src/a.py", "src/pkg/"] and "--restore-chat-history" not in aider
    assert "--restore-chat-history" in PRESETS["aider"].argv(ctx(tmp_path, resume="u-1"))
    assert PRESETS["aider"].env is not None
    aider_env = PRESETS["aider"].env(c)
    own = tmp_path / ".wavedeck" / "aider" / "w1-a1"  # the agent's own folder of aider's files
    assert aider[aider.index("--chat-history-file") + 1] == str(own / "u-1.chat.md")
    assert aider_env["GIT_INDEX_FILE"] == str(own / "index")
    assert aider_env["GIT_OBJECT_DIRECTORY"] == str(own / "objects") and (own / "objects").is_dir()
    assert aider_env["GIT_ALTERNATE_OBJECT_DIRECTORIES"] == str(tmp_path / ".git" / "objects")
    assert int(aider_env["COLUMNS"]) >= 1000  # its console wraps nothing
    qwen = PRESETS["qwen"].argv(ctx(tmp_path, session_id="u-1"))
    assert qwen[:8] == [
        "/bin/x", "--output-format", "stream-json", "--approval-mode", "default",
        "--allowed-tools", "run_shell_command", "Edit(src/a.py)",
    ]  # fmt: skip
    assert "Edit(src/pkg/**)" in qwen and qwen[qwen.index("--session-id") + 1] == "u-1"
    assert {p.name: p.prompt for p in PRESETS.values()}["claude"] == "stdin"


def test_aiders_git_writes_its_own_index_and_objects_and_reads_the_repositorys(
    tmp_path: Path,
) -> None:
    """What aider's ``git add`` does with the preset's environment, with real git, in the main
    tree and in a linked worktree (worktree mode): the new file is staged in aider's index, its
    blob is in aider's object store, the repository's index and objects are untouched, and the
    repository's history is still readable through the alternates."""
    root = tmp_path / "repo"
    root.mkdir()

    def git(*args: str, cwd: Path = root, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@x", *args],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    git("init", "-q", "-b", "main")
    (root / "a.py").write_text("A = 1\n")
    git("add", "a.py")
    git("commit", "-qm", "one")
    git("worktree", "add", "-q", str(tmp_path / "wt"), "-b", "w")
    for tree in (root, tmp_path / "wt"):
        c = ctx(tmp_path, cwd=tree, wavedeck_dir=tmp_path / f"wd-{tree.name}")
        PRESETS["aider"].argv(c)  # makes the agent's folder
        assert PRESETS["aider"].env is not None
        env = PRESETS["aider"].env(c)
        assert env["GIT_ALTERNATE_OBJECT_DIRECTORIES"] == str(root / ".git" / "objects")
        objects = sorted((root / ".git" / "objects").rglob("*"))
        index = git("ls-files", "-s", cwd=tree)
        (tree / "new.py").write_text("NEW = 2\n")
        git("add", "new.py", cwd=tree, env=env)
        assert "new.py" in git("ls-files", cwd=tree, env=env)  # in aider's index
        assert git("ls-files", "-s", cwd=tree) == index  # not in the operator's
        assert sorted((root / ".git" / "objects").rglob("*")) == objects  # nothing in .git
        assert list(Path(env["GIT_OBJECT_DIRECTORY"]).rglob("*"))  # the blob is aider's
        assert git("log", "--format=%s", cwd=tree, env=env).split() == ["one"]


def test_missing_program_names_the_agent_and_key(tmp_path: Path) -> None:
    with pytest.raises(PresetError, match=r"w1-a3: agent.preset \('codex'\): 'codex' not found"):
        program_for(PRESETS["codex"], None, "w1-a3", path=str(tmp_path))
    with pytest.raises(PresetError, match=r"w1-a3: agent.program: /nope/claude is not an exec"):
        program_for(PRESETS["claude"], "/nope/claude", "w1-a3")
    assert program_for(PRESETS["claude"], FAKE, "w1-a3") == FAKE
    os.symlink(FAKE, tmp_path / "claude")
    assert program_for(PRESETS["claude"], None, "w1-a1", path=str(tmp_path)).endswith("claude")


def test_unknown_preset_is_refused_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "wavedeck.toml").write_text('[agent]\npreset = "cursor"\n', "utf-8")
    with pytest.raises(ConfigError, match=r"agent\.preset: Input should be 'claude'"):
        load_config(tmp_path)


def test_build_spec_uses_the_preset_and_command_still_overrides(tmp_path: Path) -> None:
    root = sandbox(tmp_path / "s")
    plan = load_plan(root / "plans" / "security-waves.md").plan
    config = Config(agent={"preset": "claude", "program": FAKE})  # type: ignore[arg-type]
    spec = build_spec(root, root / ".wavedeck", plan, config, "w1-a1", root, session_id="u-9")
    assert spec.argv[0] == FAKE and "--session-id" in spec.argv and "u-9" in spec.argv
    assert spec.stdin_file is not None and "wavedeck-agent: w1-a1" in spec.stdin_file.read_text()
    settings = json.loads(spec.argv[spec.argv.index("--settings") + 1])
    assert "Edit(./packages/headless-client/zajel/client.py)" in settings["permissions"]["allow"]
    config = Config(agent={"preset": "claude", "command": ["mine", "{agent_id}"]})  # type: ignore[arg-type]
    spec = build_spec(root, root / ".wavedeck", plan, config, "w1-a1", root)
    assert spec.argv == ("mine", "w1-a1")
    config = Config(agent={"preset": "codex", "program": "codex-not-here"})  # type: ignore[arg-type]
    with pytest.raises(PresetError, match=r"w1-a2: agent\.program: 'codex-not-here' not found"):
        build_spec(root, root / ".wavedeck", plan, config, "w1-a2", root)
    remote = build_spec(root, root / ".wavedeck", plan, config, "w1-a2", root, local=False)
    assert remote.argv[:2] == ("codex-not-here", "exec")  # found on its host, not here
