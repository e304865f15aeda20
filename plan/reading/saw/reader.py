"""The Scout-and-Wave side of the shape reader: completion reports and the doc's SAW signals.

``SawReader`` sits between the reference reader and ``wavedeck.plan.reading.shapereader``: it
recognises completion report headings (a report, never an agent; inside an agent's section it
is that agent's, and its lines are left out of the agent's text), reads their status, notes the
sections and typed blocks that make a doc SAW's (``wavedeck.plan.reading.saw.markdown``), reads
typed ``impl-file-ownership`` tables and keeps ``impl-quality-gates`` blocks and a
``**Test command:**`` for the gates. Each ``report_*`` hook returns whether it consumed the
element; the shape reader reads the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

from markdown_it.token import Token

from wavedeck.plan.reading import fields as fl
from wavedeck.plan.reading.reader import Reader
from wavedeck.plan.reading.saw import markdown as saw
from wavedeck.plan.reading.tables import Table


class SawReader(Reader):
    def __init__(self, text: str, source: str) -> None:
        super().__init__(text, source)
        self.reports: list[saw.Report] = []
        self.report: saw.Report | None = None  # the report being read
        self.signals = saw.Signals()
        self.ownership: list[Table] = []  # ownership tables, merged after the walk
        self.gate_blocks: list[tuple[int, str]] = []  # quality gates blocks: (first line, YAML)
        self.test_command: tuple[int, str] | None = None  # a ``**Test command:**`` field

    @property
    def saw(self) -> bool:
        """Whether the plan is a Scout-and-Wave IMPL doc (``wavedeck.plan.reading.saw.markdown``)."""
        return self.signals.saw(self.reports)

    def report_heading(self, level: int, text: str, plain: str, start: int) -> bool:
        """A heading inside a report, or opening one: consumed. Notes the doc's signals."""
        if self.report is not None:
            if level > self.report.level:  # a heading inside a report is part of it
                self.enter_heading(level, text, start)
                return True
            self._close_report(start)
        if level == 1 and self.title is None:
            self.signals.title = saw.is_saw_title(plain)
        elif level >= 2:
            saw.heading_signal(self.signals, plain, start + 1)
            got = saw.report_heading(plain)
            if got is not None:
                self._open_report(level, text, start, got[0])
                return True
        return False

    def _open_report(self, level: int, text: str, start: int, names: str | None) -> None:
        self.enter_heading(level, text, start)
        owner = self.agent if self.agent is not None and level > self.agent.level else None
        if owner is None:
            self._close_for(level, start)
        self.report = saw.Report(names, start + 1, level, owner)
        self.reports.append(self.report)

    def _close_report(self, end: int) -> None:
        report = self.report
        if report is not None:
            report.end = end
            if report.owner is not None:
                report.owner.skip.append((report.line - 1, end))
            self.report = None

    def _close_for(self, level: int, start: int) -> None:
        if self.agent is not None and level <= self.agent.level:
            self._close_agent(start)
        if self.wave is not None and level <= self.wave.level:
            self._close_wave(start)

    def walk(self, tokens: Sequence[Token]) -> None:
        super().walk(tokens)
        self._close_report(len(self.lines))

    def report_paragraph(self, start: int, end: int) -> bool:
        """A paragraph of a report (its status), consumed; a ``**Test command:**`` outside
        agents is kept and the paragraph left to the shape reader."""
        if self.agent is None:
            saw.verdict_signal(self.signals, self.lines[start:end], start + 1)
        if self.agent is None and self.test_command is None:
            for offset, raw in enumerate(self.lines[start:end]):
                got = fl.labelled_field(raw)
                if got is not None and got[0] in ("test command", "test commands"):
                    spans = fl.code_spans(got[1])
                    command = spans[0] if spans else got[1].strip()
                    if command:
                        self.test_command = (start + offset + 1, command)
        if self.report is None:
            return False
        text = "\n".join(self.lines[start:end])
        self.report.status = self.report.status or saw.report_status(text)
        return True

    def report_list(self, tokens: Sequence[Token], i: int) -> int:
        """A list inside a report: its status, if it gives one; the index past the list."""
        assert self.report is not None
        items, end = self.bullet_items(tokens, i)
        for _line, _num, inline in items:
            self.report.status = self.report.status or saw.report_status(inline.content)
        return end

    def report_fence(self, tok: Token, kind: str | None) -> bool:
        """A fenced block of a report, consumed; a typed ownership table or gates block kept."""
        saw.block_signal(self.signals, tok.info, (tok.map or [0])[0] + 1)
        if self.report is not None:
            self.report.status = self.report.status or saw.report_status(tok.content)
            if self.report.owner is not None and kind == "completion-report":
                # A report inside an agent's section is its structured block; the agent's
                # prompt may go on after it without a heading.
                self._close_report((tok.map or [0, len(self.lines)])[1])
            return True
        if kind == "file-ownership":
            tables, found = saw.fenced_tables(tok, self.lines)
            self.ownership.extend(tables)
            self.findings.extend(found)
        elif kind == "quality-gates":
            self.gate_blocks.append(((tok.map or [0])[0] + 2, tok.content))
        return False
