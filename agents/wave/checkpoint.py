"""A wave's tests and checkpoint, for the supervisor: run, preview, commit, refuse with reasons.

The tests are the config's commands, else the plan's, run with ``sh -c`` from the repository root
(see ``agents.wave.testrun``: shell commands by design, shown before they run). The checkpoint stages
exactly the wave's changed paths (since the commit recorded when the wave started) that the plan
assigns to its agents or that were accepted (policy or operator); any other changed path is
listed and the checkpoint refused, as it is while the tests have not passed, during a merge or
rebase, or after the repository's git configuration or hooks changed during the wave.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from typing import TYPE_CHECKING, Any

from agents.events import (
    CheckpointCommitted,
    GateRefused,
    Notice,
    TestOutput,
    TestsFinished,
    TestsStarted,
    WaveStateChanged,
)
from agents.git.errors import CheckpointIndexStale, GitError
from agents.presets.usage import UsageTotal, of_record
from agents.state import TestRecord
from agents.wave import gates
from agents.wave import worktree_mode as wtmode
from agents.wave.gates import CheckpointPreview, StrayPath
from agents.wave.testrun import run_tests

if TYPE_CHECKING:
    from agents.wave.supervisor import Supervisor
    from agents.wave.watching import WaveWatch

TAMPER_KEY = "(git configuration and hooks)"


def tests_summary(sup: Supervisor, n: int) -> str:
    rec = sup._wave(n).tests
    if rec is None:
        return "not run"
    verdict = "passed" if rec.passed else "failed"
    return f"{verdict} in {rec.duration_s:.1f}s ({len(rec.results)} command(s))"


async def run_wave_tests(sup: Supervisor, n: int) -> bool:
    """Run the wave's tests, streaming ``TestOutput``; True when every command passed."""
    ok, why = sup.can_run_tests(n)
    if not ok:
        sup._refuse(n, why)
        return False
    if wtmode.enabled(sup) and not await wtmode.collect(sup, n):
        return False  # collect emitted the GateRefused
    commands = sup.test_commands()
    sup._testing.add(n)
    sup._wave(n).state = "testing"
    sup._emit(WaveStateChanged(n, "testing"))
    sup._emit(TestsStarted(n, tuple(commands)))
    try:
        result = await run_tests(
            commands,
            sup.repo,
            sup.config.tests.timeout_s,
            lambda line: sup._emit(TestOutput(n, line)),
        )
    except asyncio.CancelledError:
        sup._wave(n).state = "running"  # interrupted: the tests count as not run
        raise
    finally:
        sup._testing.discard(n)
    rec = sup._wave(n)
    rec.tests = TestRecord(
        passed=result.passed,
        duration_s=result.duration_s,
        results=list(result.results),
        finished_at=time.time(),
    )
    rec.state = "tested" if result.passed else "running"
    if rec.base_commit is not None:
        # What the tests saw, to notice files changed between the tests and the checkpoint.
        mark = await asyncio.to_thread(fingerprint, sup, rec.base_commit)
        _tested_file(sup, n).write_text(json.dumps({"fingerprint": mark}), encoding="utf-8")
    sup._save()
    sup._emit(TestsFinished(n, result.passed, result.duration_s, result.results))
    sup._emit(WaveStateChanged(n, rec.state))
    sup._changed.set()
    return result.passed


def _tested_file(sup: Supervisor, n: int) -> Any:
    return sup.wavedeck_dir / f"tests-wave-{n}.json"


def fingerprint(sup: Supervisor, base: str) -> str:
    """A digest of every changed path and its content since ``base`` (blocking)."""
    digest = hashlib.sha256()
    for item in sup.git.changed_files(base):
        digest.update(item.path.encode("utf-8", "surrogateescape") + b"\0")
        target = sup.repo / item.path
        try:
            digest.update(target.read_bytes() if not target.is_symlink() else b"link")
        except OSError:
            digest.update(b"<gone>")
        digest.update(b"\0")
    return digest.hexdigest()


def _tested_fingerprint(sup: Supervisor, n: int) -> str | None:
    try:
        data = json.loads(_tested_file(sup, n).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("fingerprint") if isinstance(data, dict) else None
    return str(value) if value else None


def _tamper_file(sup: WaveWatch, n: int) -> Any:
    return sup.wavedeck_dir / f"tamper-wave-{n}.json"


def remember_tamper(sup: WaveWatch, n: int, snapshot: dict[str, str]) -> None:
    """Keep the wave-start snapshot of .git's program-running parts (survives a restart)."""
    sup._tamper[n] = snapshot
    path = _tamper_file(sup, n)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(snapshot), encoding="utf-8")


PLANTED_NOTICE = (
    "this repository's git setup can run programs (wavedeck's own git commands never run them; "
    "your git commands would): "
)


def planted_programs(sup: WaveWatch) -> list[str]:
    """What in this repository's ``.git`` can make git run a program (hooks, fsmonitor, …).

    Reported when a wave starts: wavedeck's own git commands run with hooks and fsmonitor off,
    but the operator should know that their own ``git status`` or ``git commit`` would run them.
    """
    present = sup.git.tamper_changes({})
    return [ln for ln in present if "as a program" in ln or ln.startswith("hook ")]


def recall_tamper(sup: WaveWatch, n: int) -> dict[str, str] | None:
    if n in sup._tamper:
        return dict(sup._tamper[n])
    try:
        data = json.loads(_tamper_file(sup, n).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else None


def _message(sup: Supervisor, n: int, accepted: dict[str, str]) -> str:
    """The checkpoint message (``agents.wave.message``): wave, issues and outcomes, tests, trailers."""
    from agents.wave.message import checkpoint_message

    wave = sup.plan.wave(n)
    outcomes: dict[str, str] = {}
    for agent in wave.agents:
        rec = sup.agent_record(agent.id)
        outcomes.update({k: v or "done" for k, v in rec.outcomes.items()})
        if rec.marked_done:
            for issue in agent.issues:
                if issue.id not in rec.issues_done:
                    outcomes[issue.id] = (
                        f"not reported done; {agent.id} marked done: {rec.marked_done}"
                    )
    tests = sup._wave(n).tests
    results = [(command, code == 0) for command, code in tests.results] if tests else []
    return checkpoint_message(
        sup.plan,
        n,
        outcomes,
        results,
        accepted,
        tests_duration_s=tests.duration_s if tests else None,
        usage=usage_of_wave(sup, n),
    )


def usage_of_wave(sup: Supervisor, n: int) -> dict[str, UsageTotal]:
    """Agent id -> the usage its CLI reported (agent presets), for the message."""
    agents = sup._state.agents
    return {a.id: of_record(agents[a.id]) for a in sup.plan.wave(n).agents if a.id in agents}


async def preview(sup: Supervisor, n: int) -> CheckpointPreview:
    """What a checkpoint of wave ``n`` would commit, what it would leave out, and any refusal."""
    rec = sup._wave(n)
    wave = sup.plan.wave(n)
    issues_done = tuple(i for a in wave.agents for i in sup.agent_record(a.id).issues_done)
    tests_passed = rec.tests.passed if rec.tests is not None else None
    refusal: str | None = None
    ok, why = sup.can_commit(n)
    if not ok:
        refusal = why
    staged: dict[str, tuple[str, ...]] = {}
    why_accepted: dict[str, str] = {}
    stray: list[StrayPath] = []
    tamper: list[str] = []
    stale = False
    if rec.base_commit is not None:
        try:
            state = await asyncio.to_thread(sup.git.in_progress_state)
            if state and refusal is None:
                refusal = f"a git {state} is in progress: finish or abort it first"
            changed = await asyncio.to_thread(sup.git.changed_files, rec.base_commit)
            paths: list[str] = []
            for item in changed:
                paths.append(item.path)
                if item.old_path:
                    paths.append(item.old_path)  # a rename also removes the old path
            if wtmode.enabled(sup):
                writers = wtmode.writers(sup, n)  # exact: each worktree had one writer
            else:
                writers = {
                    v.path: v.agent
                    for v in sup.violations(n)
                    if v.kind == "foreign" and v.agent is not None
                }
            staged, why_accepted, stray = gates.classify_changes(
                sup.plan,
                n,
                paths,
                accepted=rec.accepted,
                accept_globs=sup.config.policy.accept,
                accept_undeclared=sup.config.policy.accept_undeclared,
                writers=writers,
            )
            before = recall_tamper(sup, n)
            if before is not None:
                tamper = list(await asyncio.to_thread(sup.git.tamper_changes, before))
            if tamper and TAMPER_KEY not in rec.accepted:
                stray.append(StrayPath(TAMPER_KEY, "tamper", "; ".join(tamper)))
            if refusal is None and stray:
                shown = ", ".join(s.path for s in stray[:10])
                more = f" (+{len(stray) - 10} more)" if len(stray) > 10 else ""
                refusal = (
                    f"{len(stray)} changed path(s) are outside the plan for wave {n} and not "
                    f"accepted: {shown}{more}; accept or revert them"
                )
            tested = _tested_fingerprint(sup, n)
            if tests_passed and tested is not None:
                now = await asyncio.to_thread(fingerprint, sup, rec.base_commit)
                stale = now != tested
                if stale and refusal is None:
                    refusal = f"files changed after wave {n}'s tests passed: run the tests again"
            if refusal is None and not staged:
                refusal = f"wave {n} changed no file the plan assigns: nothing to commit"
        except GitError as exc:  # a refusal the operator can read, never a crash
            refusal = f"git: {exc}"
    accepted = {**why_accepted}
    if tamper and TAMPER_KEY in rec.accepted:
        accepted[TAMPER_KEY] = f"{rec.accepted[TAMPER_KEY]}: " + "; ".join(tamper)
    return CheckpointPreview(
        wave=n,
        files_by_agent=staged,
        accepted=accepted,
        stray=tuple(stray),
        violations=tuple(sup.violations(n)),
        issues=wave.issue_ids,
        issues_done=issues_done,
        tests_passed=tests_passed,
        tests_summary=tests_summary(sup, n),
        message=_message(sup, n, accepted),
        refusal=refusal,
        tamper=tuple(tamper),
        base=rec.base_commit,
        tests_stale=stale,
    )


async def commit_checkpoint(
    sup: Supervisor, n: int, *, message: str | None, accept_violations: bool
) -> str | None:
    """Commit wave ``n``'s checkpoint; None (and a ``GateRefused``) when refused.

    A commit made while the user's index could not be refreshed (``CheckpointIndexStale``)
    counts as committed, with a warning ``Notice`` saying how to refresh the index.
    """
    sup._bind_loop()  # git's lock-wait notices come from a worker thread
    view = await preview(sup, n)
    rec = sup._wave(n)
    if accept_violations and view.stray and sup.can_commit(n)[0]:
        for item in view.stray:
            rec.accepted[item.path] = gates.OPERATOR_ACCEPT
        sup._save()
        sup._emit(
            Notice("warning", f"wave {n}: accepted {len(view.stray)} path(s) outside the plan")
        )
        view = await preview(sup, n)
    if view.refusal is not None:
        sup._emit(GateRefused(n, view.refusal, tuple(s.path for s in view.stray)))
        return None
    if view.tamper:
        sup._emit(
            Notice(
                "warning", "git configuration changed during the wave: " + "; ".join(view.tamper)
            )
        )
    text = view.message
    if message and message.strip():
        from agents.wave.message import with_current_trailers

        text = with_current_trailers(message, view.message)
    stale: CheckpointIndexStale | None = None
    try:
        sha: str = await asyncio.to_thread(
            sup.git.checkpoint, list(view.paths), text, expected_head=rec.base_commit
        )
    except CheckpointIndexStale as exc:
        # The commit was made and the branch points at it: recording a failure would leave
        # the wave open on a committed checkpoint. Only the user's index is behind.
        sha, stale = exc.sha, exc
    except GitError as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        sup._emit(GateRefused(n, reason, tuple(getattr(exc, "paths", ()))))
        return None
    rec.checkpoint = sha
    rec.state = "committed"
    sup._save()
    await sup._stop_watch()
    if wtmode.enabled(sup):
        await wtmode.cleanup(sup, n)
    if stale is not None:
        sup._emit(
            Notice("warning", str(stale), {"sha": stale.sha, "paths": json.dumps(stale.paths)})
        )
    sup._emit(CheckpointCommitted(n, sha, view.issues))
    sup._emit(WaveStateChanged(n, "committed"))
    sup._changed.set()
    return sha
