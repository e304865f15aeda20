"""What shows that each issue of a wave is done: ``Evidence``, for the checkpoint. Pure.

An agent's exit status is no evidence. An issue counts as done when its agent reported it
(``wavedeck: done <id> <outcome>``: ``reported``) or when the operator marked the agent done with
a reason (``marked-done``); an issue whose agent's file the operator reverted during the wave is
``reverted`` (not fixed, whatever was reported before); anything else is ``unreported``. The
checkpoint message names each issue's evidence, and its ``Wavedeck-Issue`` trailers carry it
(``wavedeck.agents.wave.message``); ``Wavedeck-Issues`` lists only the issues done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from wavedeck.agents.state import AgentRecord, RevertRecord
from wavedeck.plan.models import Plan

EvidenceKind = Literal["reported", "marked-done", "reverted", "unreported"]
DONE_KINDS: tuple[EvidenceKind, ...] = ("reported", "marked-done")


@dataclass(frozen=True)
class Evidence:
    """How issue ``issue`` of ``agent`` stands: ``kind``; ``detail`` is the agent's outcome
    (reported), the operator's reason (marked done), or what was reverted (reverted);
    ``outcome`` what the agent had reported, if anything (kept beside a revert or a mark)."""

    issue: str
    agent: str
    kind: EvidenceKind
    detail: str = ""
    outcome: str | None = None

    @property
    def done(self) -> bool:
        """Something shows it done: the agent's report, or the operator's word."""
        return self.kind in DONE_KINDS


def _reverted_of(agent: str, reverted: Mapping[str, RevertRecord]) -> str:
    """The agent's reverted paths as words (``src/a.py``, ``part of src/b.py``), "" for none."""
    paths = [
        (f"part of {path}" if rec.partial else path)
        for path, rec in sorted(reverted.items())
        if agent in rec.agents
    ]
    return ", ".join(paths)


def issue_evidence(
    plan: Plan,
    wave: int,
    records: Mapping[str, AgentRecord],
    reverted: Mapping[str, RevertRecord],
) -> dict[str, Evidence]:
    """Issue id -> its evidence, for every issue of ``wave`` (in plan order)."""
    out: dict[str, Evidence] = {}
    for agent in plan.wave(wave).agents:
        rec = records.get(agent.id) or AgentRecord()
        undone = _reverted_of(agent.id, reverted)
        for issue in sorted(agent.issues, key=lambda i: i.order):
            reported = issue.id in rec.issues_done
            outcome = (rec.outcomes.get(issue.id) or "done") if reported else None
            if undone:
                out[issue.id] = Evidence(issue.id, agent.id, "reverted", undone, outcome)
            elif reported:
                out[issue.id] = Evidence(issue.id, agent.id, "reported", outcome or "done")
            elif rec.marked_done:
                out[issue.id] = Evidence(issue.id, agent.id, "marked-done", rec.marked_done)
            else:
                out[issue.id] = Evidence(issue.id, agent.id, "unreported")
    return out


def done_issues(evidence: Mapping[str, Evidence]) -> tuple[str, ...]:
    """The issues something shows done, in order."""
    return tuple(i for i, e in evidence.items() if e.done)
