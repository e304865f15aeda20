"""The reader of plans as people write them: the reference reader plus the other shapes.

``ShapeReader`` extends ``wavedeck.plan.reading.reader.Reader``. Everything the reference reader recognises is read
exactly as it reads it; what it would skip is looked at again: agents named otherwise
(``### W1: …``, ``## Workstream A``, ``#### Wave 1 Agent B: …``, rows of a table with an Agent
column), ``## Phase N`` sections holding agents, work items that are no issue table (task
headings, checklists, numbered steps, task rows), files under other labels or in a "File
ownership" section, and ownership tables. Agents that no wave holds are kept in ``loose`` and
placed afterwards (``wavedeck.plan.reading.placement``). An agent read in the reference format (``### Agent N``
under ``## Wave N``) takes its issues from its issue table only, as ``--strict`` does. The fields,
file lists and work-item lists of an agent's section are read by
``wavedeck.plan.reading.agentsection``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markdown_it.token import Token

from wavedeck.plan.errors import Finding
from wavedeck.plan.models import SourceHow
from wavedeck.plan.reading import fields as fl
from wavedeck.plan.reading import fileentries as fe
from wavedeck.plan.reading import shapes as sh
from wavedeck.plan.reading.agentsection import list_files, list_item, read_field, reference_list
from wavedeck.plan.reading.prompts import prompt_files
from wavedeck.plan.reading.reader import AgentB, WaveB
from wavedeck.plan.reading.saw import markdown as saw
from wavedeck.plan.reading.saw.reader import SawReader
from wavedeck.plan.reading.shapetables import (
    AGENT_COLUMNS,
    FILE_COLUMNS,
    ID_COLUMNS,
    MORE_TASK_COLUMNS,
    TASK_COLUMNS,
    add_files,
    add_work,
    agent_rows,
    task_rows,
)
from wavedeck.plan.reading.tables import Table


@dataclass
class Loose:
    """An agent no wave holds (yet): its draft, the reference reader's finding for an
    ``### Agent N`` heading, and whether the section around it looks like an unreadable wave."""

    agent: AgentB
    finding: Finding | None
    under_wave_word: str | None  # the enclosing heading when it starts with "wave", as written


class ShapeReader(SawReader):
    def __init__(self, text: str, source: str, tokens: Sequence[Token]) -> None:
        super().__init__(text, source)
        self.has_waves, self.reference_shaped, self.prefixes = sh.prescan(tokens)
        self.loose: list[Loose] = []
        self.outside_lists: list[int] = []  # numbered lists no agent holds (lines)
        # Checklists no agent holds: (line, items, the heading above as written).
        self.outside_checklists: list[tuple[int, int, str]] = []
        self.agent_like: list[tuple[int, str]] = []  # agent-like headings left unread
        self.idle_phases: list[int] = []  # lines of Phase headings that held no agent

    # -- headings -----------------------------------------------------------------------------

    def heading(self, level: int, text: str, plain: str, start: int) -> None:
        if self.report_heading(level, text, plain, start):
            return
        a = self.agent
        if a is not None and not a.reference and self._inside(a, level, text, plain, start):
            return
        if a is not None and a.reference and level > a.level:
            # A Tasks heading in an ``Agent N`` section: its lists are work (if no issue table).
            a.section_tasks = level if sh.tasks_heading(plain) else 0
        combined = sh.combined_heading(text) or sh.combined_heading(plain)
        if level >= 2 and combined is not None and self._shape(level, text, plain, start):
            return
        if level >= 2 and fl.wave_heading(text) is None and fl.wave_heading(plain) is None:
            strict_agent = fl.agent_heading(text) or fl.agent_heading(plain)
            if strict_agent is not None:
                if self.wave is None or level <= self.wave.level:
                    self._loose_reference_agent(level, text, strict_agent, start)
                    return
            elif self._shape(level, text, plain, start):
                return
        before = self.agent
        super().heading(level, text, plain, start)
        # An ``Agent N`` heading in a ``Phase`` or combined wave is no reference-format agent.
        if self.agent is not None and self.agent is not before and self.wave is not None:
            self.agent.reference = self.wave.how == "wave-heading"

    def _loose_reference_agent(
        self, level: int, text: str, got: tuple[int, str], start: int
    ) -> None:
        """An ``Agent N`` heading that no wave holds: kept with the reference reader's finding,
        which stands when the plan's waves hold other agents (``wavedeck.plan.reading.placement``)."""
        self.enter_heading(level, text, start)
        self._close_agent(start)
        self._close_for(level, start)
        outer = self.headings[-2] if len(self.headings) > 1 else None
        enclosing = (outer[0], outer[2]) if outer is not None else None
        finding = Finding(
            "unread-heading", "error", start + 1, fl.unread_agent_message(level, text, enclosing)
        )
        head = f"{'#' * level} {text}"
        agent = AgentB(got[0], got[1], start + 1, level, head=head, reference=False)
        agent.label = f"Agent {got[0]}"
        self.agent = agent
        self.loose.append(Loose(agent, finding, self._wave_word()))

    def _wave_word(self) -> str | None:
        """The heading enclosing the one just entered, when it starts with "wave" (``## Wave
        Two``): agents under it are reported as unread, never placed elsewhere."""
        outer = self.headings[-2] if len(self.headings) > 1 else None
        if outer is not None and outer[2].strip().lower().startswith("wave"):
            return f"{'#' * outer[0]} {outer[2]}"
        return None

    def _shape(self, level: int, text: str, plain: str, start: int) -> bool:
        """Open a wave or an agent of another shape for this heading; ``False``: none."""
        line = start + 1
        head = f"{'#' * level} {text}"
        combined = sh.combined_heading(text) or sh.combined_heading(plain)
        if combined is not None and combined.wave is not None:
            self.enter_heading(level, text, start)
            self._close_agent(start)
            wave = self._wave_for(combined.wave, level, line, head, start)
            agent = self._new_agent(combined, level, line, head, "wave-agent-heading", text)
            agent.wave_hint = combined.wave
            wave.agents.append(agent)
            return True
        if not self.has_waves:
            phase = sh.phase_heading(text) or sh.phase_heading(plain)
            if phase is not None:
                self.enter_heading(level, text, start)
                self._close_for(level, start)
                self._close_wave(start)
                number, title = phase
                head_info = fl.WaveHeading(number, title, fl.scope_of(title), None, None)
                self.wave = WaveB(head_info, line, level, how="phase-heading", src=head)
                self.waves.append(self.wave)
                return True
        if self.agent is not None and level > self.agent.level:
            return False  # a heading inside an agent's section (``#### A1: notes``) is its own
        in_wave = self.wave is not None and level > self.wave.level
        got = sh.keyword_heading(text) or sh.keyword_heading(plain) or sh.named_heading(plain)
        if got is None:
            # ``W1: title`` is an agent only where siblings share its prefix (W1, W2, …), so a
            # lone ``Q1: …`` stays prose; never in a reference-format plan, whose agents are
            # ``Agent N`` (there such headings are reported, not read).
            got = sh.prefix_heading(text) or sh.prefix_heading(plain)
            if got is not None and self.prefixes[(got.prefix or "", level)] < 2:
                got = None
            elif got is not None and self.reference_shaped:
                self.agent_like.append((line, head))
                got = None
        elif self.reference_shaped and not in_wave:
            self.agent_like.append((line, head))
            got = None
        if got is None:
            return False
        self.enter_heading(level, text, start)
        self._close_agent(start)
        if not in_wave:
            self._close_for(level, start)
        agent = self._new_agent(got, level, line, head, "labelled-heading", text)
        if in_wave and self.wave is not None:
            self.wave.agents.append(agent)
        else:
            self.loose.append(Loose(agent, None, self._wave_word()))
        return True

    def _new_agent(
        self, got: sh.AgentLabel, level: int, line: int, head: str, how: SourceHow, text: str
    ) -> AgentB:
        if self.wave is not None and not self.wave.agents:
            self.wave.text = "\n".join(self.lines[self.wave.line : line - 1]).strip()
        agent = AgentB(got.number, got.title, line, level, how=how, head=head, reference=False)
        agent.label = got.label
        agent.named = got.number == 0 and sh.named_heading(got.label) is not None
        agent.priority = sh.priority_of(text)
        self.agent = agent
        return agent

    def _wave_for(self, number: int, level: int, line: int, head: str, start: int) -> WaveB:
        """The wave a ``Wave N Agent X`` heading belongs to: the open one when it is wave N,
        else the wave such headings made before, else a new one."""
        if self.wave is not None and self.wave.head.number == number and level > self.wave.level:
            return self.wave
        self._close_wave(start)
        for w in self.waves:
            if w.how == "wave-agent-heading" and w.head.number == number:
                self.wave = w
                return w
        self.wave = WaveB(
            fl.WaveHeading(number, "", (), None, None),
            line,
            level - 1,
            how="wave-agent-heading",
            src=head,
        )
        self.waves.append(self.wave)
        return self.wave

    def _inside(self, a: AgentB, level: int, text: str, plain: str, start: int) -> bool:
        """A heading that stays inside agent ``a``'s section: a task, a files or tasks section,
        any deeper heading, or the next of its numbered prompt headings."""
        if fl.wave_heading(text) or sh.combined_heading(text) or fl.agent_heading(text):
            return False
        if not self.has_waves and sh.phase_heading(text):
            return False
        deeper = level > a.level
        task = sh.task_heading(plain)
        keyword_led = a.how in ("wave-agent-heading", "table-row") or (
            a.how == "labelled-heading" and sh.keyword_heading(a.label) is not None
        )
        if task is not None and (deeper or (level == a.level and keyword_led)):
            if sh.keyword_heading(plain) is not None and not deeper:
                return False
            self.enter_heading(level, text, start)
            add_work(a, "task-heading", start + 1, task[1], task[0])
            a.section_files = a.section_tasks = 0
            return True
        number = sh.heading_number(plain)
        if not deeper:
            if number is None or number != a.numbering + 1:
                return False
            a.numbering = number
        self.enter_heading(level, text, start)
        if a.section_files and level <= a.section_files:
            a.section_files = 0
        if a.section_tasks and level <= a.section_tasks:
            a.section_tasks = 0
        if sh.files_heading(plain):
            a.section_files = level
            self.files_list_line = start + 1
        elif sh.tasks_heading(plain):
            a.section_tasks = level
        return True

    # -- fields -------------------------------------------------------------------------------

    def labelled(self, text: str) -> tuple[str, str] | None:
        return fl.labelled_field(text) or sh.plain_field(text)

    def field(self, agent: AgentB, label: str, value: str, line: int) -> None:
        if read_field(agent, label, value, line):
            self.files_list_line = line

    def file_items(self, agent: AgentB, items: list[tuple[int, str, Token]]) -> None:
        list_files(agent, items)

    def paragraph(self, start: int, end: int) -> None:
        if self.report_paragraph(start, end):
            return
        a = self.agent
        pending = self.files_list_line
        super().paragraph(start, end)
        if a is not None and a.section_files and not a.reference:
            # Prose in a "File ownership" section: its path-like code spans are the files.
            spans = [s for s in fl.code_spans("\n".join(self.lines[start:end])) if fe.path_like(s)]
            if spans and self.labelled(self.lines[start]) is None:
                add_files(a, [fe.file_entry(s) for s in spans], False)
            self.files_list_line = self.files_list_line or pending

    def _outside(self, tokens: Sequence[Token], i: int) -> None:
        """Remember a numbered list or a checklist that no agent holds, for the report of what
        could not be placed."""
        line = (tokens[i].map or [0])[0] + 1
        if tokens[i].type == "ordered_list_open":
            self.outside_lists.append(line)
            return
        items, _end = self.bullet_items(tokens, i)
        boxes = sum(1 for _l, _n, inline in items if sh.checkbox(inline.content) is not None)
        if boxes:
            above = self.headings[-1] if self.headings else None
            where = f"{'#' * above[0]} {above[2]}" if above is not None else ""
            self.outside_checklists.append((line, boxes, where))

    def fence(self, tok: Token) -> None:
        kind = saw.block_kind(tok.info)
        if self.report_fence(tok, kind):
            return
        a = self.agent
        if a is None or kind is not None:
            return
        if not a.reference and not a.files and not a.table_paths:
            prompt_files(a, tok)

    # -- lists --------------------------------------------------------------------------------

    def list_block(self, tokens: Sequence[Token], i: int) -> int:
        if self.report is not None:
            return self.report_list(tokens, i)
        a = self.agent
        if a is None or a.reference or self.files_list_line is not None:
            if a is None:
                self._outside(tokens, i)
            elif a.reference and self.files_list_line is None:
                items, _end = self.bullet_items(tokens, i)
                reference_list(a, items, tokens[i].type == "ordered_list_open")
            return super().list_block(tokens, i)
        items, end = self.bullet_items(tokens, i)
        ordered = tokens[i].type == "ordered_list_open"
        for line, _num, inline in items:
            content = inline.content
            head = content.split("\n", 1)[0]
            got = self.labelled(head) if ":" in head else None  # a field needs its colon
            if got is not None and sh.field_role(got[0]) is not None:
                self.field(a, got[0], got[1], line)
                continue
            list_item(a, line, content, ordered)
        if self.files_list_line is not None:  # a labelled item announced a list: none came
            self.files_list_line = None
        return end

    # -- tables -------------------------------------------------------------------------------

    def table(self, table: Table) -> None:
        if self.report is not None:
            return
        a = self.agent
        if a is not None and not a.reference:
            issue = table.column(*ID_COLUMNS[:3])
            if issue is not None and table.column("severity", "sev") is not None:
                super().table(table)
            elif not task_rows(a, table, self.findings):
                c = table.column(*FILE_COLUMNS)  # a table of the agent's files
                if c is not None:
                    for row in table.rows:
                        add_files(a, fe.file_entries(row.cells[c].content), False)
            return
        if a is not None or self.reference_shaped:
            # A reference-format plan's tables outside agents (a summary naming its agents, a
            # file list) are read as ``--strict`` reads them: they never add agents or owners.
            super().table(table)
            return
        if table.column(*AGENT_COLUMNS) is not None:
            if table.column(*TASK_COLUMNS, *MORE_TASK_COLUMNS, *ID_COLUMNS) is not None:
                for agent in agent_rows(table, self.lines, self.findings):
                    if self.wave is not None and agent.wave_hint is None:
                        self.wave.agents.append(agent)
                    else:
                        self.loose.append(Loose(agent, None, None))
                return
            if table.column(*FILE_COLUMNS) is not None:
                self.ownership.append(table)
                return
        if table.column(*FILE_COLUMNS) is not None and len(table.header) > 1:
            self.ownership.append(table)  # a matrix: agents as columns, resolved later
            return
        super().table(table)
