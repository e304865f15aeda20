"""``count-mismatch``: every number the plan states, compared with what the plan contains.

Stated numbers come from the wave headings (``(29 issues, 5 agents)``) and from the ``StatedCount``
records the parser collected (summary table, distribution table, strategy list). A package in the
distribution or strategy counts every issue of the agents whose package folder lies inside it.
"""

from __future__ import annotations

from collections.abc import Iterator

from wavedeck.plan.errors import Finding
from wavedeck.plan.models import Plan, StatedCount


def _issues(plan: Plan, wave: int | None = None, package: str | None = None) -> int:
    total = 0
    for w in plan.waves:
        if wave is not None and w.number != wave:
            continue
        for agent in w.agents:
            if package is None or agent.package.startswith(package):
                total += len(agent.issues)
    return total


def _mismatch(line: int, what: str, stated: int, actual: int, wave: int | None) -> Finding:
    return Finding(
        code="count-mismatch",
        level="error",
        line=line,
        message=f"{what}: the plan states {stated} but contains {actual}",
        wave=wave,
    )


def _actual(plan: Plan, s: StatedCount) -> tuple[str, int] | None:
    """What a stated count claims to count, and the plan's own number for it."""
    waves = {w.number for w in plan.waves}
    if s.wave is not None and s.wave not in waves:
        return f"wave {s.wave} (not in the plan)", 0
    where = f"wave {s.wave}" if s.wave is not None else "all waves"
    if s.kind == "summary-issues":
        return f"issues in wave {s.wave}", _issues(plan, s.wave)
    if s.kind == "summary-agents":
        return f"agents in wave {s.wave}", len(plan.wave(s.wave).agents) if s.wave else 0
    if s.kind == "summary-total-issues":
        return "total issues", len(plan.issues)
    if s.kind == "summary-total-waves":
        return "number of waves", len(plan.waves)
    if s.kind == "summary-total-agents":
        return "total agents", len(plan.agents)
    if s.kind == "distribution":
        return f"issues of {s.package} in {where}", _issues(plan, s.wave, s.package)
    if s.kind == "distribution-total":
        return f"issues in {where} (distribution total)", _issues(plan, s.wave)
    if s.kind == "strategy":
        return f"issues of {s.package} (strategy)", _issues(plan, None, s.package)
    return None


def check_counts(plan: Plan) -> Iterator[Finding]:
    """One ``count-mismatch`` error per stated number that disagrees with the plan."""
    for wave in plan.waves:
        count = len(wave.issue_ids)
        if wave.stated_issues is not None and wave.stated_issues != count:
            yield _mismatch(
                wave.line, f"issues in wave {wave.number}", wave.stated_issues, count, wave.number
            )
        if wave.stated_agents is not None and wave.stated_agents != len(wave.agents):
            yield _mismatch(
                wave.line,
                f"agents in wave {wave.number}",
                wave.stated_agents,
                len(wave.agents),
                wave.number,
            )
    for stated in plan.stated:
        got = _actual(plan, stated)
        if got is not None and got[1] != stated.value:
            yield _mismatch(stated.line, got[0], stated.value, got[1], stated.wave)
