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
import json
import time
from pathlib import Path

from wavedeck.agents.events import (
    CheckpointCommitted,
    GateRefused,
    Notice,
    TestOutput,
    TestsFinished,
    TestsStarted,
    ViolationFound,
    WaveStateChanged,
)
from wavedeck.agents.git import content
from wavedeck.agents.git.errors import CheckpointIndexStale, GitError
from wavedeck.agents.git.tamper import TamperFinding
from wavedeck.agents.presets.usage import UsageTotal, of_record
from wavedeck.agents.state import AgentRecord, TestRecord
from wavedeck.agents.wave import gates, operator_work, tamperlog
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.gates import CheckpointPreview, StrayPath
from wavedeck.agents.wave.tamperlog import TAMPER_KEY, TAMPER_KIND, TamperLog, finding_key
from wavedeck.agents.wave.testrun import run_tests
from wavedeck.agents.wave.watching import WaveWatch
from wavedeck.agents.wave.worktree_mode import WorktreeMode
from wavedeck.plan.models import Wave

__all__ = ["TAMPER_KEY", "Checkpointer"]


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


class Checkpointer:
    """A wave's tests, its checkpoint preview and its commit (see the module docstring)."""

    def __init__(
        self,
        ctx: WaveContext,
        *,
        watch: WaveWatch,
        worktrees: WorktreeMode,
        tamper: TamperLog,
    ) -> None:
        self.ctx = ctx
        self.watch = watch
        self.worktrees = worktrees
        self.tamper = tamper
        self._tested: dict[int, str] = {}  # wave -> the fingerprint its passing tests saw

    def can_run_tests(self, n: int) -> tuple[bool, str]:
        ctx = self.ctx
        return gates.can_run_tests(ctx.plan, ctx.views(), n, ctx.test_commands())

    def can_commit(self, n: int) -> tuple[bool, str]:
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
        ok, why = self.can_run_tests(n)
        if not ok:
            ctx.refuse(n, why)
            return False
        if self.worktrees.enabled and not await self.worktrees.collect(n):
            return False  # collect emitted the GateRefused
        commands = ctx.test_commands()
        ctx.testing.add(n)
        ctx.wave(n).state = "testing"
        ctx.emit(WaveStateChanged(n, "testing"))
        ctx.emit(TestsStarted(n, tuple(commands)))
        try:
            result = await run_tests(
                commands,
                ctx.repo,
                ctx.config.tests.timeout_s,
                lambda line: ctx.emit(TestOutput(n, line)),
            )
        except asyncio.CancelledError:
            ctx.wave(n).state = "running"  # interrupted: the tests count as not run
            raise
        finally:
            ctx.testing.discard(n)
        rec = ctx.wave(n)
        rec.tests = TestRecord(
            passed=result.passed,
            duration_s=result.duration_s,
            results=list(result.results),
            finished_at=time.time(),
        )
        rec.state = "tested" if result.passed else "running"
        if rec.base_commit is not None:
            # What the tests saw, to notice files changed between the tests and the checkpoint.
            mark = await asyncio.to_thread(self.fingerprint, rec.base_commit)
            self._tested[n] = mark  # this control room checks against it even on a full disk
            try:
                self._tested_file(n).write_text(json.dumps({"fingerprint": mark}), "utf-8")
            except OSError as exc:
                ctx.emit(
                    Notice("error", f"cannot write {self._tested_file(n)}: {exc.strerror or exc}")
                )
        ctx.save()
        ctx.emit(TestsFinished(n, result.passed, result.duration_s, result.results))
        ctx.emit(WaveStateChanged(n, rec.state))
        ctx.changed()
        return result.passed

    def _tested_file(self, n: int) -> Path:
        ctx = self.ctx
        return ctx.wavedeck_dir / f"tests-wave-{n}.json"

    def fingerprint(self, base: str) -> str:
        """A digest of every changed path and its content since ``base`` (blocking; files are
        read a chunk at a time: a 1 GiB file costs one chunk of memory)."""
        ctx = self.ctx
        return content.fingerprint(ctx.repo, (f.path for f in ctx.git.changed_files(base)))

    def _tested_fingerprint(self, n: int) -> str | None:
        if n in self._tested:
            return self._tested[n]
        try:
            data = json.loads(self._tested_file(n).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        value = data.get("fingerprint") if isinstance(data, dict) else None
        return str(value) if value else None

    def _message(self, n: int, accepted: dict[str, str]) -> str:
        """The checkpoint message (``wavedeck.agents.wave.message``): wave, issues and outcomes, tests, trailers."""
        ctx = self.ctx
        from wavedeck.agents.wave.message import checkpoint_message

        wave = ctx.plan.wave(n)
        outcomes: dict[str, str] = {}
        for agent in wave.agents:
            rec = ctx.agent_record(agent.id)
            outcomes.update({k: v or "done" for k, v in rec.outcomes.items()})
            if rec.marked_done:
                for issue in agent.issues:
                    if issue.id not in rec.issues_done:
                        outcomes[issue.id] = (
                            f"not reported done; {agent.id} marked done: {rec.marked_done}"
                        )
        tests = ctx.wave(n).tests
        results = [(command, code == 0) for command, code in tests.results] if tests else []
        return checkpoint_message(
            ctx.plan,
            n,
            outcomes,
            results,
            accepted,
            tests_duration_s=tests.duration_s if tests else None,
            usage=usage_of_wave(ctx.state.agents, ctx.plan.wave(n)),
        )

    async def preview(self, n: int) -> CheckpointPreview:
        """What a checkpoint of wave ``n`` would commit, what it would leave out, and any refusal."""
        ctx = self.ctx
        rec = ctx.wave(n)
        wave = ctx.plan.wave(n)
        issues_done = tuple(i for a in wave.agents for i in ctx.agent_record(a.id).issues_done)
        tests_passed = rec.tests.passed if rec.tests is not None else None
        refusal: str | None = None
        ok, why = self.can_commit(n)
        if not ok:
            refusal = why
        staged: dict[str, tuple[str, ...]] = {}
        why_accepted: dict[str, str] = {}
        stray: list[StrayPath] = []
        findings: list[TamperFinding] = []
        tamper: list[str] = []  # the findings as lines, for the operator
        stale = False
        work: operator_work.OperatorWork | None = None
        if rec.base_commit is not None:
            try:
                state = await asyncio.to_thread(ctx.git.in_progress_state)
                if state and refusal is None:
                    refusal = f"a git {state} is in progress: finish or abort it first"
                changed = await asyncio.to_thread(ctx.git.changed_files, rec.base_commit)
                paths: list[str] = []
                for item in changed:
                    paths.append(item.path)
                    if item.old_path:
                        paths.append(item.old_path)  # a rename also removes the old path
                work = await asyncio.to_thread(
                    operator_work.read, ctx.git, rec.base_commit, rec.start_tree
                )
                paths, conflicts = _without_operator_work(paths, work, rec.accepted)
                if self.worktrees.enabled:
                    writers = self.worktrees.writers(n)  # exact: each worktree had one writer
                else:
                    writers = gates.foreign_writers(self.violations(n))
                staged, why_accepted, stray = gates.classify_changes(
                    ctx.plan,
                    n,
                    paths,
                    accepted=rec.accepted,
                    accept_globs=ctx.config.policy.accept,
                    accept_undeclared=ctx.config.policy.accept_undeclared,
                    writers=writers,
                )
                why_accepted.update(
                    {p: rec.accepted[p] for p in work.conflicts if p in rec.accepted}
                )
                stray[:0] = [
                    StrayPath(p, operator_work.CONFLICT_KIND, operator_work.CONFLICT_DETAIL)
                    for p in conflicts
                ]
                if refusal is None and conflicts:
                    refusal = operator_work.refusal(n, conflicts)
                before = self.tamper.recall(n)
                if before is not None:
                    findings = await asyncio.to_thread(ctx.git.tamper_findings, before)
                tamper = [f.text for f in findings]
                # One stray per change of .git, each confirmed or undone on its own.
                stray += [StrayPath(finding_key(f), TAMPER_KIND, f.text) for f in findings]
                if refusal is None and findings:
                    refusal = tamperlog.refusal(n, findings)
                if refusal is None and stray:
                    shown = ", ".join(s.path for s in stray[:10])
                    more = f" (+{len(stray) - 10} more)" if len(stray) > 10 else ""
                    refusal = (
                        f"{len(stray)} changed path(s) are outside the plan for wave {n} and not "
                        f"accepted: {shown}{more}; {gates.STRAY_WAYS_OUT}"
                    )
                tested = self._tested_fingerprint(n)
                if tests_passed and tested is not None:
                    now = await asyncio.to_thread(self.fingerprint, rec.base_commit)
                    stale = now != tested
                    if stale and refusal is None:
                        refusal = (
                            f"files changed after wave {n}'s tests passed: run the tests again"
                        )
                if refusal is None and not staged:
                    refusal = f"wave {n} changed no file the plan assigns: nothing to commit"
            except GitError as exc:  # a refusal the operator can read, never a crash
                refusal = f"git: {exc}"
        accepted = {**why_accepted}
        accepted.update(tamperlog.confirmed(rec.accepted, (finding_key(f) for f in findings)))
        return CheckpointPreview(
            wave=n,
            files_by_agent=staged,
            accepted=accepted,
            stray=tuple(stray),
            violations=tuple(self.violations(n)),
            issues=wave.issue_ids,
            issues_done=issues_done,
            tests_passed=tests_passed,
            tests_summary=self.tests_summary(n),
            message=self._message(n, accepted),
            refusal=refusal,
            tamper=tuple(tamper),
            tamper_findings=tuple(findings),
            base=rec.base_commit,
            tests_stale=stale,
            operator_own=tuple(sorted(work.own)) if work is not None else (),
        )

    async def commit(self, n: int, *, message: str | None, accept_violations: bool) -> str | None:
        """Commit wave ``n``'s checkpoint; None (and a ``GateRefused``) when refused.

        A commit made while the user's index could not be refreshed (``CheckpointIndexStale``)
        counts as committed, with a warning ``Notice`` saying how to refresh the index.
        """
        ctx = self.ctx
        ctx.bind_loop()  # git's lock-wait notices come from a worker thread
        view = await self.preview(n)
        rec = ctx.wave(n)
        # Files mixing the operator's own work with the wave's, and changes of .git, are
        # accepted one by one, never in bulk.
        strays = [s for s in view.stray if s.kind not in (operator_work.CONFLICT_KIND, TAMPER_KIND)]
        if accept_violations and strays and self.can_commit(n)[0]:
            for item in strays:
                rec.accepted[item.path] = gates.OPERATOR_ACCEPT
            ctx.save()
            ctx.emit(
                Notice("warning", f"wave {n}: accepted {len(strays)} path(s) outside the plan")
            )
            view = await self.preview(n)
        if view.refusal is not None:
            ctx.emit(GateRefused(n, view.refusal, tuple(s.path for s in view.stray)))
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
        except GitError as exc:
            reason = getattr(exc, "reason", None) or str(exc)
            ctx.emit(GateRefused(n, reason, tuple(getattr(exc, "paths", ()))))
            return None
        rec.checkpoint = sha
        rec.state = "committed"
        ctx.save()
        await self.watch.stop()
        if self.worktrees.enabled:
            await self.worktrees.cleanup(n)
        if stale is not None:
            ctx.emit(
                Notice("warning", str(stale), {"sha": stale.sha, "paths": json.dumps(stale.paths)})
            )
        ctx.emit(CheckpointCommitted(n, sha, view.issues))
        ctx.emit(WaveStateChanged(n, "committed"))
        ctx.changed()
        return sha
