"""After the walk: put the agents no wave holds into waves, number waves and agents, turn work
items into issues, merge ownership tables, and explain a plan in which no agent was found.

Only ``wavedeck.plan.reading.shapereader.ShapeReader`` results come here (``--strict`` reads nothing of this).
Where agents without a wave go, in order: a wave they name themselves (``Wave 1 Agent B``, a
Wave column, a ``**Wave:**`` field); a line outside the agents that names a wave and them (an
execution-order section: ``Wave 1: W1, W2, W3``, a table with a Wave column, or numbered items
under an execution-order heading, ``1. W1, W2``; ``Wave`` lines win over ``Phase`` lines, which
win over numbered items); else, when the plan has no wave holding agents, one wave for all of
them. ``Phase N`` sections become waves only when they hold agents, numbered 1, 2, … in order; a
``Wave 0`` holding agents moves every wave up by one, as agent ids start at ``w1``.
"""

from __future__ import annotations

import re

from wavedeck.plan.errors import Finding, PlanError
from wavedeck.plan.models import UNSET, IssueKind, SourceHow, agent_id
from wavedeck.plan.reading import fields as fl
from wavedeck.plan.reading import fileentries as fe
from wavedeck.plan.reading import shapes as sh
from wavedeck.plan.reading.issuetable import IssueDraft
from wavedeck.plan.reading.ownertable import (
    bare_ids,
    bare_owners,
    key_of,
    label_pattern,
    merge_ownership,
)
from wavedeck.plan.reading.reader import AgentB, WaveB
from wavedeck.plan.reading.saw import markdown as saw
from wavedeck.plan.reading.shapereader import Loose, ShapeReader
from wavedeck.plan.reading.tables import split_raw_row
from wavedeck.plan.words import noun, plural

_DELIMITER = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_ORDER_HEADING = re.compile(
    r"\b(?:execution|order|sequence|sequencing|schedule|waves|parallel\w*)\b", re.IGNORECASE
)
_STEP = re.compile(r"^(?:[-*+]\s+)?(?:\*\*)?(?:step\s+)?(\d+)(?:\*\*)?[.):]\s+\S", re.IGNORECASE)
# The order in which a section's work items are preferred when it has several kinds.
WORK_KINDS: tuple[IssueKind, ...] = ("task-heading", "task-row", "checklist", "step", "bullet")


def _warn(code: str, line: int, message: str) -> Finding:
    return Finding(code, "warning", line, message)


def _execution_order(r: ShapeReader, agents: list[AgentB]) -> dict[int, tuple[str, int, int, str]]:
    """Where lines outside the agents place ``agents``: id(agent) -> (word, wave, line, text)."""
    pattern, by_name = label_pattern(agents)
    if pattern is None:
        return {}
    inside = [False] * (len(r.lines) + 1)
    for w in r.waves:
        for a in w.agents:
            if a.how != "table-row":
                for i in range(a.line - 1, max(a.end, a.line)):
                    inside[i] = True
    for loose in r.loose:
        a = loose.agent
        if a.how != "table-row":
            for i in range(a.line - 1, max(a.end, a.line)):
                inside[i] = True
    found: list[tuple[str, int, int, str, AgentB]] = []
    context: tuple[str, int] | None = None
    column: int | None = None
    in_order = False  # under an execution-order heading, whose numbered items are waves
    for index, raw in enumerate(r.lines):
        if inside[index]:
            continue
        text = raw.strip()
        if text.startswith("#"):
            context = sh.wave_mention(text)
            in_order = _ORDER_HEADING.search(text) is not None
        elif not text.startswith("|"):
            column = None
        if text.startswith("|"):
            nxt = r.lines[index + 1] if index + 1 < len(r.lines) else ""
            cells = split_raw_row(text)
            if _DELIMITER.match(text):
                continue
            if "-" in nxt and _DELIMITER.match(nxt):
                heads = [c.strip().lower() for c in cells]
                column = next((i for i, h in enumerate(heads) if h in ("wave", "phase")), None)
                continue
            if column is not None and column < len(cells):
                number = fl.parse_int(cells[column])
                if number is not None:
                    rest = " ".join(c for i, c in enumerate(cells) if i != column)
                    for m in pattern.finditer(rest):
                        found.append(("wave", number, index + 1, text, by_name[key_of(m)]))
                continue
        mention = sh.wave_mention(text)
        where = mention or context
        step = _STEP.match(text) if in_order and where is None else None
        if step is not None:
            where = ("order", int(step.group(1)))
        if where is None:
            continue
        if mention is not None and not text.startswith("#") and pattern.search(text) is None:
            context = mention
            continue
        for m in pattern.finditer(text):
            found.append((where[0], where[1], index + 1, text, by_name[key_of(m)]))
    # "Wave N" lines win over "Phase N" lines, which win over numbered execution-order items.
    if any(f[0] == "wave" for f in found):
        found = [f for f in found if f[0] == "wave"]
    elif any(f[0] != "order" for f in found):
        found = [f for f in found if f[0] != "order"]
    out: dict[int, tuple[str, int, int, str]] = {}
    for word, number, line, text, agent in found:
        out.setdefault(id(agent), (word, number, line, text))
    return out


def _wave_numbered(r: ShapeReader, number: int, line: int, how: SourceHow, text: str) -> WaveB:
    for w in r.waves:
        if w.head.number == number:
            return w
    wave = WaveB(fl.WaveHeading(number, "", (), None, None), line, 0, how=how, src=text)
    r.waves.append(wave)
    return wave


def place(r: ShapeReader) -> list[Finding]:
    """Place loose agents, number everything, build work items and ownership; the findings."""
    findings: list[Finding] = []
    pending: list[Loose] = []
    for loose in r.loose:
        a = loose.agent
        if loose.finding is not None and (r.reference_shaped or loose.under_wave_word):
            findings.append(loose.finding)
        elif loose.under_wave_word:
            why = (
                f"its section '{loose.under_wave_word}' is not a wave heading "
                "(a wave heading is '## Wave N — title', with N in digits)"
            )
            findings.append(_unplaced(a, why))
        elif r.reference_shaped and a.wave_hint is None:
            findings.append(_unplaced(a, "no wave holds it"))
        else:
            pending.append(loose)
    for line, head in r.agent_like:
        message = (
            f"'{head}' looks like an agent, but this plan's agents are 'Agent N' headings under "
            "waves: it is read as part of the section above it"
        )
        findings.append(_warn("unread-heading", line, message))
    if pending and r.saw:
        for p in pending:  # SAW's wave structure names agents [A] (standard) or {A} (integration)
            bare = saw.bare_id(p.agent.label)
            if bare is not None:
                p.agent.aliases += [f"[{bare}]", f"{{{bare}}}"]
    if pending:
        findings += _assign([p.agent for p in pending], r)
    status = r.signals.sections.get("status") if r.saw else None
    if not r.reference_shaped:
        for line, count, where in r.outside_checklists:
            if (
                status is not None
                and line > status
                and where.lstrip("#").strip().lower() == "status"
            ):
                continue  # a SAW doc's status checklist: one of its conventions (plan show)
            under = f"under '{where}', which is no agent" if where else "outside every agent"
            message = (
                f"a checklist of {plural(count, 'item')} {under}: its items are not read as work"
            )
            findings.append(_warn("unread-heading", line, message))
    if any(w.how in ("execution-order", "wave-field", "implicit") for w in r.waves):
        r.waves.sort(key=lambda w: w.head.number)
    _number(r)
    for w in r.waves:
        for a in w.agents:
            findings += _work_items(a, agent_id(w.head.number, a.number), r.saw)
    findings += merge_ownership(r)
    _named_dependencies(r)
    for w in r.waves:
        for a in w.agents:
            if a.after and a.issues and a.issues[0].kind == "saw-task":
                a.issues[0].depends = list(dict.fromkeys(a.after))
    return findings


def _named_dependencies(r: ShapeReader) -> None:
    """``**Dependencies:** Agent A (pkg/cache)``: the agents a dependencies field names."""
    agents = [a for w in r.waves for a in w.agents]
    if not any(a.after_text for a in agents):
        return
    pattern, by_name = label_pattern(agents)
    bare = bare_ids(agents)
    for a in agents:
        for text in a.after_text:
            named = [by_name[key_of(m)] for m in pattern.finditer(text)] if pattern else []
            named += [b for b, _cell in bare_owners(text, bare)]
            a.after.extend(saw.bare_id(b.label) or b.label for b in named if b is not a)


def _unplaced(a: AgentB, why: str) -> Finding:
    what = f"heading '{a.head}'" if a.how != "table-row" else f"row '{a.head}'"
    return Finding("unread-heading", "error", a.line, f"{what} reads as an agent but {why}")


def _assign(agents: list[AgentB], r: ShapeReader) -> list[Finding]:
    findings: list[Finding] = []
    order = _execution_order(r, agents)
    rest: list[AgentB] = []
    for a in agents:
        if a.wave_hint is not None:
            wave = _wave_numbered(r, a.wave_hint, a.line, "wave-field", a.head)
        elif id(a) in order:
            _word, number, line, text = order[id(a)]
            wave = _wave_numbered(r, number, line, "execution-order", text)
        else:
            rest.append(a)
            continue
        wave.agents.append(a)
    if rest:
        holders = [w for w in r.waves if w.agents]
        if holders:
            wave = holders[0]
            for a in rest:
                message = (
                    f"'{a.label or a.title}' is named by no wave of the plan's execution order; "
                    f"it runs in wave {wave.head.number}"
                )
                findings.append(_warn("implicit-wave", a.line, message))
        else:  # no waves at all: the plan's agents are one wave of parallel agents
            wave = _wave_numbered(r, 1, rest[0].line, "implicit", "")
        wave.agents.extend(rest)
    return findings


def _number(r: ShapeReader) -> None:
    """Phase waves without agents go; phases holding agents are numbered 1, 2, …; a wave 0
    holding agents moves every wave up by one; agents numbered 0 move up likewise."""
    for w in r.waves:
        w.as_written = w.head.number
        named = [a for a in w.agents if a.named]
        number = max((a.number for a in w.agents if not a.named), default=0)
        for a in named:  # ``### Backend agent``: after the numbered agents, in order
            number += 1
            a.number = number
    r.idle_phases = [w.line for w in r.waves if w.how == "phase-heading" and not w.agents]
    r.waves[:] = [w for w in r.waves if w.agents or w.how != "phase-heading"]
    phases = [w for w in r.waves if w.how == "phase-heading"]
    for n, w in enumerate(phases, start=1):
        w.head = fl.WaveHeading(n, w.head.title, w.head.scope, None, None)
    if any(w.head.number < 1 and w.agents for w in r.waves):
        for w in r.waves:
            h = w.head
            w.how = "renumbered" if w.how == "wave-heading" else w.how
            w.head = fl.WaveHeading(
                h.number + 1, h.title, h.scope, h.stated_issues, h.stated_agents
            )
    r.waves[:] = [w for w in r.waves if w.head.number >= 1 or w.agents]
    for w in r.waves:
        low = min((a.number for a in w.agents), default=1)
        if low < 1:
            for a in w.agents:
                a.number += 1 - low


def _work_items(a: AgentB, aid: str, saw_doc: bool) -> list[Finding]:
    """The issues of an agent that is not in the reference format: its issue table's rows, else
    the first kind of work item it has (``WORK_KINDS``), with ids generated where it has none.
    An ``Agent N`` section whose only work is a numbered list outside a Tasks heading or label
    gets a warning: such a list is prose in the reference format, so it is not guessed at."""
    if a.issues:
        return []
    kind = next((k for k in WORK_KINDS if a.work.get(k)), None)
    if kind is None and saw_doc and not a.reference:
        # A Scout-and-Wave agent's work is its prompt: one task, named by its SAW id.
        task = IssueDraft(
            id=saw.bare_id(a.label) or f"{aid}-1",
            order=1,
            severity=a.priority or UNSET,
            summary=a.title.split(": ", 1)[-1] if a.label else a.title,
            line=a.line,
            extra={},
            depends=[],
            kind="saw-task",
        )
        a.issues = [task]
        return []
    if kind is None:
        if a.plain_steps:
            message = (
                f"{aid} ({a.title}) has a numbered list but no issue table; it is not read as "
                "work (put it under a 'Tasks' heading or label, or write a checklist)"
            )
            return [_warn("unread-heading", a.plain_steps, message)]
        return []
    drafts = a.work[kind]
    for n, d in enumerate(drafts, start=1):
        d.order = n
        if not d.id:
            d.id = f"{aid}-{n}"
        d.severity = d.severity or a.priority or UNSET
    a.issues = drafts
    if not a.files and not a.table_paths:
        # Paths named in the work items (``- [ ] Create `lib/api.ts` ``) are its files.
        for d in drafts:
            for span in fl.code_spans(d.summary):
                if fe.path_like(span) and span not in a.files:
                    a.files.append(span)
                    a.files_line = a.files_line or d.line
    return []


def no_agents(r: ShapeReader, source: str) -> PlanError:
    """Why no agent was read: the wave headings seen, what looked like agents, lists outside."""
    parts: list[str] = []
    lines: list[int] = []
    waves = [w for w in r.waves if not w.agents]
    if waves:
        where = ", ".join(str(w.line) for w in waves[:8])
        parts.append(
            f"read {plural(len(waves), 'wave heading')} with no agent under {noun(len(waves), 'it', 'them')} (lines {where})"
        )
        lines.append(waves[0].line)
    if r.idle_phases:
        where = ", ".join(str(n) for n in r.idle_phases[:8])
        parts.append(
            f"read {plural(len(r.idle_phases), 'phase heading')} with no agent (lines {where})"
        )
        lines.append(r.idle_phases[0])
    if r.agent_like:
        heads = "; ".join(f"'{h}' (line {n})" for n, h in r.agent_like[:3])
        parts.append(f"headings that look like agents but no wave holds: {heads}")
        lines.append(r.agent_like[0][0])
    if r.outside_lists or r.outside_checklists:
        found = sorted(r.outside_lists + [c[0] for c in r.outside_checklists])
        where = ", ".join(str(n) for n in found[:8])
        parts.append(f"numbered lists or checklists outside any agent (lines {where})")
        lines.append(found[0])
    detail = "; ".join(parts) if parts else "the plan has no wave, phase or agent headings"
    return PlanError(
        f"no waves with agents found: {detail}. Agents are headings such as "
        "'### Agent 1: title', '### W1: title', '## Workstream A: title' or "
        "'#### Wave 1 Agent B: title', or rows of a table with an Agent column",
        line=min(lines) if lines else None,
        source=source,
    )
