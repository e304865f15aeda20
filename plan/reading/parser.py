"""The wave-plan reader: Markdown text -> ``Plan`` plus the findings met while reading it.

One pass over markdown-it-py's block tokens (``token.map`` gives source lines) by
``wavedeck.plan.reading.reader.Reader`` (the reference format, ``--strict``) or ``wavedeck.plan.reading.shapereader.ShapeReader``
(also the other shapes people write, then ``wavedeck.plan.reading.placement``). Tables are checked against their
raw lines (``wavedeck.plan.reading.tables``). Everything is built into the frozen models at the end
(``wavedeck.plan.reading.build``), once every issue id is known, so dependencies can be resolved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

from wavedeck.plan.errors import Finding, PlanError
from wavedeck.plan.models import Agent, Gate, Plan, Rule, Source, Wave, agent_id
from wavedeck.plan.reading import fields as fl
from wavedeck.plan.reading.build import build_agent, share_declared
from wavedeck.plan.reading.perf import gc_paused
from wavedeck.plan.reading.placement import no_agents, place
from wavedeck.plan.reading.reader import Reader, WaveB
from wavedeck.plan.reading.saw.gates import block_gates
from wavedeck.plan.reading.saw.gates import test_commands as saw_test_commands
from wavedeck.plan.reading.saw.manifest import looks_like_manifest, read_manifest
from wavedeck.plan.reading.saw.markdown import bare_id as saw_bare_id
from wavedeck.plan.reading.saw.markdown import conventions as saw_conventions
from wavedeck.plan.reading.shapereader import ShapeReader

# Raw HTML off: a plan's ``<script>`` is text, never markup (reliability matrix D8).
_MD = MarkdownIt("commonmark", {"html": False}).enable("table")


@dataclass(frozen=True)
class ParseResult:
    """A parsed plan and what the parser found wrong while reading it (``bad-row`` findings)."""

    plan: Plan
    findings: tuple[Finding, ...]


def parse_text(text: str, source: str = "", *, strict: bool = False) -> ParseResult:
    """Parse already-decoded plan text (LF line ends, no BOM). Raises ``PlanError`` when there is
    no plan in it at all (no wave with an agent), or a wave/agent number is not positive.

    ``strict`` reads the reference format only (``wavedeck.plan.reading.reader``); otherwise the other shapes are
    read too (``wavedeck.plan.reading.shapereader``, ``wavedeck.plan.reading.placement``). A
    Scout-and-Wave YAML manifest (a ``.yaml`` source, or YAML with a manifest's keys) is read by
    ``wavedeck.plan.reading.saw.manifest``."""
    if looks_like_manifest(text, source):
        if strict:
            raise PlanError(
                "a Scout-and-Wave YAML manifest is not the reference format (drop --strict)",
                line=1,
                source=source,
            )
        with gc_paused():
            plan, found = read_manifest(text, source)
        return ParseResult(plan=plan, findings=tuple(found))
    try:
        tokens = _MD.parse(text)
    except RecursionError:
        raise PlanError("the Markdown is nested too deeply to read", source=source) from None
    # Only the tokenizer's own work runs with the garbage collector on: our pass allocates no
    # reference cycles, and collections scanning the large token list would cost more than it.
    with gc_paused():
        return _build(tokens, text, source, strict)


def _build(tokens: Sequence[Token], text: str, source: str, strict: bool) -> ParseResult:
    reader = Reader(text, source) if strict else ShapeReader(text, source, tokens)
    reader.walk(tokens)
    placed: list[Finding] = []
    if isinstance(reader, ShapeReader):
        placed = place(reader)
    if not any(w.agents for w in reader.waves):
        unread = [f for f in reader.findings + placed if f.code == "unread-heading"]
        if unread and unread[0].level == "error":  # the likeliest reason, with its line
            raise PlanError(
                f"no waves with agents found: {unread[0].message}",
                line=unread[0].line,
                source=source,
            )
        if isinstance(reader, ShapeReader):
            raise no_agents(reader, source)
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
    renumbered = unique_ids(reader.waves)
    # Dependencies resolve to the first scheduled issue with that identity, else a resolved one.
    resolve: dict[tuple[str, int | None], str] = {}
    for w in reader.waves:
        for a in w.agents:
            for b in a.issues:
                resolve.setdefault(fl.id_key(b.id), b.id)
    for r in reader.resolved:
        resolve.setdefault(fl.id_key(r.id), r.id)
    labels = frozenset(
        " ".join(n.split()).casefold()
        for w in reader.waves
        for a in w.agents
        for n in (a.label, *a.aliases)
        if n and not a.reference
    )
    waves = tuple(
        Wave(
            number=w.head.number,
            title=w.head.title,
            scope=w.head.scope,
            stated_issues=w.head.stated_issues,
            stated_agents=w.head.stated_agents,
            agents=share_declared(
                tuple(build_agent(w, a, reader.lines, resolve, labels) for a in w.agents)
            ),
            line=w.line,
            text=w.text,
            source=Source(line=w.line, how=w.how, text=w.src),
        )
        for w in reader.waves
    )
    rules = tuple(reader.rules)
    saw_doc = isinstance(reader, ShapeReader) and reader.saw
    if saw_doc:
        # A SAW agent is named by its letter (``A``, ``B2``), as in its ownership table.
        waves = tuple(w.model_copy(update={"agents": _saw_labels(w.agents)}) for w in waves)
    gates: list[Gate] = []
    if saw_doc and isinstance(reader, ShapeReader):
        gates, found = block_gates(reader.gate_blocks, reader.test_command)
        placed += found
    plan = Plan(
        title=reader.title or "",
        source=source,
        waves=waves,
        resolved=tuple(reader.resolved),
        rules=rules,
        test_commands=saw_test_commands(gates) if gates else _test_commands(rules),
        strategy=reader.strategy,
        stated=tuple(reader.summary.stated),
        line_count=len(reader.lines),
        format="saw-markdown" if saw_doc else "wavedeck",
        gates=tuple(gates),
        conventions=tuple(
            saw_conventions(reader.signals, reader.reports)
            if saw_doc and isinstance(reader, ShapeReader)
            else ()
        ),
    )
    findings = reader.findings + placed + renumbered + reader.summary.findings
    return ParseResult(plan=plan, findings=tuple(findings))


def _saw_labels(agents: tuple[Agent, ...]) -> tuple[Agent, ...]:
    out = []
    for a in agents:
        bare = saw_bare_id(a.label)
        out.append(a.model_copy(update={"label": bare}) if bare else a)
    return tuple(out)


def unique_ids(waves: list[WaveB]) -> list[Finding]:
    """Give every agent its own id: an agent whose id (``w<wave>-a<n>``) another agent read
    before it already has gets the next number free in its wave, and a ``duplicate-issue`` error
    names both. Two agents never share an id, whatever the input: the id names a log, a state
    entry and a branch."""
    taken: dict[int, set[int]] = {}
    for w in waves:
        for a in w.agents:
            taken.setdefault(w.head.number, set()).add(a.number)
    first: dict[str, int] = {}
    findings: list[Finding] = []
    seen: set[str] = set()
    for w in waves:
        for a in w.agents:
            aid = agent_id(w.head.number, a.number)
            if aid not in seen:
                seen.add(aid)
                first[aid] = a.line
                continue
            numbers = taken[w.head.number]
            a.number = max(numbers) + 1
            numbers.add(a.number)
            new = agent_id(w.head.number, a.number)
            seen.add(new)
            message = (
                f"agent id {aid} is used twice: lines {first[aid]}, {a.line} (each wave's agents "
                f"need distinct numbers); the one on line {a.line} is read as {new}"
            )
            findings.append(
                Finding("duplicate-issue", "error", a.line, message, w.head.number, (aid, new))
            )
    return findings


def _test_commands(rules: tuple[Rule, ...]) -> tuple[str, ...]:
    """The code spans of the first rule that talks about running tests."""
    for rule in rules:
        if rule.code_spans and fl.mentions_running_tests(rule.text):
            return rule.code_spans
    return ()


__all__ = ["ParseResult", "parse_text"]
