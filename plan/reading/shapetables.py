"""Tables of plans in other shapes: agents as rows (``| Agent ID | Task | … |``), task rows as
work items, and the drafts' helpers for work items and declared files.

A table with an Agent column outside any agent lists agents: rows naming the same agent are one
agent, each row a work item (its own id from an id column or the task text, ``INFRA-001: …``).
Inside an agent, a table with an id or task column but no Severity column is a task table.
"""

from __future__ import annotations

from wavedeck.plan.errors import Finding
from wavedeck.plan.models import IssueKind
from wavedeck.plan.reading import fields as fl
from wavedeck.plan.reading import fileentries as fe
from wavedeck.plan.reading import shapes as sh
from wavedeck.plan.reading.issuetable import IssueDraft
from wavedeck.plan.reading.reader import AgentB
from wavedeck.plan.reading.tables import Row, Table, plain_text

AGENT_COLUMNS = ("agent", "agent id", "agent name", "worker", "workstream", "track", "lane")
ID_COLUMNS = ("id", "issue", "issue id", "task id", "ticket", "key")
TASK_COLUMNS = ("task", "tasks", "summary", "title", "description", "work", "change", "finding")
MORE_TASK_COLUMNS = ("focus", "scope", "responsibility", "responsibilities", "deliverables")
PRIORITY_COLUMNS = ("priority", "severity", "sev")
DEPENDS_COLUMNS = ("depends on", "dependencies", "deps", "after", "blocked by")
FILE_COLUMNS = ("file", "files", "path", "paths", "file path", "files owned")
WAVE_COLUMNS = ("wave", "phase", "stage")


def add_work(
    a: AgentB,
    kind: IssueKind,
    line: int,
    text: str,
    own_id: str | None,
    severity: str | None = None,
    extra: dict[str, str] | None = None,
    depends: list[str] | None = None,
) -> None:
    """One work item of ``a`` (``kind``: ``wavedeck.plan.models.Issue.kind``); its severity from its own
    priority words, else set later from the agent's; ``(depends on …)`` read when it has an id."""
    items = a.work.setdefault(kind, [])
    issue_id = own_id or ""
    # ``(depends on …)`` needs the word; looking for it first spares a regex per item.
    own_depends = fl.dependencies(text, issue_id) if issue_id and "epend" in text else []
    items.append(
        IssueDraft(
            id=issue_id,
            order=len(items) + 1,
            severity=severity or sh.priority_of(text) or "",
            summary=text,
            line=line,
            extra=extra or {},
            depends=own_depends + (depends or []),
            kind=kind,
        )
    )


def add_files(agent: AgentB, entries: list[fe.FileEntry], shared: bool) -> None:
    """Declared files of ``agent``, with their shared flags and line ranges."""
    for entry in entries:
        agent.files.append(entry.raw)
        if shared or entry.shared:
            agent.shared.add(entry.raw)
        if entry.ranges:
            agent.ranges.setdefault(entry.raw, []).extend(entry.ranges)


def task_rows(a: AgentB, table: Table, findings: list[Finding]) -> bool:
    """Rows of a task table (an id or task column, maybe a priority) as work items. A row whose
    id cell holds no usable id is a ``bad-row`` finding, never given an id of our making."""
    c_id = table.column(*ID_COLUMNS)
    c_task = table.column(*TASK_COLUMNS)
    if c_id is None and c_task is None:
        return False
    c_pri = table.column(*PRIORITY_COLUMNS)
    c_dep = table.column(*DEPENDS_COLUMNS)
    for row in table.rows:
        cells = row.cells
        text = cells[c_task].content if c_task is not None else ""
        own = plain_text(cells[c_id]).strip() if c_id is not None else None
        if own and not fl.ISSUE_ID.match(own):
            message = (
                f"task id {own!r} may only use letters, digits, '-', '_' and single dots; "
                "the row is ignored"
            )
            findings.append(Finding("bad-row", "error", row.line, message))
            continue
        if not own:
            own, rest = sh.item_id(text)
            text = rest if own else text
        if c_task is None:
            text = " ".join(c.content for i, c in enumerate(cells) if i != c_id)
        severity = None
        if c_pri is not None:
            severity = sh.priority_of(f"priority: {plain_text(cells[c_pri])}")
        used = {c_id, c_task, c_pri, c_dep}
        extra = {table.header[i]: c.content for i, c in enumerate(cells) if i not in used}
        depends: list[str] = []
        if c_dep is not None and plain_text(cells[c_dep]).strip():
            extra[table.header[c_dep]] = cells[c_dep].content
            depends = fl.dependencies(f"(depends on {plain_text(cells[c_dep])})", own or "")
        add_work(a, "task-row", row.line, text.strip(), own, severity, extra, depends)
    return True


def agent_rows(table: Table, lines: list[str], findings: list[Finding]) -> list[AgentB]:
    """A table with an Agent column outside any agent: each row is an agent's work item, rows
    naming the same agent go to one agent (``how`` ``table-row``). The new agents, in order."""
    c_agent = table.column(*AGENT_COLUMNS)
    c_file = table.column(*FILE_COLUMNS)
    c_wave = table.column(*WAVE_COLUMNS)
    assert c_agent is not None
    by_label: dict[str, AgentB] = {}
    for row in table.rows:
        label = plain_text(row.cells[c_agent]).strip()
        if not label:
            continue
        agent = by_label.get(label.casefold())
        if agent is None:
            head = lines[row.line - 1] if row.line <= len(lines) else ""
            agent = AgentB(sh.id_number(label), label, row.line, 99, how="table-row")
            agent.head, agent.label, agent.reference = head.strip(), label, False
            agent.end = row.line
            by_label[label.casefold()] = agent
            if c_wave is not None:
                agent.wave_hint = fl.parse_int(plain_text(row.cells[c_wave]))
        task_rows(agent, _without(table, {c_agent, c_file, c_wave}, row), findings)
        if c_file is not None:
            add_files(agent, fe.file_entries(row.cells[c_file].content), False)
    for agent in by_label.values():
        first = agent.work.get("task-row", [])
        if len(first) == 1 and first[0].summary:
            agent.title = f"{agent.label}: {plain_summary(first[0].summary)}"
    return list(by_label.values())


def plain_summary(text: str) -> str:
    """A summary cell's text for a title: without ``**`` and code-span backticks."""
    return text.replace("**", "").replace("`", "").strip()


def _without(table: Table, drop: set[int | None], row: object) -> Table:
    """``table`` restricted to one row and without the columns in ``drop``."""
    assert isinstance(row, Row)
    keep = [i for i in range(len(table.header)) if i not in drop]
    cells = tuple(row.cells[i] for i in keep)
    return Table(
        header=tuple(table.header[i] for i in keep),
        line=table.line,
        rows=(Row(row.line, cells, row.complete),),
    )
