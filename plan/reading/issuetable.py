"""Rows of an agent's issue table and of the resolved-issues table, read into plain drafts.

Columns are found by header name in any order and any case: ``Issue`` and ``Severity`` are
required, ``Summary`` expected, ``Order`` optional (row order otherwise), ``Depends on`` optional;
other columns are kept as ``extra`` text. An issue id must be safe to use in file names and
commit trailers; a row that cannot be read is a ``bad-row`` finding, never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from wavedeck.plan.errors import Finding
from wavedeck.plan.models import IssueKind, ResolvedIssue
from wavedeck.plan.reading import fields as fl
from wavedeck.plan.reading.tables import Table, plain_text


@dataclass
class IssueDraft:
    """An issue row before dependencies are resolved against the whole plan."""

    id: str
    order: int
    severity: str
    summary: str
    line: int
    extra: dict[str, str]
    depends: list[str]
    kind: IssueKind = "table-row"


def _bad_row(line: int, message: str) -> Finding:
    return Finding(code="bad-row", level="error", line=line, message=message)


def issue_rows(table: Table, first_order: int) -> tuple[list[IssueDraft], list[Finding]]:
    """The issues of an agent's table; rows without an ``Order`` are numbered from
    ``first_order``. A table without an ``Issue`` column is not an issue table: no rows."""
    drafts: list[IssueDraft] = []
    findings: list[Finding] = []
    c_issue = table.column("issue", "issue id", "id")
    if c_issue is None:
        return drafts, findings
    c_sev = table.column("severity", "sev")
    if c_sev is None:
        message = "this issue table has no Severity column (Issue and Severity are required)"
        return drafts, [_bad_row(table.line, message)]
    c_sum = table.column("summary", "title", "description")
    c_order = table.column("order", "#")
    c_dep = table.column("depends on", "depends", "dependencies")
    used = {c for c in (c_issue, c_sev, c_sum, c_order, c_dep) if c is not None}
    for index, row in enumerate(table.rows, start=first_order):
        cells = row.cells
        issue_id = plain_text(cells[c_issue]).strip()
        if not issue_id:
            findings.append(_bad_row(row.line, "this row has no issue id; it is ignored"))
            continue
        if not fl.ISSUE_ID.match(issue_id):
            message = (
                f"issue id {issue_id!r} may only use letters, digits, '-', '_' and single dots; "
                "the row is ignored"
            )
            findings.append(_bad_row(row.line, message))
            continue
        order = index
        if c_order is not None:
            got = fl.parse_int(plain_text(cells[c_order]))
            if got is None:
                message = f"order {plain_text(cells[c_order])!r} of {issue_id} is not a number"
                findings.append(_bad_row(row.line, message))
            else:
                order = got
        summary = cells[c_sum].content if c_sum is not None else ""
        depends = fl.dependencies(summary, issue_id)
        if c_dep is not None and plain_text(cells[c_dep]).strip():
            depends += fl.dependencies(f"(depends on {plain_text(cells[c_dep])})", issue_id)
        extra = {table.header[c]: cells[c].content for c in range(len(cells)) if c not in used}
        drafts.append(
            IssueDraft(
                id=issue_id,
                order=order,
                severity=fl.severity_of(plain_text(cells[c_sev])),
                summary=summary,
                line=row.line,
                extra=extra,
                depends=depends,
            )
        )
    return drafts, findings


def resolved_rows(table: Table) -> list[ResolvedIssue]:
    """The issues a resolved-issues table lists, every cell kept as written."""
    c_issue = table.column("issue", "issue id", "id")
    c_sev = table.column("severity", "sev")
    out: list[ResolvedIssue] = []
    if c_issue is None:
        return out
    for row in table.rows:
        issue_id = plain_text(row.cells[c_issue]).strip()
        if not issue_id:
            continue
        sev = fl.severity_of(plain_text(row.cells[c_sev])) if c_sev is not None else ""
        cells = {table.header[c]: row.cells[c].content for c in range(len(row.cells))}
        out.append(ResolvedIssue(id=issue_id, severity=sev, cells=cells, line=row.line))
    return out
