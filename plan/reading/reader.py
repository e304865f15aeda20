"""The reference-format reader: one pass over markdown-it-py's block tokens, into drafts.

``Reader`` is the reader of the reference format (``## Wave N`` over ``### Agent N``), exactly as
``--strict`` reads it. Headings open and close waves, agents and sections; paragraphs carry
labelled fields; tables are issue tables, resolved-issue tables or the summary/distribution
tables; lists carry files, strategy counts and the rules. ``wavedeck.plan.reading.shapereader`` extends it for the
other shapes people write; ``wavedeck.plan.reading.parser`` builds the drafts into the frozen models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from markdown_it.token import Token

from wavedeck.plan.errors import Finding
from wavedeck.plan.models import IssueKind, ResolvedIssue, Rule, SourceHow
from wavedeck.plan.reading import fields as fl
from wavedeck.plan.reading.issuetable import IssueDraft, issue_rows, resolved_rows
from wavedeck.plan.reading.summary import SummaryReader
from wavedeck.plan.reading.tables import Table, paragraph_table_problem, plain_text, read_table

Range = tuple[int, int | None]


@dataclass
class AgentB:
    number: int
    title: str
    line: int
    level: int
    package: str | None = None
    package_line: int | None = None
    files: list[str] = field(default_factory=list)
    files_line: int | None = None
    issues: list[IssueDraft] = field(default_factory=list)
    end: int = 0  # 0-based line index just past the section
    # How it was recognised (``wavedeck.plan.models.Source``) and the heading or row as written.
    how: SourceHow = "agent-heading"
    head: str = ""
    label: str = ""  # the plan's own name for it (``W1``, ``Workstream A``), for cross-references
    # The reference format reads issues from its issue table only; other shapes read work items.
    reference: bool = True
    wave_hint: int | None = None  # a wave the agent names itself (``Wave 1 Agent B``, a column)
    priority: str | None = None  # a severity its heading states (``(High Priority)``)
    work: dict[IssueKind, list[IssueDraft]] = field(default_factory=dict)  # work items by kind
    shared: set[str] = field(default_factory=set)  # raw file values declared shared
    ranges: dict[str, list[Range]] = field(default_factory=dict)  # raw file value -> its lines
    aliases: list[str] = field(default_factory=list)  # other names (``**Owner:** Agent A``)
    # Paths an ownership table gives it: normalised path -> (line, shared, ranges).
    table_paths: dict[str, tuple[int, bool, list[Range]]] = field(default_factory=dict)
    section_files: int = 0  # heading level of an open "File ownership" section, 0: none
    section_tasks: int = 0  # heading level of an open "Tasks" section, 0: none
    numbering: int = 0  # the last of its numbered prompt headings (``## 1. Files``, ``## 2. …``)
    plain_steps: int = 0  # the line of a numbered list not read as work (``Agent N`` sections)
    named: bool = False  # ``### Backend agent``: numbered after the numbered agents of its wave
    # Lines of its section that are not its own (a completion report inside it): [start, end).
    skip: list[tuple[int, int]] = field(default_factory=list)
    prose: list[str] = field(default_factory=list)  # files-list entries that read as text
    after: list[str] = field(default_factory=list)  # SAW ids of agents it depends on
    after_text: list[str] = field(default_factory=list)  # ``**Dependencies:**`` as written


@dataclass
class WaveB:
    head: fl.WaveHeading
    line: int
    level: int
    agents: list[AgentB] = field(default_factory=list)
    text: str = ""
    how: SourceHow = "wave-heading"
    src: str = ""  # the heading as written
    as_written: int | None = (
        None  # its number before ``wavedeck.plan.reading.placement`` renumbered waves
    )


class Reader:
    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.lines = text.split("\n")
        self.title: str | None = None
        self.waves: list[WaveB] = []
        self.wave: WaveB | None = None
        self.agent: AgentB | None = None
        # Open section headings: (level, lower-cased text, text as written).
        self.headings: list[tuple[int, str, str]] = []
        self.findings: list[Finding] = []
        self.resolved: list[ResolvedIssue] = []
        self.rules: list[Rule] = []
        self.summary = SummaryReader()
        self.strategy_start: tuple[int, int] | None = None  # (level, 0-based first line)
        self.strategy = ""
        self.files_list_line: int | None = None  # a ``**Files**:`` with its list still to come

    # -- sections -------------------------------------------------------------------------

    def _in_section(self, word: str) -> bool:
        return any(word in lower for _, lower, _ in self.headings)

    def _close_agent(self, end: int) -> None:
        if self.agent is not None:
            self.agent.end = end
            self.agent = None

    def _close_wave(self, end: int) -> None:
        self._close_agent(end)
        if self.wave is not None:
            if not self.wave.agents:
                self.wave.text = "\n".join(self.lines[self.wave.line : end]).strip()
            self.wave = None

    def heading(self, level: int, text: str, plain: str, start: int) -> None:
        """A heading opens or closes the title, a wave, an agent or a section.

        Waves and agents are recognised in the source text, or failing that in the plain text
        (``**Wave 1** — …``)."""
        line = start + 1
        if not self.enter_heading(level, text, start):
            return
        wave = fl.wave_heading(text) if level >= 2 else None
        if wave is None and level >= 2 and plain != text:
            wave = fl.wave_heading(plain)
        if wave is not None:
            self._close_wave(start)
            self.wave = WaveB(head=wave, line=line, level=level, src=f"{'#' * level} {text}")
            self.waves.append(self.wave)
            return
        agent = fl.agent_heading(text)
        if agent is None and plain != text:
            agent = fl.agent_heading(plain)
        if agent is not None and self.wave is not None and level > self.wave.level:
            self._close_agent(start)
            if not self.wave.agents:
                self.wave.text = "\n".join(self.lines[self.wave.line : start]).strip()
            self.agent = AgentB(
                number=agent[0],
                title=agent[1],
                line=line,
                level=level,
                head=f"{'#' * level} {text}",
            )
            self.wave.agents.append(self.agent)
            return
        if self.agent is not None and level <= self.agent.level:
            self._close_agent(start)
        if self.wave is not None and level <= self.wave.level:
            self._close_wave(start)
        if agent is not None:  # an agent heading no wave holds: say so, never drop it silently
            outer = self.headings[-2] if len(self.headings) > 1 else None
            enclosing = (outer[0], outer[2]) if outer is not None else None
            message = fl.unread_agent_message(level, text, enclosing)
            self.findings.append(Finding("unread-heading", "error", line, message))
        if "strategy" in text.lower() and self.strategy_start is None:
            self.strategy_start = (level, start + 1)

    def enter_heading(self, level: int, text: str, start: int) -> bool:
        """Close what a heading ends (the strategy, deeper sections); ``False`` for the title."""
        self.files_list_line = None
        if self.strategy_start is not None and level <= self.strategy_start[0]:
            first = self.strategy_start[1]
            self.strategy = "\n".join(self.lines[first:start]).strip()
            self.strategy_start = None
        while self.headings and self.headings[-1][0] >= level:
            self.headings.pop()
        self.headings.append((level, text.lower(), text))
        if level == 1 and self.title is None:
            self.title = text
            return False
        return True

    # -- paragraphs: labelled fields --------------------------------------------------------

    def paragraph(self, start: int, end: int) -> None:
        raw = self.lines[start:end]
        self.files_list_line = None
        problem = paragraph_table_problem(start + 1, raw)
        if problem is not None:
            self.findings.append(problem)
        agent = self.agent
        if agent is None:
            return
        for offset, text in enumerate(raw):
            got = self.labelled(text)
            if got is not None:
                self.field(agent, got[0], got[1], start + offset + 1)

    def labelled(self, text: str) -> tuple[str, str] | None:
        """A labelled field on one source line: (label lower-cased, value), or ``None``."""
        return fl.labelled_field(text)

    def field(self, agent: AgentB, label: str, value: str, line: int) -> None:
        """One labelled field of ``agent``: its package or its files."""
        if label in ("package", "folder"):
            spans = fl.list_values(value)
            agent.package = spans[0] if spans else value.strip()
            agent.package_line = line
        elif label in ("files", "file"):
            agent.files_line = line
            values = fl.list_values(value)
            agent.files.extend(values)
            if not values:
                self.files_list_line = line

    # -- lists: files, strategy counts, rules -----------------------------------------------

    def bullet_items(
        self, tokens: Sequence[Token], i: int
    ) -> tuple[list[tuple[int, str, Token]], int]:
        """The list starting at ``tokens[i]``: (line, number text, first inline) per top item."""
        items: list[tuple[int, str, Token]] = []
        depth = 0
        pending: tuple[int, str] | None = None
        n = len(tokens)
        while i < n:
            tok = tokens[i]
            depth += (
                tok.nesting
                if tok.type.endswith("_list_open") or tok.type.endswith("_list_close")
                else 0
            )
            if tok.type == "list_item_open" and depth == 1:
                pending = ((tok.map or [0])[0] + 1, tok.info)
            elif tok.type == "inline" and pending is not None:
                items.append((pending[0], pending[1], tok))
                pending = None
            i += 1
            if depth == 0:
                break
        return items, i

    def list_block(self, tokens: Sequence[Token], i: int) -> int:
        items, end = self.bullet_items(tokens, i)
        if self.agent is not None and self.files_list_line is not None:
            self.file_items(self.agent, items)
            self.files_list_line = None
            return end
        self.files_list_line = None
        if self.strategy_start is not None:
            for line, _num, inline in items:
                self.summary.strategy_item(inline.content, line)
        # Rules: an ordered list right under a heading that says so (not inside an agent, whose
        # title might mention "rules").
        under_rules = bool(self.headings) and "rule" in self.headings[-1][1]
        if tokens[i].type == "ordered_list_open" and self.agent is None and under_rules:
            for index, (line, num, inline) in enumerate(items, start=1):
                number = int(num) if num.isdigit() else index
                spans = tuple(c.content for c in inline.children or () if c.type == "code_inline")
                self.rules.append(
                    Rule(number=number, text=inline.content, line=line, code_spans=spans)
                )
        return end

    def file_items(self, agent: AgentB, items: list[tuple[int, str, Token]]) -> None:
        """The items of the list under a ``**Files**:`` label."""
        for _line, _num, inline in items:
            agent.files.extend(fl.list_values(inline.content))

    def fence(self, tok: Token) -> None:
        """A fenced block: inside an agent, prose for its prompt (kept in ``Agent.text``)."""

    # -- tables -----------------------------------------------------------------------------

    def table(self, table: Table) -> None:
        self.files_list_line = None
        if self.agent is not None:
            drafts, found = issue_rows(table, len(self.agent.issues) + 1)
            self.agent.issues.extend(drafts)
            self.findings.extend(found)
        elif table.column("issue") is not None and self._in_section("resolved"):
            self.resolved.extend(resolved_rows(table))
        else:
            self.summary.table(table)

    # -- the walk ---------------------------------------------------------------------------

    def walk(self, tokens: Sequence[Token]) -> None:
        i = 0
        n = len(tokens)
        while i < n:
            tok = tokens[i]
            kind = tok.type
            if kind == "heading_open":
                start = (tok.map or [0])[0]
                inline = tokens[i + 1]
                self.heading(int(tok.tag[1:]), inline.content, plain_text(inline), start)
                i += 3
            elif kind == "paragraph_open":
                span = tok.map or [0, 0]
                self.paragraph(span[0], span[1])
                i += 3
            elif kind == "table_open":
                table, i, found = read_table(tokens, i, self.lines)
                self.findings.extend(found)
                self.table(table)
            elif kind == "bullet_list_open" or kind == "ordered_list_open":
                i = self.list_block(tokens, i)
            else:
                if kind == "fence":
                    self.fence(tok)
                i += 1
        self._close_wave(len(self.lines))
        if self.strategy_start is not None:
            self.strategy = "\n".join(self.lines[self.strategy_start[1] :]).strip()
