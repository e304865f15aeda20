"""The demo sandbox: a git repository holding the plan's files, a working config and tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.sandboxkit import git
from wavedeck.agents.configread import load_config
from wavedeck.agents.tools.demo import (
    STRAY_AGENT,
    STRAY_PATH,
    TEST_PATH,
    DemoError,
    bundled_plan_text,
    make_sandbox,
)
from wavedeck.plan.checking.checks import run_checks
from wavedeck.plan.ownership import OwnershipIndex
from wavedeck.plan.reading.loader import load_plan

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "plans" / "security-waves.md"


def test_bundled_plan_is_the_reference_plan() -> None:
    if REFERENCE.exists():
        assert bundled_plan_text() == REFERENCE.read_text("utf-8")
    plan = load_plan  # the bundled copy parses without errors
    del plan


def test_sandbox_holds_every_declared_file_committed(tmp_path: Path) -> None:
    root = make_sandbox(tmp_path / "demo", fast=True)
    result = load_plan(root / "plans" / "security-waves.md")
    assert [f for f in run_checks(result.plan, result.findings) if f.level == "error"] == []
    tracked = set(git(root, "ls-files").split())
    declared = {p for a in result.plan.agents for p in a.paths}
    assert declared <= tracked
    assert {"wavedeck.toml", "plans/security-waves.md", "tests/check_sandbox.py"} <= tracked
    assert len(git(root, "log", "--format=%H").split()) == 1
    assert git(root, "status", "--porcelain") == ""
    assert ".wavedeck/" in (root / ".git" / "info" / "exclude").read_text("utf-8")
    for path in declared:
        text = (root / path).read_text("utf-8")
        assert Path(path).name in text or path.endswith("_headers")
        if path.endswith(".py"):
            compile(text, path, "exec")


@pytest.mark.slow
def test_config_runs_the_sim_agent_and_offline_tests(tmp_path: Path) -> None:
    root = make_sandbox(tmp_path / "demo", fast=True)
    config = load_config(root)
    assert config.plan == "plans/security-waves.md"
    assert config.agent.command[1:3] == ["-m", "wavedeck.agents.tools.sim"]
    assert "0.02" in config.agent.command
    assert config.agent.extra_args == {
        STRAY_AGENT: ["--touch-unowned", TEST_PATH, "--touch-unowned", STRAY_PATH]
    }
    assert "**/tests/**" in config.policy.accept  # the test file is accepted, the stray is not
    for command in config.tests.commands or []:
        done = subprocess.run(["sh", "-c", command], cwd=root, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    # The stray path is owned by no agent of wave 1 (so the gate shows itself).
    plan = load_plan(root / "plans" / "security-waves.md").plan
    assert OwnershipIndex(plan, 1).classify(STRAY_PATH).kind == "unowned"


def test_sandbox_tests_catch_a_broken_file(tmp_path: Path) -> None:
    root = make_sandbox(tmp_path / "demo")
    (root / "packages/headless-client/zajel/client.py").write_text("def broken(:\n", "utf-8")
    config = load_config(root)
    assert "--speed" in config.agent.command and "1" in config.agent.command
    codes = [
        subprocess.run(["sh", "-c", c], cwd=root, capture_output=True).returncode
        for c in config.tests.commands or []
    ]
    assert codes != [0, 0]


def test_non_empty_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine", "utf-8")
    with pytest.raises(DemoError, match="not empty"):
        make_sandbox(tmp_path)
    assert (tmp_path / "keep.txt").read_text("utf-8") == "mine"
