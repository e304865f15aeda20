"""The numbers a plan states about itself, read into ``StatedCount`` records.

Three places state numbers: the execution summary table (issues and agents per wave, totals), the
per-package distribution table (issues per package per wave), and the strategy's list items
(``packages/headless-client/`` (Python) — 38 issues). ``count-mismatch`` compares them with the
plan's content; a number that cannot be read is reported rather than skipped.
"""

from __future__ import annotations

import re

from wavedeck.plan.errors import Finding
from wavedeck.plan.models import StatedCount
from wavedeck.plan.paths import PathRejected, normalize_package
from wavedeck.plan.reading import fields as fl
from wavedeck.plan.reading.tables import Table, plain_text

_WAVE_COLUMN = re.compile(r"^\s*wave\s*(\d+)\s*$", re.IGNORECASE)
_WAVES_X_AGENTS = re.compile(r"(\d+)\s+waves?\s*[x×*]\s*(\d+)\s+agents?", re.IGNORECASE)
_ISSUE_COUNT = re.compile(r"(\d+)\s+issues?\b", re.IGNORECASE)


def _package(text: str) -> str | None:
    """The package folder a cell or list item names in a code span, normalised."""
    for span in fl.code_spans(text):
        try:
            return normalize_package(span)
        except PathRejected:
            return None
    return None


class SummaryReader:
    """Collects stated counts from tables and strategy items as the parser meets them."""

    def __init__(self) -> None:
        self.stated: list[StatedCount] = []
        self.findings: list[Finding] = []

    def _unreadable(self, line: int, what: str, text: str) -> None:
        self.findings.append(
            Finding(
                code="bad-row",
                level="error",
                line=line,
                message=f"cannot read the {what} {text!r} as a number",
            )
        )

    def strategy_item(self, text: str, line: int) -> None:
        package = _package(text)
        m = _ISSUE_COUNT.search(text)
        if package is not None and m is not None:
            self.stated.append(
                StatedCount(kind="strategy", value=int(m.group(1)), line=line, package=package)
            )

    def table(self, table: Table) -> None:
        if table.column("wave") is not None and table.column("issues") is not None:
            self._summary(table)
        elif table.column("package") is not None:
            self._distribution(table)

    def _summary(self, table: Table) -> None:
        c_wave = table.column("wave")
        c_issues = table.column("issues")
        c_agents = table.column("agents")
        assert c_wave is not None and c_issues is not None
        for row in table.rows:
            label = plain_text(row.cells[c_wave])
            wave = fl.parse_int(label)
            total = wave is None and "total" in label.lower()
            if wave is None and not total:
                continue
            issues_text = plain_text(row.cells[c_issues])
            issues = fl.parse_int(issues_text)
            if issues is None:
                self._unreadable(row.line, "issue count", issues_text)
            else:
                kind = "summary-total-issues" if total else "summary-issues"
                self.stated.append(StatedCount(kind=kind, value=issues, line=row.line, wave=wave))
            if c_agents is None:
                continue
            agents_text = plain_text(row.cells[c_agents])
            m = _WAVES_X_AGENTS.search(agents_text) if total else None
            if m is not None:
                # "3 waves x 5 agents": three waves of five agents each.
                waves, each = int(m.group(1)), int(m.group(2))
                self.stated.append(
                    StatedCount(kind="summary-total-waves", value=waves, line=row.line)
                )
                self.stated.append(
                    StatedCount(kind="summary-total-agents", value=waves * each, line=row.line)
                )
                continue
            agents = fl.parse_int(agents_text)
            if agents is None:
                self._unreadable(row.line, "agent count", agents_text)
                continue
            kind = "summary-total-agents" if total else "summary-agents"
            self.stated.append(StatedCount(kind=kind, value=agents, line=row.line, wave=wave))

    def _distribution(self, table: Table) -> None:
        c_package = table.column("package")
        assert c_package is not None
        columns: list[tuple[int, int | None]] = []
        for index, name in enumerate(table.header):
            m = _WAVE_COLUMN.match(name)
            if m is not None:
                columns.append((index, int(m.group(1))))
            elif name.strip().lower() == "total":
                columns.append((index, None))
        if not columns:
            return
        for row in table.rows:
            label = row.cells[c_package]
            package = _package(label.content)
            total = package is None and "total" in plain_text(label).lower()
            if package is None and not total:
                continue
            for index, wave in columns:
                text = plain_text(row.cells[index])
                value = fl.parse_int(text)
                if value is None:
                    if text.strip():
                        self._unreadable(row.line, "count", text)
                    continue
                kind = "distribution-total" if total else "distribution"
                self.stated.append(
                    StatedCount(kind=kind, value=value, line=row.line, wave=wave, package=package)
                )
