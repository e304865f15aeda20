"""One git runner (issue #11): nothing in ``agents/`` outside ``agents/git/`` starts git itself,
and a hook or fsmonitor planted in the global or the repository's config never runs from any of
the call sites that used to run git their own way (repoview, audit, demo, worktrees, remote sync)."""

from __future__ import annotations

import ast
import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from tests.unit.git.repokit import Repo, stream_head_pack, wait_until
from tests.unit.watch import watchkit
from wavedeck.agents.git.cmd import git_process, run_git
from wavedeck.agents.git.errors import GitError
from wavedeck.agents.remote.sync import apply_patch, local_head
from wavedeck.agents.repoview import git_paths
from wavedeck.agents.tools.audit import changed_paths
from wavedeck.agents.tools.demo import make_sandbox
from wavedeck.agents.watch.worktrees import create_worktrees, worktree_changes

AGENTS = Path(__file__).resolve().parents[3] / "agents"
_STARTERS = {
    "run",
    "Popen",
    "call",
    "check_call",
    "check_output",
    "create_subprocess_exec",
    "create_subprocess_shell",
    "system",
    "execvp",
    "execv",
    "spawnvp",
}


def _is_git(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and (node.value == "git" or node.value.startswith("git "))
    )


def _git_literal(node: ast.AST) -> bool:
    return isinstance(node, ast.List | ast.Tuple) and bool(node.elts) and _is_git(node.elts[0])


def _offences(path: Path) -> list[str]:
    """Calls that start a process whose argv is git: ``run(["git", ...])``, ``Popen("git")``,
    or ``run(argv)`` / ``exec(*GIT_ARGV)`` where that name is bound to a ``["git", ...]``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    git_names = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and _git_literal(node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    }

    def is_git_argv(arg: ast.AST) -> bool:
        if isinstance(arg, ast.Starred):
            arg = arg.value
        if isinstance(arg, ast.Name):
            return arg.id in git_names
        return _is_git(arg) or _git_literal(arg)

    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in _STARTERS and any(is_git_argv(arg) for arg in node.args):
                found.append(f"{path.name}:{node.lineno}: {name}(git ...)")
        if isinstance(node, ast.ImportFrom) and node.module in ("git", "git.cmd"):
            found.append(f"{path.name}:{node.lineno}: imports GitPython")
        if isinstance(node, ast.Import) and any(a.name == "git" for a in node.names):
            found.append(f"{path.name}:{node.lineno}: imports GitPython")
    return found


def test_no_module_outside_agents_git_starts_git() -> None:
    offences = []
    for path in sorted(AGENTS.rglob("*.py")):
        if path.parent.name == "git" and path.parent.parent == AGENTS:
            continue
        offences += [f"{path.relative_to(AGENTS)}: {o}" for o in _offences(path)]
    assert offences == []
    # Inside agents/git/, only cmd.py runs git (GitRepo, checkpoints and diffs go through it).
    for path in sorted((AGENTS / "git").glob("*.py")):
        if path.name != "cmd.py":
            assert _offences(path) == [], path
            assert "subprocess" not in path.read_text(encoding="utf-8"), path


def test_the_check_finds_a_module_that_runs_git_itself(tmp_path: Path) -> None:
    rogue = tmp_path / "rogue.py"
    rogue.write_text(
        "import asyncio, subprocess\nsubprocess.run(['git', 'status'])\n"
        "ARGV = ('git', '-c', 'x')\nsubprocess.Popen('git', shell=False)\n"
        "asyncio.create_subprocess_exec(*ARGV, 'status')\n"
        "argv = ['git', 'log']\nsubprocess.run(argv, check=True)\n"
        "TOOLS = ('git', 'tail')\n"  # a list of names, not run: no offence
    )
    assert len(_offences(rogue)) == 4


# -- planted hooks and fsmonitor ----------------------------------------------------------------


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    return tmp_path / "canary"


def _plant(config: Path, canary: Path, tmp_path: Path) -> None:
    """core.fsmonitor and core.hooksPath in a git config file, each touching ``canary``."""
    hooks = tmp_path / "planted-hooks"
    hooks.mkdir(exist_ok=True)
    script = f"#!/bin/sh\necho \"$0\" >> '{canary}'\nexit 0\n"
    for name in (
        "pre-commit",
        "commit-msg",
        "post-commit",
        "prepare-commit-msg",
        "post-checkout",
        "pre-auto-gc",
        "post-index-change",
        "reference-transaction",
        "fsmonitor",
    ):
        (hooks / name).write_text(script)
        (hooks / name).chmod(0o755)
    with config.open("a") as fh:
        fh.write(f"[core]\n\tfsmonitor = {hooks / 'fsmonitor'}\n\thooksPath = {hooks}\n")


def _control(repo: Path, canary: Path) -> None:
    """The plant works: git run plainly does run it (so a clean canary means something)."""
    subprocess.run(["git", "status"], cwd=repo, capture_output=True, check=True, timeout=60)
    assert canary.exists(), "the planted fsmonitor did not run for a plain git status"
    canary.unlink()


def test_a_planted_global_config_never_runs_for_the_demo_sandbox(
    tmp_path: Path, canary: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "global.gitconfig"  # the isolated global config of conftest.py
    config.write_text("[user]\n\tname = t\n\temail = t@example.com\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    _plant(config, canary, tmp_path)
    sandbox = make_sandbox(tmp_path / "sandbox", fast=True)
    assert not canary.exists(), canary.read_text()
    _control(sandbox, canary)


def test_a_planted_repo_config_never_runs_from_any_former_call_site(
    repo: Repo, tmp_path: Path, canary: Path
) -> None:
    base = repo.head()
    repo.write("lib/c.py", "print('changed')\n")
    repo.git("commit", "-qam", "second")
    _plant(repo.root / ".git" / "config", canary, tmp_path)
    repo.write("a.txt", "dirty\n")  # a dirty tree: status/diff refresh the index

    assert "a.txt" in (git_paths(repo.root) or ())
    assert [c.path for c in changed_paths(repo.root, f"{base}..HEAD")] == ["lib/c.py"]
    plan = watchkit.plan({1: [watchkit.agent(1, 1, "lib", ["c.py"])]})
    trees = create_worktrees(repo.root, plan, 1, base, tmp_path / "trees")
    assert worktree_changes(trees["w1-a1"], base) == set()
    assert asyncio.run(local_head(repo.root)) == repo.head()
    patch = repo.git("diff", "HEAD~1", "HEAD", "--binary").encode()
    repo.git("checkout", "-q", "HEAD~1", "--", "lib/c.py")
    repo.git("commit", "-qm", "undo", "--no-verify")
    canary.unlink(missing_ok=True)  # the fixture's own plain git may have run it
    assert asyncio.run(apply_patch(repo.root, patch)) == ["lib/c.py"]
    assert run_git(repo.root, ["status", "--porcelain"]).rc == 0
    assert not canary.exists(), canary.read_text()
    _control(repo.root, canary)


@pytest.mark.slow
def test_run_git_kills_a_command_past_its_timeout(repo: Repo, tmp_path: Path) -> None:
    """A hanging program git starts (here a pager-less credential-like alias) is stopped."""
    repo.git("config", "alias.hang", "!sleep 30")
    with pytest.raises(GitError, match="did not finish"):
        run_git(repo.root, ["hang"], timeout_s=0.5)


def test_run_git_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="not a folder"):
        run_git(tmp_path / "missing", ["status"])


def test_a_streamed_git_command_runs_with_the_safety_settings(
    repo: Repo, tmp_path: Path, canary: Path
) -> None:
    """``git_process`` (the pack sent to a host) never runs a planted fsmonitor either."""
    _plant(repo.root / ".git" / "config", canary, tmp_path)
    repo.write("a.txt", "dirty\n")

    assert stream_head_pack(repo.root).startswith(b"PACK")
    assert not canary.exists()


@pytest.mark.slow
def test_a_streamed_git_command_is_killed_with_its_children_past_its_timeout(repo: Repo) -> None:
    duration = "37.4193"  # a command line to find the child by
    repo.git("config", "alias.hang", f"!sleep {duration}")

    async def run() -> int:
        async with git_process(repo.root, ("hang",), timeout_s=0.5) as proc:
            return await asyncio.wait_for(proc.wait(), 20)

    assert asyncio.run(run()) < 0  # killed, not finished

    def sleepers() -> list[str]:
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
            except OSError:
                continue
            if duration.encode() in cmdline and state != b"Z":
                found.append(pid)
        return found

    assert wait_until(lambda: not sleepers(), 5), sleepers()
