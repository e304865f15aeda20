"""Checks that only plans in other shapes than the reference format need.

``range_overlaps``: a file two agents share on purpose by line ranges, where two ranges meet
(an ``overlap`` warning: the split is declared, but not cleanly). ``unset_severity``: work items
that state no severity, in a plan that states severities elsewhere (one warning per agent).
"""

from __future__ import annotations

from collections.abc import Iterator

from wavedeck.plan.errors import Finding
from wavedeck.plan.models import SEVERITY_RANK, UNSET, Agent, Plan

_END = 1 << 62  # a range open to the end of the file


def range_overlaps(wave: int, path: str, agents: list[Agent]) -> Iterator[Finding]:
    """Declared shared on purpose: only line ranges that two agents both claim are reported."""
    claimed = [(a, r) for a in agents for r in a.ranges_of(path)]
    for i, (a, ra) in enumerate(claimed):
        for b, rb in claimed[i + 1 :]:
            if a.id == b.id:
                continue
            a_end = ra.end if ra.end is not None else _END
            b_end = rb.end if rb.end is not None else _END
            if ra.start <= b_end and rb.start <= a_end:
                last = min(a_end, b_end)
                lines = f"{max(ra.start, rb.start)}-{last if last < _END else 'end'}"
                yield Finding(
                    "overlap",
                    "warning",
                    b.files_line or b.line,
                    f"{path} is split by line ranges, but {a.id} and {b.id} both claim lines "
                    f"{lines} in wave {wave}",
                    wave,
                    (a.id, b.id),
                    path,
                )


def unset_severity(plan: Plan) -> Iterator[Finding]:
    """Work items without a severity, in a plan that states severities elsewhere: one warning
    per agent (a plan that states none at all is not asked for them)."""
    if not any(i.severity in SEVERITY_RANK for i in plan.issues):
        return
    for agent in plan.agents:
        unset = [i for i in agent.issues if i.severity == UNSET]
        if unset:
            yield Finding(
                "unset-severity",
                "warning",
                unset[0].line,
                f"{agent.id} ({agent.title}): {len(unset)} work item(s) state no severity "
                f"({', '.join(i.id for i in unset[:5])}{', …' if len(unset) > 5 else ''}); "
                "the plan states severities elsewhere",
                wave=agent.wave,
                agents=(agent.id,),
                issue=unset[0].id,
            )


def no_work(plan: Plan) -> Iterator[Finding]:
    """``no-work`` (error): an agent with no work item at all. Its run could report nothing
    done, so a plan whose work was not read (a checklist taken for files) is never run quietly."""
    for agent in plan.agents:
        if not agent.issues:
            yield Finding(
                "no-work",
                "error",
                agent.line,
                f"{agent.id} ({agent.title}) has no work items: no issue table, checklist "
                "('- [ ] …'), task heading or numbered step under a 'Tasks' heading was read "
                "in its section",
                wave=agent.wave,
                agents=(agent.id,),
            )


def not_a_path(plan: Plan) -> Iterator[Finding]:
    """``not-a-path`` (error): a files-list entry that reads as text, not a path (spaces with
    brackets, a checklist item's words). It is no file of the agent; it is never dropped."""
    for agent in plan.agents:
        for raw in agent.prose_files:
            yield Finding(
                "not-a-path",
                "error",
                agent.files_line or agent.line,
                f"{agent.id}: {raw!r} is listed as a file but reads as text, not a path "
                "(spaces and brackets); write the path alone (a note after it, or a "
                "checklist item outside the files list, is fine)",
                wave=agent.wave,
                agents=(agent.id,),
                path=raw,
            )
