"""Worktree mode: one git worktree per agent, watched exactly.

Each agent of a wave works in its own worktree on the branch ``wavedeck/<id>``, started at the
wave's base commit, so a watcher on that worktree knows exactly who wrote each file
(``WorktreeWatch``). After the wave the supervisor copies each agent's changes into the main tree
(``wavedeck.agents.wave.worktree_mode``) and ``remove_worktrees`` removes the worktrees and branches.

``collision_check`` finds paths two agents changed (a ``collision`` violation, even when git could
merge them); ``CollisionTracker`` does the same live, from the watchers' ``FileTouched`` events.

Every git command goes through ``wavedeck.agents.git.cmd.run_git``: an argv list with hooks and fsmonitor
off, literal pathspecs, the repository's lock and a timeout.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from wavedeck.agents.events import Event, FileTouched, ViolationFound
from wavedeck.agents.git.cmd import run_git
from wavedeck.agents.git.errors import GitError
from wavedeck.agents.tasks import stop_task
from wavedeck.agents.watch.rules import Attribution, worktree_attributor
from wavedeck.agents.watch.watcher import WorkspaceWatcher
from wavedeck.plan.errors import WavedeckError
from wavedeck.plan.models import AGENT_ID_RE, Plan

BRANCH_PREFIX = "wavedeck/"
TIMEOUT_S = 120.0


class WorktreeError(WavedeckError):
    """Worktree mode could not do what was asked; the message says what, where and why."""


@dataclass(frozen=True)
class _Done:
    """A git command's outcome, named as the callers below read it."""

    returncode: int
    stdout: bytes
    stderr: bytes


def _git(
    cwd: Path,
    *args: str,
    check: bool = True,
    read_only: bool = False,
) -> _Done:
    try:
        done = run_git(cwd, args, read_only=read_only, timeout_s=TIMEOUT_S, check=False)
    except GitError as exc:
        raise WorktreeError(f"git {args[0]} in {cwd}: {exc}") from exc
    if done.timed_out:
        raise WorktreeError(f"git {args[0]} in {cwd} did not finish in {TIMEOUT_S:.0f}s")
    if check and done.rc != 0:
        err = done.err.strip()
        raise WorktreeError(f"git {args[0]} failed in {cwd}: {err or f'exit {done.rc}'}")
    return _Done(done.rc, done.out, done.err.encode())


def _out(cwd: Path, *args: str, read_only: bool = True) -> str:
    return _git(cwd, *args, read_only=read_only).stdout.decode("utf-8", "surrogateescape").strip()


def _z(data: bytes) -> list[str]:
    return [p.decode("utf-8", "surrogateescape") for p in data.split(b"\0") if p]


def branch_name(repo_root: Path, agent_id: str) -> str:
    """``wavedeck/<id>``, after checking the id and the resulting ref name."""
    if not AGENT_ID_RE.match(agent_id):
        raise WorktreeError(f"invalid agent id {agent_id!r}: expected w<wave>-a<agent>")
    branch = BRANCH_PREFIX + agent_id
    if _git(repo_root, "check-ref-format", f"refs/heads/{branch}", check=False).returncode:
        raise WorktreeError(f"{branch!r} is not a valid branch name")
    return branch


def _commit(repo_root: Path, rev: str) -> str:
    return _out(repo_root, "rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}")


def _ref_exists(repo_root: Path, ref: str) -> bool:
    probe = _git(repo_root, "rev-parse", "-q", "--verify", ref, check=False, read_only=True)
    return probe.returncode == 0


def create_worktrees(
    repo_root: Path, plan: Plan, wave: int, base_commit: str, dest_dir: Path
) -> dict[str, Path]:
    """One worktree per agent of ``wave`` at ``dest_dir/<id>`` on ``wavedeck/<id>``.

    The branch starts at ``base_commit``. A worktree already there on its branch is reused, and
    an existing branch is checked out as it is (an agent restarted in the same wave keeps its
    work). Returns ``{agent id: worktree path}`` in plan order.
    """
    base = _commit(repo_root, base_commit)
    dest = Path(os.path.abspath(dest_dir))
    dest.mkdir(parents=True, exist_ok=True)
    result: dict[str, Path] = {}
    for agent in plan.wave(wave).agents:
        branch = branch_name(repo_root, agent.id)
        path = dest / agent.id
        if path.exists():
            current = _git(path, "symbolic-ref", "-q", "HEAD", check=False, read_only=True)
            if current.stdout.decode().strip() != f"refs/heads/{branch}":
                raise WorktreeError(f"{path} exists but is not the worktree of {branch}")
        elif _ref_exists(repo_root, f"refs/heads/{branch}"):
            _git(repo_root, "worktree", "add", "-q", str(path), branch)
        else:
            _git(repo_root, "worktree", "add", "-q", "-b", branch, str(path), base)
        result[agent.id] = path
    return result


def worktree_changes(worktree: Path, base_commit: str) -> set[str]:
    """Paths that differ in ``worktree`` from ``base_commit``: committed, staged, unstaged,
    deleted and untracked (not ignored) files."""
    changed = _git(
        worktree, "diff", "--name-only", "--no-renames", "-z", base_commit, "--", read_only=True
    ).stdout
    untracked = _git(
        worktree, "ls-files", "--others", "--exclude-standard", "-z", read_only=True
    ).stdout
    return set(_z(changed)) | set(_z(untracked))


def collision_check(
    worktree_changes: Mapping[str, Iterable[str]],
) -> list[tuple[str, tuple[str, ...]]]:
    """Paths changed by more than one agent, with those agents (sorted), sorted by path."""
    by_path: dict[str, list[str]] = {}
    for agent, paths in worktree_changes.items():
        for path in set(paths):
            by_path.setdefault(path, []).append(agent)
    return sorted((p, tuple(sorted(a))) for p, a in by_path.items() if len(a) > 1)


def collision_violation(path: str, agents: tuple[str, ...]) -> ViolationFound:
    """The ``collision`` violation for a path several agents changed."""
    detail = f"changed by {' and '.join(agents)} in their own worktrees"
    return ViolationFound(None, path, "collision", agents, detail)


class CollisionTracker:
    """Live collisions in worktree mode: feed it each watcher's ``FileTouched`` (exactly
    attributed) and it returns a ``collision`` violation the first time a second agent touches
    a path. Start a new tracker for each wave."""

    def __init__(self) -> None:
        self._writers: dict[str, set[str]] = {}
        self._reported: set[str] = set()

    def touched(self, agent: str, path: str) -> ViolationFound | None:
        writers = self._writers.setdefault(path, set())
        writers.add(agent)
        if len(writers) < 2 or path in self._reported:
            return None
        self._reported.add(path)
        return collision_violation(path, tuple(sorted(writers)))

    def forget(self, path: str) -> None:
        """The path was reverted in every worktree: start counting its writers afresh."""
        self._writers.pop(path, None)
        self._reported.discard(path)


def _outside_worktrees(path: str) -> Attribution:
    why = "changed in the main working tree while agents work in worktrees"
    return Attribution(None, "unowned", (), why)


class WorktreeWatch:
    """One watcher per agent worktree (exact attribution) plus one on the main tree, as one
    event stream; a path touched in two worktrees adds a live ``collision`` violation.

    The main tree's watcher reports ``.git/config`` and hook tampering (worktrees share the
    repository's config) and flags any change there as ``unowned``: during a worktree wave no
    agent should write outside its worktree. Pass ``repo_root=None`` to leave it out.
    """

    def __init__(
        self,
        plan: Plan,
        wave: int,
        worktrees: Mapping[str, Path],
        *,
        repo_root: Path | None = None,
        ignores: Sequence[str] = (),
        force_polling: bool = False,
        accept: Sequence[str] = (),
        accept_undeclared: bool = False,
    ) -> None:
        self.collisions = CollisionTracker()
        self.watchers: dict[str, WorkspaceWatcher] = {
            aid: WorkspaceWatcher(
                path,
                ignores=ignores,
                force_polling=force_polling,
                watch_git=False,  # a worktree's .git is a file; the main tree watches config
                attribute=worktree_attributor(
                    plan, wave, aid, accept=accept, accept_undeclared=accept_undeclared
                ),
            )
            for aid, path in worktrees.items()
        }
        if repo_root is not None:
            self.watchers[""] = WorkspaceWatcher(
                repo_root,
                ignores=ignores,
                force_polling=force_polling,
                attribute=_outside_worktrees,
            )
        # Bounded: a consumer that stops reading holds the watchers back (they stop pulling
        # batches) instead of growing memory.
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=4096)

    async def wait_ready(self) -> None:
        """Until every watcher has its OS watch in place."""
        await asyncio.gather(*(w.ready.wait() for w in self.watchers.values()))

    async def settled(self) -> None:
        """Until no watcher holds a report back (each worktree's writer is exact: at once)."""
        for watcher in list(self.watchers.values()):
            await watcher.settled()

    def stop(self) -> None:
        for watcher in self.watchers.values():
            watcher.stop()

    def forget(self, path: str, *, settle_s: float = 1.0) -> None:
        """A path was reverted: every watcher and the collision count forget it."""
        self.collisions.forget(path)
        for watcher in self.watchers.values():
            watcher.forget(path, settle_s=settle_s)

    def accept(self, path: str) -> None:
        for watcher in self.watchers.values():
            watcher.accept(path)

    async def _pump(self, watcher: WorkspaceWatcher, exact: bool) -> None:
        async for event in watcher.events():  # a watcher turns its failures into Notices
            await self._queue.put(event)
            if exact and isinstance(event, FileTouched) and event.agent is not None:
                hit = self.collisions.touched(event.agent, event.path)
                if hit is not None:
                    await self._queue.put(hit)
        await self._queue.put(None)  # not reached when cancelled: nobody is reading then

    async def events(self) -> AsyncIterator[Event]:
        """Every watcher's events, interleaved, until all of them have ended."""
        tasks = [asyncio.create_task(self._pump(w, aid != "")) for aid, w in self.watchers.items()]
        running = len(tasks)
        try:
            while running:
                event = await self._queue.get()
                if event is None:
                    running -= 1
                else:
                    yield event
        finally:
            self.stop()
            for task in tasks:
                task.cancel()
            for task in tasks:
                await stop_task(task)  # even a cancel swallowed by a wait_for (agents.tasks)


def remove_worktrees(
    repo_root: Path, worktrees: Mapping[str, Path], *, delete_branches: bool = False
) -> None:
    """Remove the agents' worktrees (and their branches when asked), then prune git's records."""
    for aid, path in worktrees.items():
        if path.exists():
            _git(repo_root, "worktree", "remove", "--force", str(path))
        if delete_branches:
            branch = branch_name(repo_root, aid)
            if _ref_exists(repo_root, f"refs/heads/{branch}"):
                _git(repo_root, "branch", "-D", "--", branch)
    _git(repo_root, "worktree", "prune")
