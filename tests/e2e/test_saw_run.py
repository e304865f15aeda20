"""End to end: the README's "Running a Scout-and-Wave plan" commands, run as written on a real git
repository holding a SAW manifest (written from SAW's schema, every field used), with the
simulated agent as the preset's stand-in. Each agent's prompt holds its SAW task; the required
quality gates run between waves; every wave ends in a checkpoint commit."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.headless_kit import kill_agents, run
from tests.sandboxkit import git

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MANIFEST = ROOT / "tests" / "data" / "plans" / "saw" / "IMPL-audit-log.yaml"

pytestmark = pytest.mark.slow  # an end-to-end run of the wavedeck command


def readme_commands() -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Running a Scout-and-Wave plan") :]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            assert words[0] == "wavedeck", line
            commands.append(words[1:])
    return commands


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "accounts"
    (root / "docs" / "IMPL").mkdir(parents=True)
    shutil.copy(MANIFEST, root / "docs" / "IMPL" / "IMPL-audit-log.yaml")
    (root / ".gitignore").write_text("__pycache__/\n", encoding="utf-8")  # the gates' output
    (root / "src" / "audit").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "src" / "audit" / "__init__.py").write_text('"""Audit log."""\n', encoding="utf-8")
    (root / "src" / "app.py").write_text('"""The app."""\n', encoding="utf-8")
    (root / "tests" / "test_audit.py").write_text(
        "import unittest\n\n\nclass T(unittest.TestCase):\n"
        "    def test_ok(self) -> None:\n        self.assertTrue(True)\n",
        encoding="utf-8",
    )
    sim = [sys.executable, "-m", "wavedeck.agents.tools.sim", "--prompt", "{prompt_file}"]
    (root / "wavedeck.toml").write_text(
        f'[agent]\ncommand = {json.dumps([*sim, "--speed", "0.02"])}\nprompt = "file"\n',
        encoding="utf-8",
    )
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "Tester")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    yield root
    kill_agents(root)


@pytest.mark.timeout(180)
def test_the_readme_commands_run_a_saw_manifest(repo: Path) -> None:
    show, check, run_all = readme_commands()
    assert show[:2] == ["plan", "show"] and check[:2] == ["plan", "check"]
    assert run_all[0] == "run"

    shown = run(repo, *show)
    assert shown.returncode == 0, shown.stderr
    assert "(read as a Scout-and-Wave YAML manifest)" in shown.stdout
    assert "w2-a3  Agent C: Wire the log into the app" in shown.stdout

    checked = run(repo, *check)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    done = run(repo, *run_all, "--json", timeout=150)
    assert done.returncode == 0, done.stderr + done.stdout[-2000:]
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    commits = [e for e in events if e["event"] == "checkpoint_committed"]
    assert [c["wave"] for c in commits] == [1, 2]
    assert sorted(i for c in commits for i in c["issues"]) == ["A", "B", "C"]
    tests = [e for e in events if e["event"] == "tests_finished"]
    assert [t["passed"] for t in tests] == [True, True]
    started = [e for e in events if e["event"] == "tests_started"]
    assert started and list(started[0]["commands"]) == [
        "python3 -m compileall -q src",
        "python3 -m unittest discover -s tests -q",
    ]

    prompt = (repo / ".wavedeck" / "prompts" / "w1-a1.md").read_text(encoding="utf-8")
    assert "Write `append(entry)` in src/audit/log.py: one JSON line per entry" in prompt
    assert "wavedeck-file: src/audit/log.py" in prompt
    created = repo / "src" / "audit" / "log.py"  # action: new, created by its agent
    assert created.exists()
    assert git(repo, "log", "--format=%s").count("\n") == 2  # start + two checkpoints
