"""Scout-and-Wave's Markdown IMPL docs: what sets them apart from other plans, read as such.

A Scout-and-Wave (SAW) IMPL doc in Markdown (``docs/IMPL-<slug>.md``) holds a ``File Ownership``
table naming agents by bare letters (``A``, ``B2``), a ``Wave Structure`` block, one section per
agent with its prompt (often in a code fence with a ``## 1. File Ownership`` section), and
``### Agent A - Completion Report`` sections the agents append when they finish. Completion
reports are reports, never agents: ``Report`` keeps where each is and the status it gives. The
doc's other sections (interface contracts, scaffolds, the status checklist...) are SAW's own
conventions, which wavedeck reads and names (``wavedeck.plan.models.Convention``) but does not
act on. ``wavedeck.plan.reading.shapereader`` calls this module while it walks the doc.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from markdown_it import MarkdownIt
from markdown_it.token import Token

from wavedeck.plan.errors import Finding
from wavedeck.plan.models import Convention, ConventionKind
from wavedeck.plan.reading.tables import Table, read_table

if TYPE_CHECKING:
    from wavedeck.plan.reading.reader import AgentB

_MD = MarkdownIt("commonmark", {"html": False}).enable("table")

# ``Agent A - Completion Report``, ``Completion Report``, ``Agent B2 — Completion Report (run 2)``.
_REPORT = re.compile(
    r"^\s*(?:(?:wave\s+\d+\s+)?agent\s+(?P<id>[A-Za-z][2-9]?|\d+)\s*[-—–:.]*\s*)?"
    r"completion\s+report\b",
    re.IGNORECASE,
)
# ``status: complete`` in a report's YAML block, ``**Status:** partial`` in its prose.
_STATUS = re.compile(
    r"^\s*[-*]?\s*[*_]*status[*_]*\s*:\s*[*_]*\s*[`'\"]?(complete|partial|blocked)\b",
    re.IGNORECASE | re.MULTILINE,
)
_BARE_ID = re.compile(r"^(?:agent|wave\s+\d+\s+agent)\s+([A-Z][2-9]?)$", re.IGNORECASE)
_TYPED_BLOCK = re.compile(r"\btype=impl-([a-z-]+)")
# Section headings of a SAW doc, by the convention they hold.
_SECTIONS: tuple[tuple[re.Pattern[str], ConventionKind], ...] = (
    (re.compile(r"\binterface\s+contracts?\b", re.I), "interface-contracts"),
    (re.compile(r"\bscaffolds?\b", re.I), "scaffolds"),
    (re.compile(r"\bwave\s+structure\b", re.I), "wave-structure"),
    (re.compile(r"\bdependency\s+graph\b", re.I), "dependency-graph"),
    (re.compile(r"\bpre-?mortem\b", re.I), "pre-mortem"),
    (re.compile(r"\bknown\s+issues\b", re.I), "known-issues"),
    (re.compile(r"\bsuitability\b", re.I), "verdict"),
    (re.compile(r"\bwave\s+execution\s+loop\b", re.I), "execution-loop"),
    (re.compile(r"^\s*status\s*$", re.I), "status"),
    (re.compile(r"\bstub\s+report\b", re.I), "stub-report"),
    (re.compile(r"\bpost-merge\s+checklist\b", re.I), "post-merge-checklist"),
)
_BLOCKS: dict[str, ConventionKind] = {
    "dep-graph": "dependency-graph",
    "wave-structure": "wave-structure",
    "known-issues": "known-issues",
    "post-merge-checklist": "post-merge-checklist",
}


@dataclass
class Report:
    """A completion report section: the agent it names (a SAW id such as ``A``; ``None``: the
    agent whose section holds it), where it is, and the status it gives."""

    names: str | None
    line: int
    level: int
    owner: AgentB | None
    status: str | None = None
    end: int = 0  # 0-based line index just past the section


@dataclass
class Signals:
    """What makes a Markdown plan a SAW IMPL doc, and the SAW sections met, by kind."""

    title: bool = False
    typed_blocks: bool = False
    ownership_heading: bool = False
    sections: dict[ConventionKind, int] = field(default_factory=dict)
    verdict: tuple[int, str] | None = None  # ``**Verdict:** SUITABLE``: (line, verdict)

    def saw(self, reports: list[Report]) -> bool:
        """A SAW doc: an ``IMPL`` title, typed ``impl-*`` blocks, completion reports, or a file
        ownership section beside a wave structure section."""
        structure = "wave-structure" in self.sections
        return bool(
            self.title or self.typed_blocks or reports or (self.ownership_heading and structure)
        )


_VERDICT = re.compile(
    r"^\s*[*_]*verdict[*_]*\s*:\s*[*_]*\s*((?:NOT[ _])?SUITABLE(?:[ _]WITH[ _]CAVEATS)?)\b",
    re.IGNORECASE,
)


def verdict_signal(signals: Signals, lines: list[str], first: int) -> None:
    """Note the scout's verdict (``**Verdict:** SUITABLE WITH CAVEATS``) if a line gives it."""
    if signals.verdict is not None:
        return
    for offset, raw in enumerate(lines):
        m = _VERDICT.match(raw)
        if m is not None:
            signals.verdict = (first + offset, m.group(1).upper().replace(" ", "_"))
            return


def report_heading(text: str) -> tuple[str | None] | None:
    """A completion report heading: (the SAW id it names, or ``None``), else ``None``."""
    m = _REPORT.match(text)
    if m is None:
        return None
    name = m.group("id")
    return (name.upper() if name else None,)


def report_status(text: str) -> str | None:
    """The status a report's text gives (``complete``, ``partial``, ``blocked``), or ``None``."""
    m = _STATUS.search(text)
    return m.group(1).lower() if m else None


def bare_id(label: str) -> str | None:
    """The SAW id of an agent labelled ``Agent A`` / ``Wave 1 Agent B2`` (``A``, ``B2``)."""
    m = _BARE_ID.match(" ".join(label.split()))
    return m.group(1).upper() if m else None


def is_saw_title(title: str) -> bool:
    """``# IMPL: feature`` or ``# IMPL - feature``: the title SAW's scout writes."""
    return re.match(r"^\s*IMPL\b", title) is not None


def heading_signal(signals: Signals, text: str, line: int) -> None:
    """Note the SAW section a heading opens, if any."""
    if re.search(r"\bfile\s+ownership\b", text, re.I):
        signals.ownership_heading = True
        return
    for pattern, kind in _SECTIONS:
        if pattern.search(text):
            signals.sections.setdefault(kind, line)
            return


def block_kind(info: str) -> str | None:
    """The ``impl-*`` type of a typed fenced block (```` ```yaml type=impl-quality-gates ````)."""
    m = _TYPED_BLOCK.search(info)
    return m.group(1) if m else None


def block_signal(signals: Signals, info: str, line: int) -> None:
    """Note a typed block: the doc is SAW's, and some blocks are conventions of their own."""
    kind = block_kind(info)
    if kind is None:
        return
    signals.typed_blocks = True
    conv = _BLOCKS.get(kind)
    if conv is not None:
        signals.sections.setdefault(conv, line)


def fenced_tables(tok: Token, lines: list[str]) -> tuple[list[Table], list[Finding]]:
    """The Markdown tables inside a fenced block (SAW's ``yaml type=impl-file-ownership`` holds
    one), with the plan's own line numbers and ``bad-row`` findings."""
    if tok.map is None or "|" not in tok.content:
        return [], []
    # Blank lines in front put every row on its line of the plan, so rows are checked against
    # the plan's own source lines.
    tokens = _MD.parse("\n" * (tok.map[0] + 1) + tok.content)
    tables: list[Table] = []
    findings: list[Finding] = []
    i = 0
    while i < len(tokens):
        if tokens[i].type == "table_open":
            table, i, found = read_table(tokens, i, lines)
            tables.append(table)
            findings.extend(found)
        else:
            i += 1
    return tables, findings


_WHAT: dict[ConventionKind, str] = {
    "interface-contracts": "interface contracts between agents (not checked by wavedeck)",
    "scaffolds": "scaffold files to create before wave 1 (not created by wavedeck)",
    "wave-structure": "the wave structure block (waves are read from the agents' sections)",
    "dependency-graph": "the dependency graph (agents are ordered by their waves)",
    "pre-mortem": "the pre-mortem risk table",
    "known-issues": "known issues found while scouting",
    "verdict": "the scout's suitability verdict",
    "execution-loop": "the wave execution loop (wavedeck's own gates apply)",
    "status": "the status checklist (wavedeck keeps its own state)",
    "stub-report": "stub reports",
    "post-merge-checklist": "the post-merge checklist (not run by wavedeck)",
}


def conventions(signals: Signals, reports: list[Report]) -> list[Convention]:
    """The SAW conventions a Markdown doc holds, in the order of the doc."""
    out = [
        Convention(kind=kind, line=line, detail=_WHAT[kind])
        for kind, line in signals.sections.items()
        if not (kind == "verdict" and signals.verdict is not None)
    ]
    if signals.verdict is not None:
        line, verdict = signals.verdict
        out.append(Convention(kind="verdict", line=line, detail=f"the scout's verdict: {verdict}"))
    for r in reports:
        who = f"agent {r.names}" if r.names else "its agent"
        status = r.status or "no status"
        out.append(
            Convention(
                kind="completion-report",
                line=r.line,
                detail=f"completion report of {who}: {status} (read, not acted on)",
            )
        )
    return sorted(out, key=lambda c: c.line)
