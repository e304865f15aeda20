"""A wave's review as the checkpoint message records it: a short summary and its trailers.

``review_summary`` reads the wave's ``ReviewRecord`` (and each agent's runs, to say whether its
change requests were answered) into the lines the message's body gets under ``Review:`` and
the trailers::

    Wavedeck-Reviewed-By: Jane Doe <jane@example.com>
    Wavedeck-Review: 1 of 2 agents approved; 1 change request, answered; 3 comments; 1 hunk reverted

(one ``Wavedeck-Reviewed-By`` per person who approved), plus what the reviewer agents used, to
count in the wave's usage. A wave nobody reviewed in wavedeck gets nothing: its message reads as
before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from wavedeck.agents.kinds import AGENT_ENDED
from wavedeck.agents.presets.usage import UsageTotal
from wavedeck.agents.reviewrecord import ReviewRecord, answered
from wavedeck.agents.state import AgentRecord


@dataclass(frozen=True)
class ReviewSummary:
    """The review's part of a checkpoint message."""

    lines: tuple[str, ...] = ()
    trailers: tuple[tuple[str, str], ...] = ()
    reviewer_usage: UsageTotal = field(default_factory=UsageTotal)

    @property
    def empty(self) -> bool:
        return not self.lines and not self.trailers


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _agent_line(agent: str, record: ReviewRecord, runs: AgentRecord | None) -> tuple[str, int, int]:
    """One agent's line, and its requests: how many, how many answered."""
    verdict = record.verdict(agent)
    launches = runs.launches if runs else 0
    ended = (runs.state if runs else "pending") in AGENT_ENDED
    parts: list[str] = []
    done = 0
    for request in verdict.requests:
        ok = answered(request, launches, ended)
        done += ok
        parts.append(
            f"changes requested in follow-up {request.follow_up} "
            f"({_plural(len(request.comments), 'comment')}), "
            + ("answered" if ok else "not answered")
        )
    if verdict.approved_by:
        anyway = " anyway" if verdict.anyway else ""
        parts.append(f"approved{anyway} by {verdict.approved_by}")
    elif not parts:
        parts.append("not approved")
    return f"- {agent}: " + "; ".join(parts), len(verdict.requests), done


def review_summary(
    record: ReviewRecord,
    agents: Sequence[str],
    runs: Mapping[str, AgentRecord],
    reviewer: str | None = None,
) -> ReviewSummary:
    """The summary of ``record`` for a wave of ``agents`` (see the module docstring)."""
    if not (record.comments or record.agents or record.reverts or record.reviewers):
        return ReviewSummary()
    lines = ["Review:"]
    requests = answered_n = 0
    for agent in agents:
        line, asked, ok = _agent_line(agent, record, runs.get(agent))
        lines.append(line)
        requests, answered_n = requests + asked, answered_n + ok
    for revert in record.reverts:
        whose = ", ".join(x for x in (revert.agent, revert.issue) if x)
        lines.append(f"- reverted {revert.path} {revert.header}" + (f" ({whose})" if whose else ""))
    usage = UsageTotal()
    for agent, run in sorted(record.reviewers.items()):
        found = [c for c in record.comments if c.author == "reviewer" and c.agent == agent]
        fates = [
            f"{sum(1 for c in found if c.forwarded)} forwarded",
            f"{sum(1 for c in found if c.status == 'dismissed')} dismissed",
        ]
        what = f"{_plural(len(found), 'finding')} ({', '.join(fates)})"
        if run.state == "failed":
            what = f"failed: {run.reason}"
        lines.append(f"- reviewer agent{f' ({reviewer})' if reviewer else ''} on {agent}: {what}")
        usage = usage + UsageTotal(run.input_tokens, run.output_tokens, run.cost_usd, run.turns)
    approvers = list(dict.fromkeys(v.approved_by for v in record.agents.values() if v.approved_by))
    approved = sum(1 for a in agents if record.verdict(a).approved_by)
    mine = [c for c in record.comments if c.author == "operator"]
    facts = [f"{approved} of {len(agents)} agents approved"]
    if requests:
        facts.append(f"{_plural(requests, 'change request')}, {answered_n} answered")
    if mine:
        facts.append(_plural(len(mine), "comment"))
    if record.reverts:
        facts.append(f"{_plural(len(record.reverts), 'hunk')} reverted")
    findings = [c for c in record.comments if c.author == "reviewer"]
    if findings:
        open_high = sum(1 for c in findings if c.blocking)
        facts.append(
            f"{_plural(len(findings), 'reviewer finding')}"
            + (f", {open_high} open" if open_high else "")
        )
    trailers = [("Wavedeck-Reviewed-By", who) for who in approvers]
    trailers.append(("Wavedeck-Review", "; ".join(facts)))
    return ReviewSummary(tuple(lines), tuple(trailers), usage)
