"""Worktree mode: real repositories, real writer processes, merges that are conflict-free when
the plan holds, conflicts refused with the repository untouched, and collisions."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from agents.events import FileTouched, ViolationFound
from agents.watch.watcher import WorkspaceWatcher, worktree_attributor
from agents.watch.worktrees import (
    CollisionTracker,
    WorktreeConflict,
    WorktreeError,
    WorktreeWatch,
    branch_name,
    collision_check,
    create_worktrees,
    merge_wave,
    remove_worktrees,
    wave_changes,
)
from tests.unit.watch.watchkit import Collector, agent, plan, write

pytestmark = pytest.mark.timeout(90)

PLAN = plan(
    {
        1: [agent(1, 1, "pkg/a", ["x.py"]), agent(1, 2, "pkg/b", ["y.py"])],
        2: [agent(2, 1, "pkg/c", ["z.py"]), agent(2, 2, "pkg/a", ["x.py"])],
    }
)


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return proc.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "Dev")
    for rel in ("pkg/a/x.py", "pkg/b/y.py", "pkg/c/z.py", "README.md"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"{rel} v0\n")
    (root / ".git/info/exclude").write_text(".wavedeck/\n")
    git(root, "add", "--", ".")
    git(root, "commit", "-q", "-m", "base")
    return root


def snapshot(root: Path) -> tuple[str, str, str, str, dict[str, bytes]]:
    """HEAD, the branch, the index, the status and every working file's bytes."""
    files = {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.parts and ".wavedeck" not in p.parts
    }
    return (
        git(root, "rev-parse", "HEAD"),
        git(root, "symbolic-ref", "HEAD"),
        git(root, "ls-files", "-s"),
        git(root, "status", "--porcelain=v1"),
        files,
    )


async def test_two_waves_of_two_agents_merge_cleanly(repo: Path) -> None:
    dest = repo / ".wavedeck/worktrees"
    # the user's own uncommitted edit, on a file no agent touches, survives the merges
    (repo / "README.md").write_text("user's local edit\n")
    for wave, edits in (
        (1, {"w1-a1": ["pkg/a/x.py", "pkg/a/new_helper.py"], "w1-a2": ["pkg/b/y.py"]}),
        (2, {"w2-a1": ["pkg/c/z.py"], "w2-a2": ["pkg/a/x.py"]}),
    ):
        base = git(repo, "rev-parse", "HEAD")
        trees = create_worktrees(repo, PLAN, wave, base, dest)
        assert list(trees) == list(edits)
        assert all(git(p, "symbolic-ref", "HEAD") == f"refs/heads/wavedeck/{a}"
                   for a, p in trees.items())  # fmt: skip
        # one exactly-attributed watcher per worktree
        collectors = {
            aid: Collector(WorkspaceWatcher(path, attribute=worktree_attributor(PLAN, wave, aid)))
            for aid, path in trees.items()
        }
        for c in collectors.values():
            await c.__aenter__()
        try:
            for aid, rels in edits.items():
                write(*(trees[aid] / r for r in rels), text=f"{aid} edit\n")
            for aid, rels in edits.items():
                for rel in rels:
                    touched = await collectors[aid].touched(rel)
                    assert touched.agent == aid
        finally:
            for c in collectors.values():
                await c.__aexit__(None, None, None)
        violations = [v for c in collectors.values() for v in c.violations()]
        assert [(v.agent, v.path, v.kind) for v in violations] == (
            [("w1-a1", "pkg/a/new_helper.py", "undeclared")] if wave == 1 else []
        )
        assert collision_check(wave_changes(trees, base)) == []

        new = merge_wave(repo, PLAN, wave, trees)
        assert git(repo, "rev-parse", "HEAD") == new
        parents = git(repo, "rev-list", "--parents", "-n", "1", new).split()[1:]
        assert parents[0] == base and len(parents) == 1 + len(edits)
        assert git(repo, "log", "-1", "--format=%s", new) == (
            f"wavedeck: merge wave {wave} ({', '.join(edits)})"
        )
        for aid, rels in edits.items():
            for rel in rels:
                assert (repo / rel).read_text() == f"{aid} edit\n"
                assert git(repo, "show", f"{new}:{rel}") == f"{aid} edit"
        # only the user's edit is left as a local change
        assert git(repo, "status", "--porcelain=v1") == "M README.md"
        assert (repo / "README.md").read_text() == "user's local edit\n"
        remove_worktrees(repo, trees, delete_branches=True)
        assert not dest.joinpath("w1-a1").exists()
        assert git(repo, "branch", "--list", "wavedeck/*") == ""
    assert git(repo, "show", "HEAD:pkg/a/x.py") == "w2-a2 edit"


async def test_conflict_is_refused_and_the_repo_is_untouched(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    trees = create_worktrees(repo, PLAN, 1, base, repo / ".wavedeck/wt")
    # the plan is broken in practice: w1-a2 edits w1-a1's file differently
    tracker = CollisionTracker()
    collectors = {
        aid: Collector(WorkspaceWatcher(path, attribute=worktree_attributor(PLAN, 1, aid)))
        for aid, path in trees.items()
    }
    for c in collectors.values():
        await c.__aenter__()
    live: list[ViolationFound] = []
    try:
        for aid in trees:
            write(trees[aid] / "pkg/a/x.py", text=f"{aid} version\n")
        for aid, c in collectors.items():
            t = await c.touched("pkg/a/x.py")
            assert isinstance(t, FileTouched) and t.agent == aid
            hit = tracker.touched(aid, t.path)
            if hit is not None:
                live.append(hit)
        foreign = await collectors["w1-a2"].wait_for(
            lambda e: isinstance(e, ViolationFound) and e.path == "pkg/a/x.py"
        )
    finally:
        for c in collectors.values():
            await c.__aexit__(None, None, None)
    assert isinstance(foreign, ViolationFound) and foreign.kind == "foreign"
    assert [(v.path, v.kind, v.candidates) for v in live] == [
        ("pkg/a/x.py", "collision", ("w1-a1", "w1-a2"))
    ]
    assert collision_check(wave_changes(trees, base)) == [("pkg/a/x.py", ("w1-a1", "w1-a2"))]

    # the user has staged and unstaged work in the main tree
    (repo / "README.md").write_text("staged\n")
    git(repo, "add", "--", "README.md")
    (repo / "README.md").write_text("staged, then edited\n")
    before = snapshot(repo)
    with pytest.raises(WorktreeConflict) as caught:
        merge_wave(repo, PLAN, 1, trees)
    assert caught.value.paths == ("pkg/a/x.py",)
    assert caught.value.agents == ("w1-a1", "w1-a2")
    assert "pkg/a/x.py" in str(caught.value)
    assert snapshot(repo) == before
    remove_worktrees(repo, trees, delete_branches=True)


def test_local_changes_in_the_way_are_refused_untouched(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    trees = create_worktrees(repo, PLAN, 1, base, repo / ".wavedeck/wt")
    write(trees["w1-a1"] / "pkg/a/x.py", text="agent\n")
    (repo / "pkg/a/x.py").write_text("the user's uncommitted edit\n")
    before = snapshot(repo)
    with pytest.raises(WorktreeError, match="local changes"):
        merge_wave(repo, PLAN, 1, trees)
    assert snapshot(repo) == before


def test_nothing_to_merge_returns_head(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    trees = create_worktrees(repo, PLAN, 1, base, repo / ".wavedeck/wt")
    assert merge_wave(repo, PLAN, 1, trees) == base
    # re-creating reuses the worktrees (an agent restarted in the same wave keeps its work)
    write(trees["w1-a2"] / "pkg/b/y.py", text="kept\n")
    again = create_worktrees(repo, PLAN, 1, base, repo / ".wavedeck/wt")
    assert again == trees and (again["w1-a2"] / "pkg/b/y.py").read_text() == "kept\n"


def test_detached_head_is_refused(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    trees = create_worktrees(repo, PLAN, 1, base, repo / ".wavedeck/wt")
    git(repo, "checkout", "-q", "--detach")
    with pytest.raises(WorktreeError, match="detached"):
        merge_wave(repo, PLAN, 1, trees)


def test_names_are_validated(repo: Path) -> None:
    assert branch_name(repo, "w3-a12") == "wavedeck/w3-a12"
    for bad in ("w1-a1;rm", "../x", "W1-A1", "w1-a1/..", "-w1"):
        with pytest.raises(WorktreeError):
            branch_name(repo, bad)
    with pytest.raises(WorktreeError):
        create_worktrees(repo, PLAN, 1, "no-such-commit", repo / ".wavedeck/wt")


def test_collision_check_and_tracker() -> None:
    changes = {"w1-a1": {"a", "b"}, "w1-a2": {"b", "c"}, "w1-a3": {"b", "a"}}
    assert collision_check(changes) == [
        ("a", ("w1-a1", "w1-a3")),
        ("b", ("w1-a1", "w1-a2", "w1-a3")),
    ]
    t = CollisionTracker()
    assert t.touched("w1-a1", "p") is None and t.touched("w1-a1", "p") is None
    v = t.touched("w1-a2", "p")
    assert v is not None and v.kind == "collision" and v.candidates == ("w1-a1", "w1-a2")
    assert t.touched("w1-a3", "p") is None  # once
    t.forget("p")
    assert t.touched("w1-a3", "p") is None


def test_no_identity_configured_uses_the_fallback(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(repo, "config", "--unset", "user.email")
    git(repo, "config", "--unset", "user.name")
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.gitconfig
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(name, raising=False)
    base = git(repo, "rev-parse", "HEAD")
    trees = create_worktrees(repo, PLAN, 1, base, repo / ".wavedeck/wt")
    write(trees["w1-a2"] / "pkg/b/y.py", text="b\n")
    new = merge_wave(repo, PLAN, 1, trees)
    assert git(repo, "show", f"{new}:pkg/b/y.py") == "b"
    assert git(repo, "log", "-1", "--format=%ae", new) == "wavedeck@localhost"


def test_head_moved_during_the_merge_loses_nothing(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agents.watch.worktrees as worktree

    base = git(repo, "rev-parse", "HEAD")
    trees = create_worktrees(repo, PLAN, 1, base, repo / ".wavedeck/wt")
    write(trees["w1-a1"] / "pkg/a/x.py", text="agent\n")
    # someone commits on main between our tree update and the compare-and-swap
    other = git(repo, "commit-tree", f"{base}^{{tree}}", "-p", base, "-m", "concurrent")
    real = worktree._git

    def racing(cwd: Path, *args: str, **kw: object) -> object:
        if args[:1] == ("update-ref",):
            git(repo, "update-ref", "refs/heads/main", other, base)
        return real(cwd, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(worktree, "_git", racing)
    with pytest.raises(WorktreeError, match="moved"):
        merge_wave(repo, PLAN, 1, trees)
    assert git(repo, "rev-parse", "HEAD") == other  # the concurrent commit is kept
    assert (repo / "pkg/a/x.py").read_text() == "pkg/a/x.py v0\n"  # the checkout was undone
    assert git(repo, "status", "--porcelain=v1") == ""


def test_agents_that_commit_as_they_go(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    trees = create_worktrees(repo, PLAN, 1, base, repo / ".wavedeck/wt")
    write(trees["w1-a2"] / "pkg/b/y.py", text="committed by the agent\n")
    git(trees["w1-a2"], "commit", "-q", "-am", "agent's own commit")
    write(trees["w1-a2"] / "pkg/b/y.py", text="and then edited again\n")
    write(trees["w1-a1"] / "pkg/a/x.py", text="a1\n")
    new = merge_wave(repo, PLAN, 1, trees, message="wave 1 checkpoint\n\nWavedeck-Wave: 1\n")
    assert git(repo, "show", f"{new}:pkg/b/y.py") == "and then edited again"
    assert git(repo, "log", "-1", "--format=%B", new).startswith("wave 1 checkpoint")
    assert "agent's own commit" in git(repo, "log", "--format=%s", new)


async def test_worktree_watch_one_stream_with_live_collisions_and_tamper(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    trees = create_worktrees(repo, PLAN, 1, base, repo / ".wavedeck/wt")
    watch = WorktreeWatch(PLAN, 1, trees, repo_root=repo)
    events: list[object] = []
    got = asyncio.Event()

    async def consume() -> None:
        async for event in watch.events():
            events.append(event)
            got.set()

    def violations() -> dict[tuple[str, str], ViolationFound]:
        return {(v.path, v.kind): v for v in events if isinstance(v, ViolationFound)}

    task = asyncio.create_task(consume())
    await asyncio.wait_for(watch.wait_ready(), 10)
    write(trees["w1-a1"] / "pkg/a/x.py", text="a1\n")
    write(trees["w1-a2"] / "pkg/a/x.py", text="a2\n")  # foreign, and a collision
    write(repo / "stray.txt")  # outside every worktree
    # an agent plants an fsmonitor from its worktree: it lands in the shared .git/config
    git(trees["w1-a2"], "config", "core.fsmonitor", "/tmp/evil")
    wanted = {
        ("pkg/a/x.py", "foreign"),
        ("pkg/a/x.py", "collision"),
        ("stray.txt", "unowned"),
        (".git/config", "tamper"),
    }
    async with asyncio.timeout(20):
        while not wanted <= set(violations()):
            got.clear()
            await got.wait()
    watch.stop()
    await asyncio.wait_for(task, 10)
    found = violations()
    assert found[("pkg/a/x.py", "foreign")].agent == "w1-a2"
    assert found[("pkg/a/x.py", "collision")].candidates == ("w1-a1", "w1-a2")
    assert "main working tree" in found[("stray.txt", "unowned")].detail
    assert "core.fsmonitor" in found[(".git/config", "tamper")].detail
    touched = [(e.agent, e.path) for e in events if isinstance(e, FileTouched)]
    assert ("w1-a1", "pkg/a/x.py") in touched and ("w1-a2", "pkg/a/x.py") in touched
