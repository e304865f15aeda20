"""End to end: wavedeck never runs its simulated agent on a repository by accident (#19).

A real repository with a plan and no ``[agent]`` is refused before any agent starts (exit 2),
naming the agent CLIs found on ``PATH`` and the two lines of ``wavedeck.toml`` to write; the
simulated agent runs only when named (``preset = "sim"``); a run with no test commands is
refused before any agent starts, not after the wave ran. Real git, the real ``wavedeck`` command.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.e2e.headless_kit import env, events, kill_agents, wavedeck_argv
from tests.e2e.real_cli_kit import FILES, ORIGINAL, PLAN, PLAN_TEXT, by_name, final_state, ran

RUN = ("run", "--headless", "--all", "--yes")
TESTS = '[tests]\ncommands = ["python3 -m py_compile src/api/server.py src/web/page.py"]\n'
FAST = '[agent.extra_args]\n"w1-a1" = ["--speed", "0"]\n"w1-a2" = ["--speed", "0"]\n'


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def repo_with(folder: Path, config: str | None) -> Path:
    """A git repository holding the two-agent plan, its files and ``config`` (None: no
    wavedeck.toml at all), all committed."""
    folder.mkdir(parents=True)
    for rel, text in ORIGINAL.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, "utf-8")
    (folder / PLAN).parent.mkdir(parents=True)
    (folder / PLAN).write_text(PLAN_TEXT, "utf-8")
    (folder / ".gitignore").write_text(".wavedeck/\n__pycache__/\n", "utf-8")
    if config is not None:
        (folder / "wavedeck.toml").write_text(f'plan = "{PLAN}"\n\n{config}', "utf-8")
    _git(folder, "init", "-q", "-b", "main")
    _git(folder, "add", "-A")
    _git(folder, "commit", "-qm", "start")
    return folder


def fake_path(tmp_path: Path, *names: str) -> str:
    """A PATH holding stand-ins named ``names`` (only their presence matters) and the system's
    folders (git), and nothing else: what the refusal finds is known."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in names:
        stub = bin_dir / name
        stub.write_text("#!/bin/sh\nexit 0\n", "utf-8")
        stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    return os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])


def wavedeck(
    repo: Path, *args: str, path: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    environ = env()
    if path is not None:
        environ["PATH"] = path
    return subprocess.run(
        wavedeck_argv(*args),
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environ,
        check=False,
    )


@pytest.fixture
def folder(tmp_path: Path):  # type: ignore[no-untyped-def]
    repo = tmp_path / "repo"
    yield repo
    kill_agents(repo)


@pytest.mark.timeout(120)
def test_no_agent_configured_is_refused_before_any_launch_naming_the_clis_on_path(
    folder: Path, tmp_path: Path
) -> None:
    repo = repo_with(folder, TESTS)  # a wavedeck.toml, but no [agent]
    path = fake_path(tmp_path, "codex", "aider")
    done = wavedeck(repo, *RUN, path=path)
    assert done.returncode == 2, ran(done)
    said = done.stderr
    assert "no agent configured" in said
    assert "agent CLIs found on PATH: codex, aider" in said
    assert "[agent]" in said and 'preset = "codex"' in said  # the first CLI found
    assert "Traceback" not in said
    # nothing ran: no agent log, no prompt, the sources as they were
    assert not (repo / ".wavedeck" / "logs").exists()
    assert _git(repo, "status", "--porcelain") == ""
    for rel, text in ORIGINAL.items():
        assert (repo / rel).read_text("utf-8") == text

    as_json = wavedeck(repo, *RUN, "--json", path=path)
    assert as_json.returncode == 2
    error = json.loads(as_json.stdout.strip().splitlines()[-1])["error"]
    assert error["code"] == "no-agent" and 'preset = "codex"' in error["message"]


@pytest.mark.timeout(120)
def test_with_no_agent_cli_on_path_the_refusal_says_so_and_suggests_claude(
    folder: Path, tmp_path: Path
) -> None:
    repo = repo_with(folder, None)  # no wavedeck.toml at all
    done = wavedeck(repo, *RUN, PLAN, path=fake_path(tmp_path))
    assert done.returncode == 2, ran(done)
    assert "no agent CLI found on PATH" in done.stderr
    assert 'preset = "claude"' in done.stderr
    assert not (repo / ".wavedeck" / "logs").exists()


@pytest.mark.timeout(120)
def test_the_simulated_agent_runs_when_named(folder: Path) -> None:
    repo = repo_with(folder, f'[agent]\npreset = "sim"\nsandbox = "off"\n{FAST}\n{TESTS}')
    done = wavedeck(repo, *RUN, "--json")
    assert done.returncode == 0, ran(done)
    evs = events(done.stdout)
    for agent in FILES:
        assert final_state(evs, agent)["state"] == "succeeded"
    assert by_name(evs, "checkpoint_committed", wave=1)
    log = (repo / ".wavedeck" / "logs" / "w1-a1.log").read_text("utf-8")
    assert "sim-agent w1-a1 started" in log
    record = json.loads((repo / ".wavedeck" / "state.json").read_text("utf-8"))["agents"]
    assert record["w1-a1"]["launches"] == 1


@pytest.mark.timeout(120)
def test_a_wave_without_test_commands_is_refused_before_any_agent_starts(folder: Path) -> None:
    repo = repo_with(folder, f'[agent]\npreset = "sim"\n{FAST}')  # the plan states no tests
    done = wavedeck(repo, *RUN, "--json")
    assert done.returncode == 2, ran(done)
    assert "no test commands" in done.stderr and "[tests] commands" in done.stderr
    error = json.loads(done.stdout.strip().splitlines()[-1])["error"]
    assert error["code"] == "no-test-commands"
    assert not (repo / ".wavedeck" / "logs").exists()
    assert _git(repo, "status", "--porcelain") == ""
