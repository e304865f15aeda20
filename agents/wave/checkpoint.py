"""A wave's tests and checkpoint, for the supervisor: run, preview, commit, refuse with reasons.

The tests are the config's commands, else the plan's, run with ``sh -c`` from the repository root
(see ``wavedeck.agents.wave.testrun``: shell commands by design, shown before they run). The checkpoint stages
exactly the wave's changed paths (since the commit recorded when the wave started) that the plan
assigns to its agents or that were accepted (policy or operator); any other changed path is
listed and the checkpoint refused, as it is while the tests have not passed, during a merge or
rebase, or after the repository's git configuration or hooks changed during the wave. The
operator's own work (files dirty when the wave started, ``wavedeck.agents.wave.operator_work``) is left out;
a file both they and the wave changed is refused by name until accepted or reverted.

``Checkpointer`` is the part of the supervisor that does it; it holds the supervisor's
``WaveContext`` and the parts it needs (the watch, which it stops after a commit; the worktrees,
collected before the tests; the wave-start tamper snapshots).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from wavedeck.agents.events import Notice, TestOutput, ViolationFound
from wavedeck.agents.git.errors import CheckpointIndexStale, CheckpointRefused, GitError
from wavedeck.agents.git.tamper import TamperFinding
from wavedeck.agents.kinds import Refusal
from wavedeck.agents.local import sandbox
from wavedeck.agents.markers import read_marker, write_marker
from wavedeck.agents.presets.usage import UsageTotal, of_record
from wavedeck.agents.state import AgentRecord
from wavedeck.agents.watch.ignores import Ignores
from wavedeck.agents.wave import commit_checks, gates, operator_work, transitions
from wavedeck.agents.wave.commit_checks import CommitFacts
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.evidence import Evidence, done_issues, issue_evidence
from wavedeck.agents.wave.gates import CheckpointPreview, StrayPath
from wavedeck.agents.wave.tamperlog import TAMPER_KEY, TamperLog
from wavedeck.agents.wave.testrun import run_tests
from wavedeck.agents.wave.watching import WaveWatch
from wavedeck.agents.wave.worktree_mode import WorktreeMode
from wavedeck.plan.models import Wave

__all__ = ["Checkpointer"]


@dataclass
class _Found:
    """What the preview read of a wave's changes (filled by ``Checkpointer._read_changes``)."""

    git_error: str | None = None
    git_busy: str | None = None
    work: operator_work.OperatorWork = field(default_factory=operator_work.OperatorWork)
    conflicts: tuple[str, ...] = ()
    staged: dict[str, tuple[str, ...]] = field(default_factory=dict)
    why_accepted: dict[str, str] = field(default_factory=dict)
    stray: list[StrayPath] = field(default_factory=list)
    findings: list[TamperFinding] = field(default_factory=list)
    stale: bool = False
    ignored: tuple[str, ...] = ()  # changed paths nobody's work (the watcher's rule)


LINK = "120000"  # git's mode of a symbolic link


def _link_detail(old_mode: str | None) -> str:
    if old_mode is None:
        return "a new symbolic link: a write through it lands in another file"
    return f"replaced by a symbolic link (mode {old_mode} -> {LINK}): a write through it lands in another file"


def usage_of_wave(agents: dict[str, AgentRecord], wave: Wave) -> dict[str, UsageTotal]:
    """Agent id -> the usage its CLI reported (agent presets), for the message."""
    return {a.id: of_record(agents[a.id]) for a in wave.agents if a.id in agents}


def _without_operator_work(
    paths: list[str], work: operator_work.OperatorWork, accepted: dict[str, str]
) -> tuple[list[str], list[str]]:
    """The changed paths the wave may commit (the operator's own work left out), and the
    conflicts not yet accepted (listed and refused, never classified as the wave's)."""
    open_conflicts = [p for p in work.conflicts if p not in accepted]
    skip = work.own | set(open_conflicts)
    return [p for p in paths if p not in skip], open_conflicts


def with_writers(accepted: dict[str, str], violations: list[ViolationFound]) -> dict[str, str]:
    """The accepted paths' reasons, each with who the watcher saw write it and how that is
    known (``written by w1-a2, exact``; ``writer unknown``): what the ``Wavedeck-Accepted``
    trailers record."""
    seen = {v.path: v for v in violations}
    out = {}
    for path, why in accepted.items():
        found = seen.get(path)
        if found is None:
            out[path] = why
        elif found.agent is None:
            out[path] = f"{why}; writer unknown"
        else:
            out[path] = f"{why}; written by {found.agent}, {found.attribution}"
    return out


class Checkpointer:
    """A wave's tests, its checkpoint preview and its commit (see the module docstring)."""

    def __init__(
        self,
        ctx: WaveContext,
        *,
        watch: WaveWatch,
        worktrees: WorktreeMode,
        tamper: TamperLog,
        ignores: Ignores,
    ) -> None:
        """``ignores``: the run's one ignore rule, the watcher's too (what neither reports)."""
        self.ctx = ctx
        self.watch = watch
        self.worktrees = worktrees
        self.tamper = tamper
        self.ignores = ignores

    def can_run_tests(self, n: int) -> Refusal | None:
        ctx = self.ctx
        return gates.can_run_tests(ctx.plan, ctx.views(), n, ctx.test_commands())

    def can_commit(self, n: int) -> Refusal | None:
        return gates.can_commit(self.ctx.plan, self.ctx.views(), n)

    def violations(self, n: int) -> list[ViolationFound]:
        return list(self.ctx.violations.get(n, []))

    def tests_summary(self, n: int) -> str:
        ctx = self.ctx
        rec = ctx.wave(n).tests
        if rec is None:
            return "not run"
        verdict = "passed" if rec.passed else "failed"
        return f"{verdict} in {rec.duration_s:.1f}s ({len(rec.results)} command(s))"

    async def run_tests(self, n: int) -> bool:
        """Run the wave's tests, streaming ``TestOutput``; True when every command passed."""
        ctx = self.ctx
        refused = self.can_run_tests(n)
        if refused is not None:
            ctx.refuse(refused)
            return False
        if self.worktrees.enabled and not await self.worktrees.collect(n):
            return False  # collect emitted the GateRefused
        await self.watch.settled()  # a write still waiting for its writer is judged first
        commands = ctx.test_commands()
        transitions.tests_started(ctx, n, tuple(commands))
        try:
            result = await run_tests(
                commands,
                ctx.repo,
                ctx.config.tests.timeout_s,
                lambda line: ctx.emit(TestOutput(n, line)),
            )
            base = ctx.wave(n).base_commit
            if base is not None:
                # What the tests saw, to notice files changed between the tests and the commit.
                mark = await asyncio.to_thread(self.fingerprint, base)
                write_marker(self._tested_file(n), {"fingerprint": mark})
        except BaseException:
            transitions.tests_interrupted(ctx, n)  # the tests count as not run
            raise
        transitions.tests_finished(ctx, n, result)
        return result.passed

    def _tested_file(self, n: int) -> Path:
        ctx = self.ctx
        return ctx.wavedeck_dir / f"tests-wave-{n}.json"

    def fingerprint(self, base: str) -> str:
        """A digest of every changed path and its content since ``base`` (blocking)."""
        ctx = self.ctx
        digest = hashlib.sha256()
        for item in ctx.git.changed_files(base):
            digest.update(item.path.encode("utf-8", "surrogateescape") + b"\0")
            target = ctx.repo / item.path
            try:
                digest.update(target.read_bytes() if not target.is_symlink() else b"link")
            except OSError:
                digest.update(b"<gone>")
            digest.update(b"\0")
        return digest.hexdigest()

    def _tested_fingerprint(self, n: int) -> str | None:
        data = read_marker(self._tested_file(n))
        value = data.get("fingerprint") if isinstance(data, dict) else None
        return str(value) if value else None

    def evidence(self, n: int) -> dict[str, Evidence]:
        """What shows each issue of wave ``n`` done, or not (``evidence.issue_evidence``)."""
        ctx = self.ctx
        return issue_evidence(ctx.plan, n, ctx.state.agents, ctx.wave(n).reverted)

    def _message(self, n: int, accepted: dict[str, str]) -> str:
        """The checkpoint message (``wavedeck.agents.wave.message``): wave, issues and outcomes, tests, trailers."""
        ctx = self.ctx
        from wavedeck.agents.wave.message import checkpoint_message

        tests = ctx.wave(n).tests
        results = [(command, code == 0) for command, code in tests.results] if tests else []
        return checkpoint_message(
            ctx.plan,
            n,
            self.evidence(n),
            results,
            accepted,
            tests_duration_s=tests.duration_s if tests else None,
            usage=usage_of_wave(ctx.state.agents, ctx.plan.wave(n)),
            sandbox=sandbox.trailer(ctx.wave(n).sandbox),
        )

    async def preview(self, n: int) -> CheckpointPreview:
        """What a checkpoint of wave ``n`` would commit, what it would leave out, and any refusal
        (the first of ``commit_checks.CHECKS`` over what was found)."""
        ctx = self.ctx
        await self.watch.settled()  # every write's writer decided: the violations are final
        rec = ctx.wave(n)
        wave = ctx.plan.wave(n)
        issues_done = done_issues(self.evidence(n))
        tests_passed = rec.tests.passed if rec.tests is not None else None
        found = _Found()
        if rec.base_commit is not None:
            try:
                await self._read_changes(n, rec.base_commit, found)
            except GitError as exc:  # a refusal the operator can read, never a crash
                found.git_error = str(exc)
        facts = CommitFacts(
            wave=n,
            gate=self.can_commit(n),
            git_error=found.git_error,
            git_busy=found.git_busy,
            conflicts=found.conflicts,
            stray=tuple(found.stray),
            tests_stale=found.stale,
            staged=bool(found.staged),
        )
        accepted = with_writers(found.why_accepted, self.violations(n))
        tamper = [f.text for f in found.findings]
        if tamper and TAMPER_KEY in rec.accepted:
            accepted[TAMPER_KEY] = f"{rec.accepted[TAMPER_KEY]}: " + "; ".join(tamper)
        return CheckpointPreview(
            wave=n,
            files_by_agent=found.staged,
            accepted=accepted,
            stray=tuple(found.stray),
            violations=tuple(self.violations(n)),
            issues=wave.issue_ids,
            issues_done=issues_done,
            tests_passed=tests_passed,
            tests_summary=self.tests_summary(n),
            message=self._message(n, accepted),
            refusal=commit_checks.refusal(facts),
            tamper=tuple(tamper),
            tamper_findings=tuple(found.findings),
            base=rec.base_commit,
            tests_stale=found.stale,
            operator_own=tuple(sorted(found.work.own)),
            ignored=found.ignored,
        )

    async def _read_changes(self, n: int, base: str, found: _Found) -> None:
        """Read what wave ``n`` changed since ``base`` into ``found`` (git, in threads)."""
        ctx = self.ctx
        rec = ctx.wave(n)
        found.git_busy = await asyncio.to_thread(ctx.git.in_progress_state)
        paths: list[str] = []
        links: list[StrayPath] = []
        changed = await asyncio.to_thread(ctx.git.changed_files, base)
        # The watcher's rule: what it never reports is nobody's work here either.
        ignored = await asyncio.to_thread(
            self.ignores.ignored, [p for c in changed for p in (c.path, c.old_path) if p]
        )
        found.ignored = tuple(sorted(ignored))
        for item in changed:
            if item.path in ignored:
                continue
            if item.new_mode == LINK and item.old_mode != LINK and item.path not in rec.accepted:
                # A file turned into (or made as) a symbolic link: a write through it lands in
                # another file. Never committed unasked, whoever owns the path.
                links.append(StrayPath(item.path, "symlink", _link_detail(item.old_mode)))
                continue
            paths.append(item.path)
            if item.old_path and item.old_path not in ignored:
                paths.append(item.old_path)  # a rename also removes the old path
        found.work = await asyncio.to_thread(operator_work.read, ctx.git, base, rec.start_tree)
        paths, conflicts = _without_operator_work(paths, found.work, rec.accepted)
        found.conflicts = tuple(conflicts)
        if self.worktrees.enabled:
            writers = self.worktrees.writers(n)  # exact: each worktree had one writer
        else:
            writers = gates.foreign_writers(self.violations(n))
        found.staged, found.why_accepted, stray = gates.classify_changes(
            ctx.plan,
            n,
            paths,
            accepted=rec.accepted,
            accept_globs=ctx.config.policy.accept,
            accept_undeclared=ctx.config.policy.accept_undeclared,
            writers=writers,
        )
        found.why_accepted.update(
            {p: rec.accepted[p] for p in found.work.conflicts if p in rec.accepted}
        )
        conflict_kind, detail = operator_work.CONFLICT_KIND, operator_work.CONFLICT_DETAIL
        found.stray = [StrayPath(p, conflict_kind, detail) for p in conflicts] + links + stray
        before = self.tamper.recall(n)
        if before is not None:
            found.findings = await asyncio.to_thread(ctx.git.tamper_findings, before)
        tamper = [f.text for f in found.findings]
        if tamper and TAMPER_KEY not in rec.accepted:
            found.stray.append(StrayPath(TAMPER_KEY, "tamper", "; ".join(tamper)))
        tested = self._tested_fingerprint(n)
        if rec.tests is not None and rec.tests.passed and tested is not None:
            found.stale = await asyncio.to_thread(self.fingerprint, base) != tested

    async def commit(self, n: int, *, message: str | None, accept_violations: bool) -> str | None:
        """Commit wave ``n``'s checkpoint; None (and a ``GateRefused``) when refused.

        A commit made while the user's index could not be refreshed (``CheckpointIndexStale``)
        counts as committed, with a warning ``Notice`` saying how to refresh the index.
        """
        ctx = self.ctx
        ctx.bind_loop()  # git's lock-wait notices come from a worker thread
        view = await self.preview(n)
        rec = ctx.wave(n)
        # Files mixing the operator's own work with the wave's are accepted one by one, never
        # in bulk.
        strays = [s for s in view.stray if s.kind != operator_work.CONFLICT_KIND]
        if accept_violations and strays and self.can_commit(n) is None:
            for item in strays:
                rec.accepted[item.path] = gates.OPERATOR_ACCEPT
            ctx.save()
            ctx.emit(
                Notice("warning", f"wave {n}: accepted {len(strays)} path(s) outside the plan")
            )
            view = await self.preview(n)
        if view.refusal is not None:
            ctx.refuse(view.refusal)
            return None
        if view.tamper:
            ctx.emit(
                Notice(
                    "warning",
                    "git configuration changed during the wave: " + "; ".join(view.tamper),
                )
            )
        text = view.message
        if message and message.strip():
            from wavedeck.agents.wave.message import with_current_trailers

            text = with_current_trailers(message, view.message)
        stale: CheckpointIndexStale | None = None
        try:
            sha: str = await asyncio.to_thread(
                ctx.git.checkpoint, list(view.paths), text, expected_head=rec.base_commit
            )
        except CheckpointIndexStale as exc:
            # The commit was made and the branch points at it: recording a failure would leave
            # the wave open on a committed checkpoint. Only the user's index is behind.
            sha, stale = exc.sha, exc
        except CheckpointRefused as exc:
            ctx.refuse(Refusal("commit-refused", n, paths=exc.paths, detail=exc.reason))
            return None
        except GitError as exc:
            ctx.refuse(Refusal("git-error", n, detail=str(exc)))
            return None
        transitions.checkpoint_recorded(ctx, n, sha)
        await self.watch.stop()
        if self.worktrees.enabled:
            await self.worktrees.cleanup(n)
        if stale is not None:
            ctx.emit(Notice("warning", str(stale), commit=stale.sha, paths=tuple(stale.paths)))
        transitions.checkpoint_announced(ctx, n, sha, view.issues_done)
        return sha
