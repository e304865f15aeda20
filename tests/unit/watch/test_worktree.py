"""Worktree mode: real repositories, real writer processes, each worktree watched with an exact
attribution, names validated, and collisions (after the wave and live)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.sandboxkit import git
from tests.unit.watch.watchkit import Collector, agent, plan, write
from wavedeck.agents.events import FileTouched, ViolationFound
from wavedeck.agents.watch.rules import worktree_attributor
from wavedeck.agents.watch.watcher import WorkspaceWatcher
from wavedeck.agents.watch.worktrees import (
    CollisionTracker,
    WorktreeError,
    WorktreeWatch,
    branch_name,
    collision_check,
    create_worktrees,
    remove_worktrees,
    worktree_changes,
)

pytestmark = pytest.mark.timeout(90)

PLAN = plan(
    {
        1: [agent(1, 1, "pkg/a", ["x.py"]), agent(1, 2, "pkg/b", ["y.py"])],
        2: [agent(2, 1, "pkg/c", ["z.py"]), agent(2, 2, "pkg/a", ["x.py"])],
    }
)


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


@pytest.mark.slow
async def test_each_worktree_is_watched_exactly_then_removed(repo: Path) -> None:
    dest = repo / ".wavedeck/worktrees"
    # the user's own uncommitted edit, on a file no agent touches, is never touched
    (repo / "README.md").write_text("user's local edit\n")
    wave, edits = 1, {"w1-a1": ["pkg/a/x.py", "pkg/a/new_helper.py"], "w1-a2": ["pkg/b/y.py"]}
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
    assert [(v.agent, v.path, v.kind) for v in violations] == [
        ("w1-a1", "pkg/a/new_helper.py", "undeclared")
    ]
    changes = {aid: worktree_changes(tree, base) for aid, tree in trees.items()}
    assert {a: sorted(p) for a, p in changes.items()} == {a: sorted(r) for a, r in edits.items()}
    assert collision_check(changes) == []
    assert git(repo, "status", "--porcelain=v1") == "M README.md"
    remove_worktrees(repo, trees, delete_branches=True)
    assert not dest.joinpath("w1-a1").exists()
    assert git(repo, "branch", "--list", "wavedeck/*") == ""
    assert (repo / "README.md").read_text() == "user's local edit\n"


def test_creating_the_worktrees_again_reuses_them(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    trees = create_worktrees(repo, PLAN, 1, base, repo / ".wavedeck/wt")
    # re-creating reuses the worktrees (an agent restarted in the same wave keeps its work)
    write(trees["w1-a2"] / "pkg/b/y.py", text="kept\n")
    again = create_worktrees(repo, PLAN, 1, base, repo / ".wavedeck/wt")
    assert again == trees and (again["w1-a2"] / "pkg/b/y.py").read_text() == "kept\n"


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


@pytest.mark.slow
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
