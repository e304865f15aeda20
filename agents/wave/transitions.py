"""The one writer of agent and wave states: every change of a run's state, and its event.

Nothing else assigns an agent's ``state``, ``reason`` or ``needs``, or records that a wave
started, was tested or was committed (``tests/unit/wave/test_transitions.py`` holds it to that). Each function changes the
records in the ``WaveContext``, saves them, emits the event that says so and wakes whoever waits
for a change (``WaveContext.wait_changed``):

- a wave: ``wave_started``, ``wave_rebased`` (onto the operator's commits), ``tests_started``
  / ``tests_interrupted`` / ``tests_finished``, ``checkpoint_intended`` (before the branch moves; ``checkpoint_abandoned`` if it does not),
  ``checkpoint_recorded`` then ``checkpoint_announced``. A wave's state (locked, ready, running,
  testing, tested, committed) is never stored: ``wavedeck.agents.wave.gates.wave_state`` derives
  it from these facts, for the control room, the headless run and ``wavedeck status`` alike;
- an agent: ``agent_launching`` (before the process starts; ``launch_unstarted`` when a killed
  control room's launch never started one), ``agent_launched``, ``agent_adopted`` (found running by a later control room),
  ``agent_not_started``, ``agent_ended`` (with an ``AgentEnd``: succeeded, failed, stopped, lost
  or needs you, as ``ending`` classifies an exit and the presets and the restart policy amend it),
  ``agent_marked_done``, ``agent_reopened`` (a done mark lifted for another run) and
  ``restart_cancelled``;
- why an agent's run needs the operator (``AgentRecord.needs``): ``needs_cleared`` for a new
  run, ``needs_found`` for a fact its preset's stream reported (asked a question, a tool call
  refused); ``agent_ended`` keeps the reason its run ended with (issues unreported among them).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from wavedeck.agents.events import (
    AgentStateChanged,
    CheckpointCommitted,
    Notice,
    RestartStatus,
    TestsFinished,
    TestsStarted,
    WaveStateChanged,
)
from wavedeck.agents.kinds import AgentState, Needs
from wavedeck.agents.runtypes import ENDED_START, AgentHandle, ExitStatus
from wavedeck.agents.state import CheckpointIntent, TestRecord
from wavedeck.agents.wave import gates
from wavedeck.agents.wave.context import WaveContext
from wavedeck.agents.wave.testrun import TestRunResult

# -- waves --------------------------------------------------------------------------------------


def wave_started(
    ctx: WaveContext, n: int, *, base: str, start_tree: str, start_dirty: Iterable[str] = ()
) -> None:
    """Wave ``n`` starts at commit ``base`` over the working tree ``start_tree`` (where the
    operator's own files ``start_dirty`` differ from ``base``)."""
    rec = ctx.wave(n)
    rec.base_commit = base
    rec.start_tree = start_tree
    rec.start_dirty = sorted(start_dirty)
    rec.started_at = time.time()
    ctx.save()
    ctx.emit(WaveStateChanged(n, "running"))
    ctx.changed()


def wave_rebased(ctx: WaveContext, n: int, *, base: str, start_tree: str | None) -> None:
    """Wave ``n`` goes on from ``base``, the operator's commits made during it: its start tree
    takes the paths they changed as ``base`` has them (``wavedeck.agents.wave.head_move``)."""
    rec = ctx.wave(n)
    was = rec.base_commit
    rec.base_commit = base
    if start_tree is not None:
        rec.start_tree = start_tree
    ctx.save()
    ctx.emit(
        Notice(
            "info",
            f"wave {n}: HEAD moved since the wave started ({(was or '')[:12]} -> {base[:12]}, "
            "your commits): the checkpoint is built on top of them",
            commit=base,
        )
    )
    ctx.changed()


def tests_started(ctx: WaveContext, n: int, commands: tuple[str, ...]) -> None:
    """Wave ``n``'s tests run now (in memory only: a control room that dies mid-run ran none)."""
    ctx.testing.add(n)
    ctx.emit(WaveStateChanged(n, "testing"))
    ctx.emit(TestsStarted(n, commands))


def tests_interrupted(ctx: WaveContext, n: int) -> None:
    """Wave ``n``'s tests stopped before a verdict: they count as not run."""
    ctx.testing.discard(n)


def tests_finished(ctx: WaveContext, n: int, result: TestRunResult) -> None:
    """Wave ``n``'s tests gave their verdict (recorded, so the gates can read it)."""
    ctx.testing.discard(n)
    rec = ctx.wave(n)
    rec.tests = TestRecord(
        passed=result.passed,
        duration_s=result.duration_s,
        results=list(result.results),
        finished_at=time.time(),
    )
    ctx.save()
    ctx.emit(TestsFinished(n, result.passed, result.duration_s, result.results))
    ctx.emit(WaveStateChanged(n, gates.wave_state(ctx.plan, ctx.views(), n)))
    ctx.changed()


def checkpoint_intended(
    ctx: WaveContext, n: int, commit: str, parent: str | None, paths: Iterable[str]
) -> None:
    """Wave ``n``'s checkpoint ``commit`` is about to land on the branch (at ``parent``):
    saved before the branch moves, so a crash right after the move is recognised."""
    ctx.wave(n).checkpoint_intent = CheckpointIntent(
        commit=commit, parent=parent, paths=list(paths)
    )
    ctx.save()


def checkpoint_abandoned(ctx: WaveContext, n: int) -> None:
    """The checkpoint wave ``n`` intended did not land (the branch never moved to it)."""
    ctx.wave(n).checkpoint_intent = None
    ctx.save()


def checkpoint_recorded(ctx: WaveContext, n: int, sha: str) -> None:
    """Wave ``n``'s checkpoint commit exists: recorded at once (a crash must not forget it)."""
    rec = ctx.wave(n)
    rec.checkpoint, rec.checkpoint_intent = sha, None
    ctx.save()


def checkpoint_announced(ctx: WaveContext, n: int, sha: str, issues: tuple[str, ...]) -> None:
    """Say that wave ``n`` is committed (after its watchers stopped: nothing is reported after)."""
    ctx.emit(CheckpointCommitted(n, sha, issues))
    ctx.emit(WaveStateChanged(n, "committed"))
    ctx.changed()


# -- agents -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentEnd:
    """How an agent's run ended, as recorded: its state, the reason for the operator, the exit
    status when one was recorded, the restart policy's word and why it needs the operator."""

    state: AgentState  # one of AGENT_ENDED
    reason: str = ""
    status: ExitStatus | None = None
    restart: RestartStatus | None = None
    needs: Needs | None = None


def ending(status: ExitStatus | None, *, stopped: bool, last_lines: tuple[str, ...]) -> AgentEnd:
    """How a run ended, from its exit status: stopped by the operator, lost (no status
    recorded), succeeded (exit 0) or failed (the last lines of its output quoted)."""
    if stopped:
        return AgentEnd("stopped", "stopped by the operator", status)
    if status is None:
        return AgentEnd("lost", "the agent ended without recording its exit status")
    if status.ok:
        return AgentEnd("succeeded", "", status)
    how = f"killed by {status.signal}" if status.signal else f"exit code {status.code}"
    last = " | ".join(last_lines)
    return AgentEnd("failed", f"{how}; last output: {last}" if last else how, status)


def agent_launching(ctx: WaveContext, agent_id: str, launch_id: str) -> None:
    """A run of the agent is about to start as ``launch_id`` (saved before the process starts:
    a control room killed before recording it finds that run instead of starting another)."""
    ctx.agent(agent_id).launching = launch_id
    ctx.save()


def launch_unstarted(ctx: WaveContext, agent_id: str) -> None:
    """A launch a killed control room recorded started no process its runner can find (here
    or on its host): forgotten (a wave's agent is launched when its wave's start is finished;
    a restart, when asked again)."""
    rec = ctx.agent(agent_id)
    rec.launching = None
    ctx.save()
    ctx.emit(
        Notice(
            "info",
            f"{agent_id}: the launch a stopped control room was making never started",
            agent=agent_id,
        )
    )


def launch_untold(ctx: WaveContext, agent_id: str, why: str) -> None:
    """Whether a launch a killed control room recorded started on its host cannot be told
    (the host does not answer): not launched again (it may be running there), failed with
    that reason, the launch kept, so a restart looks for that run again first."""
    rec = ctx.agent(agent_id)
    rec.state = "failed"
    rec.reason = (
        f"cannot tell whether its last launch started (its host: {why}); not launched again"
    )
    rec.restart = None
    ctx.save()
    ctx.emit(AgentStateChanged(agent_id, "failed", reason=rec.reason))
    ctx.changed()


def agent_launched(ctx: WaveContext, agent_id: str, handle: AgentHandle) -> None:
    """A new run of the agent started (saved at once: a restart must know the process)."""
    rec = ctx.agent(agent_id)
    rec.handle, rec.launching = handle, None
    rec.launches += 1
    rec.state = "running"
    rec.started_at, rec.ended_at = time.time(), None
    rec.exit_code = rec.exit_signal = None
    rec.reason, rec.restart = "", None
    ctx.save()
    ctx.emit(AgentStateChanged(agent_id, "running"))
    ctx.changed()


def agent_adopted(ctx: WaveContext, agent_id: str, handle: AgentHandle, *, recorded: bool) -> None:
    """The agent was found running by this control room: ``recorded`` by an earlier one, or
    (not recorded) started by one that died before it could save it; such a run may have
    ended since (a handle with ``ENDED_START``): adopted all the same, its log and its end
    then follow."""
    if recorded:
        ctx.emit(Notice("info", f"{agent_id} adopted (pid {handle.pid})", agent=agent_id))
    else:
        rec = ctx.agent(agent_id)
        rec.handle, rec.state, rec.launches = handle, "running", rec.launches + 1
        rec.launching = None
        ctx.save()
        how = "ran" if handle.start_time == ENDED_START else "was running"
        ctx.emit(
            Notice(
                "warning",
                f"{agent_id} {how} unrecorded (started by a control room that stopped before "
                "recording it): adopted, not launched again",
                agent=agent_id,
            )
        )
    ctx.emit(AgentStateChanged(agent_id, "running", reason="adopted"))
    ctx.changed()


def agent_not_started(ctx: WaveContext, agent_id: str, why: str) -> None:
    """The agent could not be started (its prompt, its program, its host)."""
    rec = ctx.agent(agent_id)
    rec.state, rec.reason = "failed", f"could not start: {why}"
    rec.launching = None
    rec.restart = None
    ctx.save()
    ctx.emit(AgentStateChanged(agent_id, "failed", reason=rec.reason))
    ctx.changed()


def agent_ended(ctx: WaveContext, agent_id: str, end: AgentEnd) -> None:
    """The agent's run ended as ``end`` says."""
    rec = ctx.agent(agent_id)
    rec.ended_at = time.time()
    if end.status is not None:
        rec.exit_code, rec.exit_signal = end.status.code, end.status.signal
    rec.state = end.state
    rec.reason, rec.restart = end.reason, end.restart
    if end.needs is not None:  # why it needs the operator, kept with the run (a re-opened room)
        rec.needs = end.needs
    ctx.save()
    ctx.emit(
        AgentStateChanged(
            agent_id,
            end.state,
            rec.exit_code,
            rec.exit_signal,
            rec.reason,
            restart=rec.restart,
            needs=end.needs,
        )
    )
    ctx.changed()


def needs_cleared(ctx: WaveContext, agent_id: str) -> None:
    """A new run of the agent is being launched: what its last run needed is forgotten (saved
    with the launch)."""
    ctx.agent(agent_id).needs = None


def needs_found(ctx: WaveContext, agent_id: str, needs: Needs) -> None:
    """The agent's run needs the operator as ``needs`` says (its preset's stream read it from
    the output). The first fact of a run wins; kept in the record as it is read, saved with the
    next save (a later control room following the run on keeps it), and said when the run ends
    (``agent_ended``)."""
    rec = ctx.agent(agent_id)
    if rec.needs is None:
        rec.needs = needs


def agent_marked_done(ctx: WaveContext, agent_id: str, reason: str) -> None:
    """The operator counts the ended agent as done (their reason is kept)."""
    rec = ctx.agent(agent_id)
    rec.marked_done = reason.strip() or "marked done by the operator"
    rec.restart = None  # a restart it waited for was cancelled: done, never restarted
    ctx.save()
    ctx.emit(Notice("info", f"{agent_id} marked done: {rec.marked_done}", agent=agent_id))
    ctx.emit(
        AgentStateChanged(
            agent_id,
            rec.state,
            reason=f"marked done: {rec.marked_done}",
            marked_done=rec.marked_done,
        )
    )
    ctx.changed()


def agent_queued(ctx: WaveContext, agent_id: str, why: str) -> None:
    """The agent's launch waits its turn (``wavedeck.agents.wave.starts``): ``pending``, and
    why; its last run's facts stay until it is launched."""
    rec = ctx.agent(agent_id)
    rec.state, rec.reason = "pending", why
    ctx.save()
    ctx.emit(AgentStateChanged(agent_id, "pending", reason=why))
    ctx.changed()


def agent_unqueued(ctx: WaveContext, agent_id: str, state: AgentState, why: str) -> None:
    """A queued agent was not launched (stopped, refused, the control room closing): ``state``
    and ``why`` say how it stands now."""
    rec = ctx.agent(agent_id)
    rec.state, rec.reason = state, why
    ctx.save()
    ctx.emit(
        AgentStateChanged(
            agent_id,
            state,
            rec.exit_code,
            rec.exit_signal,
            why,
            restart=rec.restart,
            needs=rec.needs if state == "needs_you" else None,
        )
    )
    ctx.changed()


def agent_reopened(ctx: WaveContext, agent_id: str) -> None:
    """The operator asks for another run of the agent: a done mark no longer stands (saved
    with its launch)."""
    ctx.agent(agent_id).marked_done = None


def restart_cancelled(ctx: WaveContext, agent_id: str, why: str) -> None:
    """A restart the agent waited for was cancelled (``why`` is added to its reason)."""
    rec = ctx.agent_record(agent_id)
    rec.reason = f"{why}; {rec.reason}" if rec.reason else why
    was = rec.restart
    rec.restart = RestartStatus("cancelled", why, was.attempt if was else 0, was.of if was else 0)
    ctx.save()
    ctx.emit(
        AgentStateChanged(
            agent_id, rec.state, rec.exit_code, rec.exit_signal, rec.reason, restart=rec.restart
        )
    )
