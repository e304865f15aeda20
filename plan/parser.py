"""The wave-plan reader: Markdown text -> ``Plan`` plus the findings met while reading it.

One pass over markdown-it-py's block tokens (``token.map`` gives source lines). Headings open and
close waves, agents and sections; paragraphs carry labelled fields; tables are issue tables,
resolved-issue tables or the summary/distribution tables; lists carry files, strategy counts and
the rules. Tables are checked against their raw lines (``plan.tables``). Everything is built into
the frozen models at the end, once every issue id is known, so dependencies can be resolved.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

from plan import fields as fl
from plan.errors import Finding, PlanError
from plan.issuetable import IssueDraft, issue_rows, resolved_rows
from plan.models import Agent, Issue, Plan, ResolvedIssue, Rule, Wave, agent_id
from plan.paths import PathRejected, normalize_file, normalize_package
from plan.perf import gc_paused
from plan.summary import SummaryReader
from plan.tables import Table, paragraph_table_problem, plain_text, read_table

# Raw HTML off: a plan's ``<script>`` is text, never markup (reliability matrix D8).
_MD = MarkdownIt("commonmark", {"html": False}).enable("table")


@dataclass(frozen=True)
class ParseResult:
    """A parsed plan and what the parser found wrong while reading it (``bad-row`` findings)."""

    plan: Plan
    findings: tuple[Finding, ...]


@dataclass
class _AgentB:
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


@dataclass
class _WaveB:
    head: fl.WaveHeading
    line: int
    level: int
    agents: list[_AgentB] = field(default_factory=list)
    text: str = ""


class _Reader:
    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.lines = text.split("\n")
        self.title: str | None = None
        self.waves: list[_WaveB] = []
        self.wave: _WaveB | None = None
        self.agent: _AgentB | None = None
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
            return
        wave = fl.wave_heading(text) if level >= 2 else None
        if wave is None and level >= 2 and plain != text:
            wave = fl.wave_heading(plain)
        if wave is not None:
            self._close_wave(start)
            self.wave = _WaveB(head=wave, line=line, level=level)
            self.waves.append(self.wave)
            return
        agent = fl.agent_heading(text)
        if agent is None and plain != text:
            agent = fl.agent_heading(plain)
        if agent is not None and self.wave is not None and level > self.wave.level:
            self._close_agent(start)
            if not self.wave.agents:
                self.wave.text = "\n".join(self.lines[self.wave.line : start]).strip()
            self.agent = _AgentB(number=agent[0], title=agent[1], line=line, level=level)
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
            got = fl.labelled_field(text)
            if got is None:
                continue
            label, value = got
            line = start + offset + 1
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
            for _line, _num, inline in items:
                self.agent.files.extend(fl.list_values(inline.content))
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
                i += 1
        self._close_wave(len(self.lines))
        if self.strategy_start is not None:
            self.strategy = "\n".join(self.lines[self.strategy_start[1] :]).strip()


_RULE_LINE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")


def _section_text(lines: list[str]) -> str:
    """A section's source text without the blank lines and thematic breaks (---) that end it."""
    end = len(lines)
    while end and (not lines[end - 1].strip() or _RULE_LINE.match(lines[end - 1])):
        end -= 1
    return "\n".join(lines[:end]).strip()


def _build_agent(
    w: _WaveB, a: _AgentB, lines: list[str], resolve: dict[tuple[str, int | None], str]
) -> Agent:
    bad: list[tuple[str, str]] = []
    bad_package: tuple[str, str] | None = None
    files: list[str] = []
    paths: list[str] = []
    package = ""
    try:
        package = normalize_package(a.package or "")
    except PathRejected as exc:
        bad_package = (exc.raw, exc.reason)
    if bad_package is None:
        for raw in a.files:
            try:
                paths.append(normalize_file(package, raw))
                files.append(raw)
            except PathRejected as exc:
                bad.append((exc.raw, exc.reason))
    issues = []
    for b in sorted(a.issues, key=lambda x: x.order):
        deps = tuple(dict.fromkeys(resolve.get(fl.id_key(d), d) for d in b.depends))
        issues.append(
            Issue(
                id=b.id,
                order=b.order,
                severity=b.severity,
                summary=b.summary,
                depends_on=deps,
                line=b.line,
                extra=b.extra,
            )
        )
    return Agent(
        id=agent_id(w.head.number, a.number),
        number=a.number,
        wave=w.head.number,
        title=a.title,
        package=package,
        files=tuple(files),
        paths=tuple(paths),
        issues=tuple(issues),
        line=a.line,
        package_line=a.package_line,
        files_line=a.files_line,
        bad_paths=tuple(bad),
        bad_package=bad_package,
        text=_section_text(lines[a.line : a.end]),
    )


def parse_text(text: str, source: str = "") -> ParseResult:
    """Parse already-decoded plan text (LF line ends, no BOM). Raises ``PlanError`` when there is
    no plan in it at all (no wave with an agent), or a wave/agent number is not positive."""
    try:
        tokens = _MD.parse(text)
    except RecursionError:
        raise PlanError("the Markdown is nested too deeply to read", source=source) from None
    # Only the tokenizer's own work runs with the garbage collector on: our pass allocates no
    # reference cycles, and collections scanning the large token list would cost more than it.
    with gc_paused():
        return _build(tokens, text, source)


def _build(tokens: Sequence[Token], text: str, source: str) -> ParseResult:
    reader = _Reader(text, source)
    reader.walk(tokens)
    if not any(w.agents for w in reader.waves):
        unread = [f for f in reader.findings if f.code == "unread-heading"]
        if unread:  # the likeliest reason, with its line
            raise PlanError(
                f"no waves with agents found: {unread[0].message}",
                line=unread[0].line,
                source=source,
            )
        raise PlanError(
            "no waves with agents found (expected '## Wave N — title' headings with "
            "'### Agent N: title' sections under them)",
            source=source,
        )
    for w in reader.waves:
        if w.head.number < 1:
            raise PlanError("wave numbers start at 1", line=w.line, source=source)
        for a in w.agents:
            if a.number < 1:
                raise PlanError("agent numbers start at 1", line=a.line, source=source)
    # Dependencies resolve to the first scheduled issue with that identity, else a resolved one.
    resolve: dict[tuple[str, int | None], str] = {}
    for w in reader.waves:
        for a in w.agents:
            for b in a.issues:
                resolve.setdefault(fl.id_key(b.id), b.id)
    for r in reader.resolved:
        resolve.setdefault(fl.id_key(r.id), r.id)
    waves = tuple(
        Wave(
            number=w.head.number,
            title=w.head.title,
            scope=w.head.scope,
            stated_issues=w.head.stated_issues,
            stated_agents=w.head.stated_agents,
            agents=tuple(_build_agent(w, a, reader.lines, resolve) for a in w.agents),
            line=w.line,
            text=w.text,
        )
        for w in reader.waves
    )
    rules = tuple(reader.rules)
    plan = Plan(
        title=reader.title or "",
        source=source,
        waves=waves,
        resolved=tuple(reader.resolved),
        rules=rules,
        test_commands=_test_commands(rules),
        strategy=reader.strategy,
        stated=tuple(reader.summary.stated),
        line_count=len(reader.lines),
    )
    return ParseResult(plan=plan, findings=tuple(reader.findings + reader.summary.findings))


def _test_commands(rules: tuple[Rule, ...]) -> tuple[str, ...]:
    """The code spans of the first rule that talks about running tests."""
    for rule in rules:
        if rule.code_spans and fl.mentions_running_tests(rule.text):
            return rule.code_spans
    return ()


__all__ = ["ParseResult", "parse_text"]
