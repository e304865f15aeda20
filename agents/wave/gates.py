"""The plan's rules as gates: may a wave start, may its tests run, may its checkpoint be committed.

Pure functions over the plan and the run's records (no I/O), so the TUI can grey out actions and
the supervisor can refuse them with the same ``Refusal`` (the surfaces word it:
``wavedeck.agents.wave.refusals``). ``wave_state`` is the one definition of a wave's state,
derived from its facts (started, tested, committed), never stored beside them. Also classifies a wave's changed paths:
staged (owned, or accepted by policy or the operator) or stray (listed, refused). That one
classification (``classify_changes``, per path ``classify_paths``) is what the checkpoint stages,
what the diff screen groups and marks, and what the violations screen calls accepted.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from wavedeck.agents.events import ViolationFound
from wavedeck.agents.git.tamper import TamperFinding
from wavedeck.agents.kinds import (
    AGENT_ENDED,
    AgentStanding,
    AgentState,
    Refusal,
    ViolationKind,
    WaveState,
)
from wavedeck.agents.state import RunState, WaveRecord
from wavedeck.plan.models import Plan
from wavedeck.plan.ownership import OwnershipIndex, OwnershipKind, apply_policy

FINISHED_OK: tuple[AgentState, ...] = ("succeeded",)
TERMINAL = AGENT_ENDED
OPERATOR_ACCEPT = "accepted by operator"


@dataclass(frozen=True)
class WaveView:
    """What the gates need to know about one wave's progress (built from the run state)."""

    number: int
    started: bool = False
    committed: bool = False
    tests_passed: bool | None = None  # None = not run
    testing: bool = False
    agent_states: Mapping[str, AgentState] = field(default_factory=dict)
    marked_done: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StrayPath:
    """A changed path the checkpoint will not stage without the operator's word."""

    path: str
    kind: ViolationKind  # an ownership kind, "tamper" or "operator-conflict"
    detail: str
    agent: str | None = None


@dataclass(frozen=True)
class CheckpointPreview:
    """Everything the operator should see before a checkpoint commit."""

    wave: int
    files_by_agent: dict[str, tuple[str, ...]]  # staged paths per agent ("" = no single agent)
    accepted: dict[str, str]  # staged path -> why it is accepted (policy or operator)
    stray: tuple[StrayPath, ...]
    violations: tuple[ViolationFound, ...]  # seen by the watcher during the wave
    issues: tuple[str, ...]
    issues_done: tuple[str, ...]
    tests_passed: bool | None
    tests_summary: str
    message: str
    refusal: Refusal | None  # why the checkpoint would be refused now, None = it can be committed
    tamper: tuple[str, ...] = ()  # one line each, for the operator (the findings, as text)
    tamper_findings: tuple[TamperFinding, ...] = ()  # .git changes during the wave, as facts
    base: str | None = None
    tests_stale: bool = False  # files changed after the tests passed: they must run again
    # The operator's own work: dirty before the wave started, untouched by it, left out.
    operator_own: tuple[str, ...] = ()
    # Changed paths the run ignores (git's ignores, [watch] ignore, the agent CLI's own paths):
    # the watcher's rule, left out like the watcher leaves them out.
    ignored: tuple[str, ...] = ()

    @property
    def paths(self) -> tuple[str, ...]:
        """Every path the checkpoint would stage."""
        return tuple(sorted(p for files in self.files_by_agent.values() for p in files))


def views_of(plan: Plan, state: RunState, testing: Collection[int] = ()) -> dict[int, WaveView]:
    """Every wave of ``plan`` as the gates see it, from the run's records (``testing``: the
    waves whose tests run now, known only to the control room running them)."""
    views = {}
    for wave in plan.waves:
        rec = state.waves.get(wave.number) or WaveRecord()
        records = {a.id: state.agents.get(a.id) for a in wave.agents}
        views[wave.number] = WaveView(
            number=wave.number,
            started=rec.base_commit is not None,
            committed=rec.checkpoint is not None,
            tests_passed=rec.tests.passed if rec.tests is not None else None,
            testing=wave.number in testing,
            agent_states={a: r.state if r is not None else "pending" for a, r in records.items()},
            marked_done={a: r.marked_done for a, r in records.items() if r and r.marked_done},
        )
    return views


def _wave_numbers(plan: Plan) -> list[int]:
    return [w.number for w in plan.waves]


def agents_unfinished(plan: Plan, view: WaveView) -> tuple[AgentStanding, ...]:
    """Agents of the wave that neither succeeded nor were marked done, with their state."""
    out = []
    for agent in plan.wave(view.number).agents:
        state = view.agent_states.get(agent.id, "pending")
        if state in FINISHED_OK or agent.id in view.marked_done:
            continue
        out.append(AgentStanding(agent.id, state))
    return tuple(out)


def can_start_wave(plan: Plan, views: Mapping[int, WaveView], n: int) -> Refusal | None:
    """Rule 1: wave N+1 starts only after wave N succeeded, passed its tests and is committed."""
    numbers = _wave_numbers(plan)
    if n not in numbers:
        return Refusal("no-such-wave", n)
    view = views.get(n, WaveView(n))
    if view.committed:
        return Refusal("wave-committed", n)
    if view.started:
        return Refusal("wave-started", n)
    index = numbers.index(n)
    if index > 0:
        # The previous wave's own state gives the most useful reason, so it comes first.
        prev = numbers[index - 1]
        pv = views.get(prev, WaveView(prev))
        if not pv.started:
            return Refusal("previous-not-run", n, other=prev)
        if pv.committed:
            pass  # its checkpoint passed every gate when it was made
        elif unfinished := agents_unfinished(plan, pv):
            return Refusal("previous-unfinished", n, other=prev, agents=unfinished)
        elif not pv.tests_passed:
            return Refusal("previous-untested", n, other=prev)
        else:
            return Refusal("previous-uncommitted", n, other=prev)
    for other in numbers:
        ov = views.get(other, WaveView(other))
        if other != n and ov.started and not ov.committed:
            return Refusal("other-wave-open", n, other=other)
    return None


def _open_and_done(plan: Plan, views: Mapping[int, WaveView], n: int) -> Refusal | None:
    """Why wave ``n`` is not a started, uncommitted wave whose agents all finished; or None."""
    if n not in _wave_numbers(plan):
        return Refusal("no-such-wave", n)
    view = views.get(n, WaveView(n))
    if not view.started:
        return Refusal("wave-not-started", n)
    if view.committed:
        return Refusal("wave-committed", n)
    if unfinished := agents_unfinished(plan, view):
        return Refusal("agents-unfinished", n, agents=unfinished)
    return None


def can_run_tests(
    plan: Plan, views: Mapping[int, WaveView], n: int, commands: Sequence[str]
) -> Refusal | None:
    """Tests run once every agent of the started wave succeeded (or was marked done)."""
    view = views.get(n, WaveView(n))
    if view.testing and view.started and not view.committed:
        return Refusal("tests-running", n)
    if (refusal := _open_and_done(plan, views, n)) is not None:
        return refusal
    if not commands:
        return Refusal("no-test-commands", n)
    return None


def can_commit(plan: Plan, views: Mapping[int, WaveView], n: int) -> Refusal | None:
    """The parts of the checkpoint gate that need no git: agents done, tests passed."""
    if (refusal := _open_and_done(plan, views, n)) is not None:
        return refusal
    view = views.get(n, WaveView(n))
    if view.testing:
        return Refusal("tests-running", n)
    if view.tests_passed is None:
        return Refusal("tests-not-run", n)
    if not view.tests_passed:
        return Refusal("tests-failed", n)
    return None


def wave_state(plan: Plan, views: Mapping[int, WaveView], n: int) -> WaveState:
    """The state of wave ``n``, derived from its facts (the one definition of it)."""
    view = views.get(n, WaveView(n))
    started = started_state(view)
    if started is not None:
        return started
    return "ready" if can_start_wave(plan, views, n) is None else "locked"


def started_state(view: WaveView) -> WaveState | None:
    """The state of a wave from its own facts, None while it has not started (then whether it
    is ``ready`` or ``locked`` depends on the waves before it: ``wave_state``)."""
    if view.committed:
        return "committed"
    if view.testing:
        return "testing"
    if view.started:
        return "tested" if view.tests_passed else "running"
    return None


def classify_changes(
    plan: Plan,
    wave: int,
    changed: Iterable[str],
    *,
    accepted: Mapping[str, str],
    accept_globs: Sequence[str],
    accept_undeclared: bool,
    writers: Mapping[str, str] | None = None,
) -> tuple[dict[str, tuple[str, ...]], dict[str, str], list[StrayPath]]:
    """Split changed paths into staged-per-agent, accepted (path -> reason) and stray.

    A path is staged when the plan assigns it to an agent of the wave (``owned``), when the
    ``[policy]`` accepts it, or when the operator accepted it (``accepted``). Everything else is
    stray: listed, never silently committed.
    """
    index = OwnershipIndex(plan, wave)
    staged: dict[str, list[str]] = {}
    why: dict[str, str] = {}
    stray: list[StrayPath] = []
    for path in sorted(set(changed)):
        writer = (writers or {}).get(path)
        own = index.classify(path, writer)
        ok, reason = apply_policy(own, path, accept_globs, accept_undeclared)
        if not ok and path in accepted:
            ok, reason = True, accepted[path]
        if ok:
            staged.setdefault(own.agent or "", []).append(path)
            if own.kind != "owned":
                why[path] = reason
        else:
            kind: ViolationKind = "unowned" if own.kind == "owned" else own.kind
            stray.append(StrayPath(path, kind, reason, own.agent))
    return {a: tuple(p) for a, p in staged.items()}, why, stray


def foreign_writers(violations: Iterable[ViolationFound]) -> dict[str, str]:
    """Who wrote each path the watcher saw written by an agent it may not write it (another
    agent's file, or an undeclared file in another agent's package)."""
    return {
        v.path: v.agent
        for v in violations
        if v.kind in ("foreign", "undeclared") and v.agent is not None
    }


@dataclass(frozen=True)
class PathClass:
    """How the checkpoint treats one changed path."""

    path: str
    staged: bool  # the checkpoint stages it (owned, or accepted)
    agent: str | None  # the owning agent; for a stray path the writer, when known
    kind: OwnershipKind | ViolationKind  # owned, or what is wrong with it
    reason: str = ""  # why it is accepted (staged, not owned) or why it is stray

    @property
    def accepted(self) -> bool:
        """Staged although not owned: the policy or the operator accepted it."""
        return self.staged and self.kind != "owned"


def classify_paths(
    plan: Plan,
    wave: int,
    changed: Iterable[str],
    *,
    accepted: Mapping[str, str],
    accept_globs: Sequence[str],
    accept_undeclared: bool,
    writers: Mapping[str, str] | None = None,
) -> dict[str, PathClass]:
    """``classify_changes`` per path, for screens that show each path's standing."""
    paths = sorted(set(changed))
    staged, why, stray = classify_changes(
        plan,
        wave,
        paths,
        accepted=accepted,
        accept_globs=accept_globs,
        accept_undeclared=accept_undeclared,
        writers=writers,
    )
    index = OwnershipIndex(plan, wave)
    out: dict[str, PathClass] = {}
    for agent, owned in staged.items():
        for path in owned:
            kind = index.classify(path, (writers or {}).get(path)).kind
            out[path] = PathClass(path, True, agent or None, kind, why.get(path, ""))
    for item in stray:
        out[item.path] = PathClass(item.path, False, item.agent, item.kind, item.detail)
    return out
