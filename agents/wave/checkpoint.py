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
``WaveContext`` and the parts it needs (the watch, settled before the tests and the preview; the
worktrees, collected before the tests; the reader of the wave's changes,
``wavedeck.agents.wave.commit_scope``, which sorts what the preview may commit; the review; the
landing, which moves the branch).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from wavedeck.agents.events import Notice, TestOutput, ViolationFound
from wavedeck.agents.git import content
from wavedeck.agents.git.errors import CheckpointRefused, GitError
from wavedeck.agents.kinds import Refusal
from wavedeck.agents.local import sandbox
from wavedeck.agents.markers import read_marker, write_marker
from wavedeck.agents.presets.usage import UsageTotal, of_record
from wavedeck.agents.state import AgentRecord
from wavedeck.agents.wave import commit_checks, gates, operator_work, tamperlog, transitions
from wavedeck.agents.wave.commit_checks import CommitFacts
from wavedeck.agents.wave.commit_scope import ChangeReader, ChangesFound
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.evidence import Evidence, done_issues, issue_evidence
from wavedeck.agents.wave.gates import CheckpointPreview
from wavedeck.agents.wave.landing import Landing
from wavedeck.agents.wave.reviews import Reviews
from wavedeck.agents.wave.tamperlog import TAMPER_KIND, finding_key
from wavedeck.agents.wave.testrun import run_tests
from wavedeck.agents.wave.watching import WaveWatch
from wavedeck.agents.wave.worktree_mode import WorktreeMode
from wavedeck.plan.models import Wave
from wavedeck.plan.words import plural

__all__ = ["Checkpointer"]


def usage_of_wave(agents: dict[str, AgentRecord], wave: Wave) -> dict[str, UsageTotal]:
    """Agent id -> the usage its CLI reported (agent presets), for the message."""
    return {a.id: of_record(agents[a.id]) for a in wave.agents if a.id in agents}


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
        changes: ChangeReader,
        reviews: Reviews,
        landing: Landing,
    ) -> None:
        self.ctx = ctx
        self.watch = watch
        self.worktrees = worktrees
        self.changes = changes
        self.reviews = reviews
        self.landing = landing  # the commit's last step: the branch moved, the wave finished
        # wave -> what its passing tests saw, and the base it was taken against
        self._tested: dict[int, tuple[str, str]] = {}

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
        return f"{verdict} in {rec.duration_s:.1f}s ({plural(len(rec.results), 'command')})"

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
                # With its base: HEAD may move on (the operator's commits) but the content the
                # tests saw is still told from this base.
                self._tested[n] = (mark, base)  # checked against even when it cannot be written
                self._keep_tested(n, mark, base)
        except BaseException:
            transitions.tests_interrupted(ctx, n)  # the tests count as not run
            raise
        transitions.tests_finished(ctx, n, result)
        return result.passed

    def _keep_tested(self, n: int, mark: str, base: str) -> None:
        """Write the tests' fingerprint for a later control room; a full disk is said, naming
        the file (this one keeps it in memory)."""
        path = self._tested_file(n)
        try:
            write_marker(path, {"fingerprint": mark, "base": base})
        except OSError as exc:
            self.ctx.emit(Notice("error", f"cannot write {path}: {exc.strerror or exc}"))

    def _tested_file(self, n: int) -> Path:
        ctx = self.ctx
        return ctx.wavedeck_dir / f"tests-wave-{n}.json"

    def fingerprint(self, base: str) -> str:
        """A digest of every changed path and its content since ``base`` (blocking; files are
        read a chunk at a time: a 1 GiB file costs one chunk of memory)."""
        ctx = self.ctx
        return content.fingerprint(ctx.repo, (f.path for f in ctx.git.changed_files(base)))

    def _tested_fingerprint(self, n: int) -> tuple[str, str | None] | None:
        """What the tests saw (``fingerprint``), and the base it was taken against."""
        if n in self._tested:
            return self._tested[n]
        data = read_marker(self._tested_file(n))
        if not isinstance(data, dict) or not data.get("fingerprint"):
            return None
        base = data.get("base")
        return str(data["fingerprint"]), str(base) if base else None

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
        usage = usage_of_wave(ctx.state.agents, ctx.plan.wave(n))
        text = checkpoint_message(
            ctx.plan,
            n,
            self.evidence(n),
            results,
            accepted,
            tests_duration_s=tests.duration_s if tests else None,
            usage=usage,
            sandbox=sandbox.trailer(ctx.wave(n).sandbox),
        )
        return self._with_review(n, text, usage)

    def _with_review(self, n: int, text: str, usage: dict[str, UsageTotal]) -> str:
        """The message with the review's summary and trailers; the reviewer agents' usage
        counts in the wave's."""
        from wavedeck.agents.presets.usage import describe, total
        from wavedeck.agents.wave.message import with_review

        review = self.reviews.summary(n)
        spent = None
        if not review.reviewer_usage.empty:
            spent = describe(total([*usage.values(), review.reviewer_usage]))
        return with_review(text, review.lines, review.trailers, spent)

    async def preview(self, n: int) -> CheckpointPreview:
        """What a checkpoint of wave ``n`` would commit, what it would leave out, and any refusal
        (the first of ``commit_checks.CHECKS`` over what was found)."""
        return (await self._look(n))[0]

    async def _look(self, n: int) -> tuple[CheckpointPreview, ChangesFound]:
        """The preview, and what was found to make it (the commit acts on both)."""
        ctx = self.ctx
        await self.watch.settled()  # every write's writer decided: the violations are final
        rec = ctx.wave(n)
        wave = ctx.plan.wave(n)
        issues_done = done_issues(self.evidence(n))
        tests_passed = rec.tests.passed if rec.tests is not None else None
        found = ChangesFound()
        if rec.base_commit is not None:
            try:
                await self.changes.read(n, rec.base_commit, found)
                await self._read_stale(n, rec.base_commit, found)
            except GitError as exc:  # a refusal the operator can read, never a crash
                found.git_error = str(exc)
        facts = CommitFacts(
            wave=n,
            gate=self.can_commit(n),
            git_error=found.git_error,
            git_busy=found.git_busy,
            head=found.move.onto if found.move is not None else None,
            head_descends=found.move is None or found.move.descends,
            head_blocked=found.move.blocked(rec.accepted) if found.move is not None else (),
            unknown=found.unknown,
            conflicts=found.conflicts,
            tamper=tuple(finding_key(f) for f in found.findings),
            stray=tuple(found.stray),
            tests_stale=found.stale,
            staged=bool(found.staged),
            review_waiting=self.reviews.waiting(n),
            findings_open=tuple(f"{c.path}:{c.line}" for c in self.reviews.blocking(n)),
        )
        accepted = with_writers(found.why_accepted, self.violations(n))
        # Each change of .git the operator kept, for the trailers (open ones are refused).
        open_keys = [finding_key(f) for f in found.findings]
        accepted.update(tamperlog.confirmed(rec.accepted, open_keys))
        tamper = [f.text for f in found.findings]
        preview = CheckpointPreview(
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
            base=found.base or rec.base_commit,
            tests_stale=found.stale,
            operator_own=tuple(sorted(found.work.own)),
            ignored=found.ignored,
        )
        return preview, found

    async def _read_stale(self, n: int, base: str, found: ChangesFound) -> None:
        """Whether the files changed since the tests passed (``found.stale``): their content
        differs from what the tests saw (told from the base they were taken against, else the
        wave's ``base``), or an answer waits in a worktree for collecting."""
        rec = self.ctx.wave(n)
        tested = self._tested_fingerprint(n)
        if rec.tests is not None and rec.tests.passed and tested is not None:
            mark, since = tested[0], tested[1] or base
            found.stale = await asyncio.to_thread(self.fingerprint, since) != mark
        if self.worktrees.enabled and self.worktrees.pending(n):
            found.stale = True  # an answer waits in a worktree: the tests collect it

    async def commit(
        self, n: int, *, message: str | None, accept_violations: bool, adopt_head: bool = False
    ) -> str | None:
        """Commit wave ``n``'s checkpoint; None (and a ``GateRefused``) when refused.

        ``adopt_head``: the files both the operator's commits made during the wave and the
        working tree changed are committed as they are, on top of those commits
        (``head_move``). A commit made while the user's index could not be refreshed
        (``CheckpointIndexStale``) counts as committed, with a warning ``Notice`` saying how to
        refresh the index.
        """
        ctx = self.ctx
        ctx.bind_loop()  # git's lock-wait notices come from a worker thread
        view, found = await self._look(n)
        rec = ctx.wave(n)
        move = found.move
        if adopt_head and move is not None and self.can_commit(n) is None:
            onto = move.onto[:12]
            for path in move.blocked(rec.accepted):
                if path not in move.lost:  # never a file that would undo their commit
                    rec.accepted[path] = f"adopted on top of {onto} as it was in the tree"
            ctx.save()
            view, found = await self._look(n)
            move = found.move
        # Files mixing the operator's own work with the wave's, and changes of .git, are
        # accepted one by one, never in bulk.
        strays = [s for s in view.stray if s.kind not in (operator_work.CONFLICT_KIND, TAMPER_KIND)]
        if accept_violations and strays and self.can_commit(n) is None:
            for item in strays:
                rec.accepted[item.path] = gates.OPERATOR_ACCEPT
            ctx.save()
            ctx.emit(
                Notice(
                    "warning", f"wave {n}: accepted {plural(len(strays), 'path')} outside the plan"
                )
            )
            view, found = await self._look(n)
            move = found.move
        if view.refusal is not None:
            ctx.refuse(view.refusal)
            return None
        if move is not None:  # onto the operator's commits (their paths are theirs)
            transitions.wave_rebased(ctx, n, base=move.onto, start_tree=move.start_tree)
            if move.start_tree is not None:
                await asyncio.to_thread(
                    ctx.git.keep_ref, operator_work.start_ref(n), move.start_tree
                )
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
        try:
            prepared = await asyncio.to_thread(
                ctx.git.prepare_checkpoint, list(view.paths), text, expected_head=rec.base_commit
            )
        except CheckpointRefused as exc:  # its CheckpointCode is a RefusalCode: passed on
            ctx.refuse(Refusal(exc.code, n, paths=exc.paths, detail=exc.detail))
            return None
        except GitError as exc:
            ctx.refuse(Refusal("git-error", n, detail=str(exc)))
            return None
        # Recorded before the branch moves, so a crash right after is recognised (landing);
        # the issues announced are those shown done (their evidence), never the whole wave's.
        return await self.landing.land(n, prepared, view.issues_done)
