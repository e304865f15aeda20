"""The simulated agent: its prompt block, edits per file type, misbehaviour flags, E4."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.local.prockit import collect, launch, log_text, sim_argv
from wavedeck.agents.local.runner import LocalRunner
from wavedeck.agents.runtypes import ExitStatus
from wavedeck.agents.tools.sim import comment_for, parse_prompt, safe_target

pytestmark = pytest.mark.timeout(60)


def write_prompt(repo: Path, files: list[str], issues: list[str]) -> Path:
    lines = ["# Agent w1-a2", "Some prose the sim ignores.", "", "wavedeck-agent: w1-a2"]
    lines += [f"wavedeck-repo: {repo}", "wavedeck-package: pkg"]
    lines += [f"  wavedeck-file: {path}" for path in files]
    lines += [f"wavedeck-issue: {issue}" for issue in issues]
    prompt = repo.parent / "prompt.md"
    prompt.write_text("\n".join(lines) + "\n")
    return prompt


def run_sim(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wavedeck.agents.tools.sim", "--speed", "0", *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=cwd,
    )


def test_prompt_block_is_parsed() -> None:
    prompt = parse_prompt(
        "intro\nwavedeck-agent: w2-a1\n wavedeck-repo: /r\nwavedeck-file: a/b.py\n"
        "wavedeck-file: a/c.md\nwavedeck-issue: h-01 HIGH Fix the thing (depends on 02)\n"
        "wavedeck-issue: h-02\nnot-wavedeck-file: x\n"
    )
    assert prompt.agent == "w2-a1" and prompt.repo == "/r"
    assert prompt.files == ["a/b.py", "a/c.md"]
    assert prompt.issues == [("h-01", "HIGH", "Fix the thing (depends on 02)"), ("h-02", "", "")]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a.py", "# t"),
        ("a.ts", "// t"),
        ("a.dart", "// t"),
        ("a.css", "/* t */"),
        ("README.md", "<!-- t -->"),
        ("index.html", "<!-- t -->"),
        ("Makefile", "# t"),
    ],
)
def test_comment_syntax_per_extension(path: str, expected: str) -> None:
    assert comment_for(path, "t") == expected


def test_paths_outside_the_repo_are_refused(tmp_path: Path) -> None:
    for bad in ("/etc/passwd", "../x", "a/../../x", ".git/config", ".GIT/hooks/x", "a\\b", ""):
        assert safe_target(tmp_path, bad) is None, bad
    assert safe_target(tmp_path, "a/b.py") == tmp_path / "a" / "b.py"


def test_full_run_edits_files_and_reports_each_issue(repo: Path) -> None:
    (repo / "pkg").mkdir()
    (repo / "pkg" / "style.css").write_text("body {}\n")
    prompt = write_prompt(
        repo,
        ["pkg/app.py", "pkg/style.css", "pkg/README.md"],
        ["h-01 HIGH XSS in style.css", "h-02 MEDIUM something", "h-03 LOW docs"],
    )
    result = run_sim("--prompt", str(prompt), "--touch-unowned", "other/stray.txt")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0].startswith("sim-agent w1-a2 started pid=")
    assert [line for line in out if line.startswith("wavedeck: done")] == [
        "wavedeck: done h-01 fixed",
        "wavedeck: done h-02 fixed",
        "wavedeck: done h-03 fixed",
    ]
    assert out[1].startswith("[0001] reading ")
    # h-01 names style.css; the others take the files in turn.
    assert (repo / "pkg" / "style.css").read_text() == (
        "body {}\n/* wavedeck-sim: h-01 fixed */\n/* wavedeck-sim: h-03 fixed */\n"
    )
    assert (repo / "pkg" / "app.py").read_text() == "# wavedeck-sim: h-02 fixed\n"
    assert (repo / "other" / "stray.txt").exists()
    assert out[-1] == "sim-agent w1-a2 finished: 3 issues"


def test_hostile_declared_path_is_not_written(repo: Path) -> None:
    prompt = write_prompt(repo, ["../escape.py"], ["h-01 HIGH x"])
    result = run_sim("--prompt", str(prompt))
    assert result.returncode == 0
    assert not (repo.parent / "escape.py").exists()
    assert "wavedeck: done h-01 could not edit" in result.stdout


def test_unreadable_prompt_and_unknown_signal_are_clear_errors(tmp_path: Path) -> None:
    result = run_sim("--prompt", str(tmp_path / "nope.md"))
    assert result.returncode == 2 and "cannot read" in result.stderr
    result = run_sim("--exit-signal", "NOPE")
    assert result.returncode == 2 and "unknown signal 'NOPE'" in result.stderr


def test_flood_lines_are_numbered_and_complete() -> None:
    result = run_sim("--id", "x", "--flood", "5000")
    lines = [line for line in result.stdout.splitlines() if line.startswith("flood ")]
    assert lines[0] == "flood x 0000001" and lines[-1] == "flood x 0005000"
    assert len(lines) == 5000


def test_wavedeck_sim_agent_command(repo: Path) -> None:
    exe = shutil.which("wavedeck")
    if exe is None:
        pytest.skip("the wavedeck script is not installed")
    prompt = write_prompt(repo, ["pkg/a.py"], ["h-01 HIGH x"])
    result = subprocess.run(
        [exe, "sim-agent", "--prompt", str(prompt), "--speed", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "wavedeck: done h-01 fixed" in result.stdout
    help_text = subprocess.run([exe, "sim-agent", "--help"], capture_output=True, text=True)
    assert "--touch-unowned" in help_text.stdout


async def test_e4_unwritable_log_does_not_kill_the_agent(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    """The log is /dev/full (every write fails with ENOSPC): the agent still does its work,
    the runner records its exit, and following the log reports the error instead of crashing."""
    runner.logs_dir.mkdir(parents=True)
    os.symlink("/dev/full", runner.log_path("w1-a2"))
    prompt = write_prompt(repo, ["pkg/a.py"], ["h-01 HIGH x", "h-02 LOW y"])
    handle = await launch(runner, repo, "w1-a2", sim_argv(token, "--prompt", str(prompt)))
    chunks = await asyncio.wait_for(collect(runner, handle), 20)
    assert chunks == []
    assert await runner.exit_status(handle) == ExitStatus(code=0)
    assert (repo / "pkg" / "a.py").read_text().count("wavedeck-sim:") == 2
    assert "not a regular file" in runner.log_errors["w1-a2"]


async def test_sim_under_the_runner_with_a_prompt_file(
    runner: LocalRunner, repo: Path, token: str
) -> None:
    prompt = write_prompt(repo, ["pkg/a.md"], ["h-01 HIGH x"])
    handle = await launch(runner, repo, "w1-a2", sim_argv(token, "--prompt", str(prompt)))
    lines = [line for c in await asyncio.wait_for(collect(runner, handle), 20) for line in c.lines]
    assert "wavedeck: done h-01 fixed" in lines
    assert (repo / "pkg" / "a.md").read_text() == "<!-- wavedeck-sim: h-01 fixed -->\n"
    assert log_text(handle).endswith("finished: 1 issue\n")
