"""What a wave's checkpoint would take, read from git: its paths sorted into what may go in.

``ChangeReader.read`` looks at what wave ``n`` changed since its base (git, in threads) and
fills a ``ChangesFound``: the paths each agent's issues own (``staged``), the accepted ones and
why, and everything that may not go in unasked, as ``StrayPath``s: files outside the plan,
files turned into symbolic links, the operator's own work mixed with the wave's
(``wavedeck.agents.wave.operator_work``) or changed again after their commits during the wave
(``wavedeck.agents.wave.head_move``), what collecting a worktree would overwrite, and each
change of ``.git`` (``wavedeck.agents.wave.tamperlog``). The operator's own untouched work and
what the run ignores (the watcher's rule) are left out. The checkpoint
(``wavedeck.agents.wave.checkpoint``) turns what was found into its preview and refusal.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from wavedeck.agents.git.busy import BusyState
from wavedeck.agents.git.tamper import TamperFinding
from wavedeck.agents.watch.ignores import Ignores
from wavedeck.agents.wave import gates, head_move, operator_work
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.gates import StrayPath
from wavedeck.agents.wave.tamperlog import TAMPER_KIND, TamperLog, finding_key
from wavedeck.agents.wave.worktree_mode import WorktreeMode

__all__ = ["ChangeReader", "ChangesFound"]


@dataclass
class ChangesFound:
    """What the preview read of a wave's changes (filled by ``ChangeReader.read``)."""

    git_error: str | None = None
    git_busy: BusyState | None = None
    work: operator_work.OperatorWork = field(default_factory=operator_work.OperatorWork)
    unknown: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    staged: dict[str, tuple[str, ...]] = field(default_factory=dict)
    why_accepted: dict[str, str] = field(default_factory=dict)
    stray: list[StrayPath] = field(default_factory=list)
    findings: list[TamperFinding] = field(default_factory=list)
    stale: bool = False
    ignored: tuple[str, ...] = ()  # changed paths nobody's work (the watcher's rule)
    move: head_move.HeadMove | None = None  # HEAD, when it is no longer the wave's base
    base: str | None = None  # what the changes were read against (the new HEAD once rebased)


LINK = "120000"  # git's mode of a symbolic link


def _link_detail(old_mode: str | None) -> str:
    if old_mode is None:
        return "a new symbolic link: a write through it lands in another file"
    return f"replaced by a symbolic link (mode {old_mode} -> {LINK}): a write through it lands in another file"


WORKTREE_DETAIL = (
    "changed in your working tree (during the wave or before it) and by an agent in its "
    "worktree: collecting would overwrite it; accept it to merge both"
)
CONFLICT_DETAIL = operator_work.CONFLICT_DETAIL


def _without_operator_work(
    paths: list[str], work: operator_work.OperatorWork, accepted: dict[str, str]
) -> tuple[list[str], list[str], list[str]]:
    """The changed paths the wave may commit (the operator's own work left out), the conflicts
    not yet accepted, and, when the start tree is gone, the changed files that may be the
    operator's (both listed and refused, never classified as the wave's)."""
    open_conflicts = [p for p in work.conflicts if p not in accepted]
    unknown: list[str] = []
    if work.missing:
        changed = set(paths)
        maybe = work.unknown if work.unknown is not None else sorted(changed)
        unknown = [p for p in maybe if p in changed and p not in accepted]
    skip = work.own | set(open_conflicts) | set(unknown)
    return [p for p in paths if p not in skip], open_conflicts, unknown


class ChangeReader:
    """Reads what a wave changed for its checkpoint (see the module docstring)."""

    def __init__(
        self, ctx: WaveContext, *, worktrees: WorktreeMode, tamper: TamperLog, ignores: Ignores
    ) -> None:
        """``ignores``: the run's one ignore rule, the watcher's too (what neither reports)."""
        self.ctx = ctx
        self.worktrees = worktrees
        self.tamper = tamper
        self.ignores = ignores

    async def _changed(
        self, head: str, accepted: dict[str, str], found: ChangesFound
    ) -> tuple[list[str], list[StrayPath]]:
        """The paths changed since ``head`` the wave may commit (a rename: both paths), what
        the run ignores left out (the watcher's rule: nobody's work here either, into
        ``found.ignored``), and the files turned into symbolic links (stray, never committed
        unasked whoever owns them: a write through one lands in another file)."""
        changed = await asyncio.to_thread(self.ctx.git.changed_files, head)
        ignored = await asyncio.to_thread(
            self.ignores.ignored, [p for c in changed for p in (c.path, c.old_path) if p]
        )
        found.ignored = tuple(sorted(ignored))
        paths: list[str] = []
        links: list[StrayPath] = []
        for item in changed:
            if item.path in ignored:
                continue
            if item.new_mode == LINK and item.old_mode != LINK and item.path not in accepted:
                links.append(StrayPath(item.path, "symlink", _link_detail(item.old_mode)))
                continue
            paths.append(item.path)
            if item.old_path and item.old_path not in ignored:
                paths.append(item.old_path)  # a rename also removes the old path
        return paths, links

    async def read(self, n: int, base: str, found: ChangesFound) -> None:
        """Read what wave ``n`` changed since ``base`` into ``found`` (git, in threads); all but
        whether the tests are stale, which is the checkpoint's to tell."""
        ctx = self.ctx
        rec = ctx.wave(n)
        found.git_busy = await asyncio.to_thread(ctx.git.in_progress_state)
        head = await asyncio.to_thread(ctx.git.head)
        paths, links = await self._changed(head, rec.accepted, found)
        start_tree = rec.start_tree
        if head != base:  # the operator committed during the wave (``head_move``)
            found.move = await asyncio.to_thread(
                head_move.read, ctx.git, base, head, start_tree, paths
            )
            if found.move.descends:  # read as if rebased onto their commits (else refused)
                base, start_tree = head, found.move.start_tree or start_tree
        found.base = base
        found.work = await asyncio.to_thread(
            operator_work.read, ctx.git, base, start_tree, rec.start_dirty
        )
        changed = list(paths)
        paths, conflicts, unknown = _without_operator_work(changed, found.work, rec.accepted)
        moved = found.move.blocked(rec.accepted) if found.move is not None else ()
        paths = [p for p in paths if p not in moved]
        blocked: list[str] = []
        if self.worktrees.enabled:
            writers = self.worktrees.writers(n)  # exact: each worktree had one writer
            # Not collected yet: what collecting would overwrite in the main tree is refused.
            blocked = [p for p in await self.worktrees.blocked(n) if p not in conflicts]
            conflicts += blocked
            paths = [p for p in paths if p not in blocked]
        else:
            writers = gates.foreign_writers(list(ctx.violations.get(n, [])))
        found.conflicts, found.unknown = tuple(conflicts), tuple(unknown)
        found.staged, found.why_accepted, stray = gates.classify_changes(
            ctx.plan,
            n,
            paths,
            accepted=rec.accepted,
            accept_globs=ctx.config.policy.accept,
            accept_undeclared=ctx.config.policy.accept_undeclared,
            writers=writers,
        )
        # A file mixing the operator's work with the wave's (or maybe theirs: the start tree is
        # gone) goes in only as accepted, one by one: the reason is recorded.
        mixed = set(found.work.conflicts) | set(found.move.both if found.move else ())
        if found.work.missing:
            mixed |= set(changed if found.work.unknown is None else found.work.unknown)
        found.why_accepted.update({p: rec.accepted[p] for p in sorted(mixed) if p in rec.accepted})
        kind, lost = operator_work.CONFLICT_KIND, found.move.lost if found.move else ()
        found.stray = [
            *(StrayPath(p, kind, head_move.LOST_DETAIL) for p in moved if p in lost),
            *(StrayPath(p, kind, head_move.MOVED_DETAIL) for p in moved if p not in lost),
            *(StrayPath(p, kind, operator_work.MISSING_DETAIL) for p in unknown),
            *(
                StrayPath(p, kind, WORKTREE_DETAIL if p in blocked else CONFLICT_DETAIL)
                for p in conflicts
            ),
            *links,
            *stray,
        ]
        before = self.tamper.recall(n)
        if before is not None:
            found.findings = await asyncio.to_thread(ctx.git.tamper_findings, before)
        # One stray per change of .git, each kept or undone on its own.
        found.stray += [StrayPath(finding_key(f), TAMPER_KIND, f.text) for f in found.findings]
