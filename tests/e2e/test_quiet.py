"""No dependency's warning reaches a user (issue #24): asyncssh made cryptography print five
``CryptographyDeprecationWarning``s on every ``demo``, ``run``, ``audit``, ``hosts`` and control
room start, burying the one line that mattered. Each command runs in a subprocess, as a user
runs it, and its stderr holds only wavedeck's own words; with ``PYTHONWARNINGS=default`` (a user
who asks for warnings) they are there, so the quiet is the filter's doing, not luck."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.headless_kit import env, kill_agents, wavedeck_argv

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
NOISE = ("Warning", "warning:", "Deprecat", "Traceback")


def _run(folder: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in env().items() if k != "PYTHONWARNINGS"}
    environ.update(extra)
    return subprocess.run(
        wavedeck_argv(*args),
        cwd=folder,
        env=environ,
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_no_command_prints_a_dependencys_warning(tmp_path: Path) -> None:
    sandbox = tmp_path / "demo"
    try:
        commands = [
            ("demo", "--no-ui", "--fast", "--dir", str(sandbox)),
            ("run", "--headless", "--wave", "1", "--yes", "--accept-violations"),
            ("status",),
            ("audit", "plans/security-waves.md", "--repo", ".", "--wave", "1", "HEAD~1..HEAD"),
            ("hosts", "check"),
            ("plan", "check", "plans/security-waves.md", "--repo", "."),
        ]
        for args in commands:
            done = _run(tmp_path if args[0] == "demo" else sandbox, *args)
            assert done.returncode in (0, 1), (args, done.stderr[-2000:])
            noise = [n for n in NOISE if n in done.stderr]
            assert not noise, f"{args}: {noise}\n{done.stderr[-3000:]}"
        # The same command, for a user who asks for warnings: they are shown.
        loud = _run(sandbox, "hosts", "check", PYTHONWARNINGS="default")
        assert "CryptographyDeprecationWarning" in loud.stderr
    finally:
        kill_agents(sandbox)


def test_status_in_a_repository_that_never_ran_says_so_and_exits_0(tmp_path: Path) -> None:
    repo = tmp_path / "never"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    done = _run(repo, "status")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("no run yet"), done.stdout
    as_json = _run(repo, "status", "--json")
    assert as_json.returncode == 0 and '"run": null' in as_json.stdout


def test_a_missing_configured_plan_names_the_key(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "start"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
            cwd=repo,
            check=True,
        )
    (repo / "wavedeck.toml").write_text('plan = "missing.md"\n', "utf-8")
    for args in ((), ("run", "--headless", "--yes")):
        done = _run(repo, *args)
        assert done.returncode == 2, done.stderr
        assert 'wavedeck.toml: plan = "missing.md"' in done.stderr, done.stderr
        assert os.fspath(repo / "missing.md") in done.stderr
