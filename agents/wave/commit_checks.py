"""The checkpoint gate as small pure checks: each looks at what the preview found and returns a
``Refusal`` or nothing.

``wavedeck.agents.wave.checkpoint.Checkpointer.preview`` gathers the facts (git, the operator's
own work, the stray paths, the tests' fingerprint) into a ``CommitFacts``; ``refusal`` runs
``CHECKS`` in order and the first refusal wins, so the operator hears the most useful reason
first (git failing, then a change request the agent has not answered, then the gates without
git, then open reviewer findings, then git busy, then a HEAD rewritten or moved by the
operator's commits, then the operator's files when the wave's start tree is gone, then changes
of ``.git`` not yet reviewed, then the paths, then the tests gone stale, then an empty
checkpoint).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wavedeck.agents.git.busy import BusyState
from wavedeck.agents.kinds import AgentStanding, Refusal
from wavedeck.agents.wave.gates import StrayPath


@dataclass(frozen=True)
class CommitFacts:
    """What a checkpoint of ``wave`` would be, as the checks need it."""

    wave: int
    gate: Refusal | None = None  # the gates that need no git (``gates.can_commit``)
    git_error: str | None = None  # git failed while the preview read the repository
    git_busy: BusyState | None = None  # a git operation in progress (merge, rebase, ...)
    # HEAD when it is no longer the wave's base (``head_move``): None when it is
    head: str | None = None
    head_descends: bool = True
    head_blocked: tuple[str, ...] = ()  # files both the operator's commits and the tree changed
    # the operator's files when the wave's start tree is gone: theirs or the wave's, unknown
    unknown: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()  # files mixing the operator's own work with the wave's
    tamper: tuple[str, ...] = ()  # changes of .git not yet kept or undone (their finding keys)
    stray: tuple[StrayPath, ...] = ()  # changed paths outside the plan, not accepted
    tests_stale: bool = False  # files changed after the tests passed
    staged: bool = True  # at least one path the plan assigns would be committed
    # the review: agents asked for changes that have not answered (nor been approved anyway),
    # and reviewer findings of high severity or above neither forwarded nor dismissed
    # ("path:line" each)
    review_waiting: tuple[AgentStanding, ...] = ()
    findings_open: tuple[str, ...] = ()


Check = Callable[[CommitFacts], Refusal | None]


def git_failed(f: CommitFacts) -> Refusal | None:
    return Refusal("git-error", f.wave, detail=f.git_error) if f.git_error is not None else None


def review_unanswered(f: CommitFacts) -> Refusal | None:
    if not f.review_waiting:
        return None
    return Refusal("review-unanswered", f.wave, agents=f.review_waiting)


def findings_open(f: CommitFacts) -> Refusal | None:
    if not f.findings_open:
        return None
    return Refusal("review-findings-open", f.wave, paths=f.findings_open)


def gates_without_git(f: CommitFacts) -> Refusal | None:
    return f.gate


def git_busy(f: CommitFacts) -> Refusal | None:
    return Refusal("git-busy", f.wave, detail=f.git_busy) if f.git_busy else None


def head_rewritten(f: CommitFacts) -> Refusal | None:
    if f.head is None or f.head_descends:
        return None
    return Refusal("head-rewritten", f.wave, detail=f.head)


def head_moved(f: CommitFacts) -> Refusal | None:
    if f.head is None or not f.head_blocked:
        return None
    return Refusal("head-moved", f.wave, paths=f.head_blocked, detail=f.head)


def start_tree_missing(f: CommitFacts) -> Refusal | None:
    return Refusal("start-tree-missing", f.wave, paths=f.unknown) if f.unknown else None


def operator_conflicts(f: CommitFacts) -> Refusal | None:
    return Refusal("operator-conflict", f.wave, paths=f.conflicts) if f.conflicts else None


def git_tampered(f: CommitFacts) -> Refusal | None:
    # Reviewed one at a time, never accepted in bulk: named before the other stray paths.
    return Refusal("git-tampered", f.wave, paths=f.tamper) if f.tamper else None


def stray_paths(f: CommitFacts) -> Refusal | None:
    paths = tuple(s.path for s in f.stray)
    return Refusal("stray-paths", f.wave, paths=paths) if paths else None


def tests_stale(f: CommitFacts) -> Refusal | None:
    return Refusal("tests-stale", f.wave) if f.tests_stale else None


def nothing_staged(f: CommitFacts) -> Refusal | None:
    return Refusal("nothing-to-commit", f.wave) if not f.staged else None


CHECKS: tuple[Check, ...] = (
    git_failed,
    review_unanswered,
    gates_without_git,
    findings_open,
    git_busy,
    head_rewritten,
    head_moved,
    start_tree_missing,
    operator_conflicts,
    git_tampered,
    stray_paths,
    tests_stale,
    nothing_staged,
)


def refusal(facts: CommitFacts) -> Refusal | None:
    """The first check's refusal, None when the checkpoint can be committed."""
    for check in CHECKS:
        found = check(facts)
        if found is not None:
            return found
    return None
