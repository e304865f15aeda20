"""The engine's side of a preset parser: one ``AgentStream`` per followed agent.

``AgentStream.feed`` takes a chunk of raw log lines (the log on disk stays raw) and returns the
lines its pane shows and the events the facts make (``AgentSession``, ``AgentTool``,
``AgentUsage``, ``AgentDenied``), recording them in the agent's ``AgentRecord``: session id, token
and cost totals, refusals. Why the run needs the operator (it ended asking a question, or a tool
call was refused) is a value, ``AgentStream.needs``: the engine records it in the record's
``needs`` through ``wavedeck.agents.wave.transitions`` (its one writer). The tool calls that
write, the ones that did not happen and the shell commands run go to a ``WriteSink``: the engine's
is the shared tree's ``wavedeck.agents.watch.writers.WriteLedger``, so the watcher names the agent
that really wrote a file; ``ToolWrites`` is a plain one (which agent's tool wrote which path
lately).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Protocol

from wavedeck.agents.events import AgentDenied, AgentSession, AgentTool, AgentUsage, Event
from wavedeck.agents.kinds import AsksQuestion, Needs, ToolRefused
from wavedeck.agents.presets import PRESETS
from wavedeck.agents.presets.base import (
    Denied,
    Ended,
    Fact,
    Session,
    StreamParser,
    Tool,
    Unwritten,
    Usage,
)
from wavedeck.agents.presets.plain import GenericParser
from wavedeck.agents.state import AgentRecord

USAGE_KEYS = 20  # usage reports remembered per agent, so a log read again is not counted twice
WRITE_MEMORY_S = 120.0  # a tool's write is matched with the watcher's report within this
_MARKUP = re.compile(r"[*_`>\s]+$")


def asks(text: str) -> str | None:
    """The question ``text`` ends with (its last non-empty line ending in ``?``), if any."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    last = _MARKUP.sub("", lines[-1])
    return last if last.endswith("?") else None


class WriteSink(Protocol):
    """Where an agent's tool calls that write are told (``WriteLedger``, ``ToolWrites``)."""

    def record(self, agent_id: str, path: str) -> None:
        """``agent_id``'s tool call writes ``path`` (relative to the repository when inside)."""
        ...

    def forget(self, agent_id: str, path: str) -> None:
        """``agent_id``'s announced write of ``path`` did not happen."""
        ...

    def shell(self, agent_id: str, command: str) -> None:
        """``agent_id`` ran the shell command ``command`` (the paths it names may be written)."""
        ...


class ToolWrites:
    """Paths written by an agent's tool call lately (``path -> (agent, when)``)."""

    def __init__(self) -> None:
        self._writes: dict[str, tuple[str, float]] = {}
        self.commands: list[tuple[str, str]] = []  # (agent, shell command), the last few

    def record(self, agent_id: str, path: str) -> None:
        self._writes[path] = (agent_id, time.monotonic())

    def shell(self, agent_id: str, command: str) -> None:
        self.commands = [*self.commands[-63:], (agent_id, command)]

    def forget(self, agent_id: str, path: str) -> None:
        """``agent_id``'s announced write of ``path`` did not happen."""
        hit = self._writes.get(path)
        if hit is not None and hit[0] == agent_id:
            del self._writes[path]

    def writer(self, path: str) -> str | None:
        """The agent whose tool wrote ``path`` within ``WRITE_MEMORY_S``, else None."""
        hit = self._writes.get(path)
        if hit is None:
            return None
        if time.monotonic() - hit[1] > WRITE_MEMORY_S:
            del self._writes[path]
            return None
        return hit[0]


class AgentStream:
    """One agent's parser and what it records (see the module docstring)."""

    def __init__(
        self,
        agent_id: str,
        rec: AgentRecord,
        parser: StreamParser,
        *,
        writes: WriteSink | None = None,
        max_cost_usd: float | None = None,
    ) -> None:
        self.agent_id = agent_id
        self.rec = rec
        self.parser = parser
        self.writes = writes
        self.max_cost_usd = max_cost_usd
        self.over_budget = False  # set once the cost passed max_cost_usd
        self.error = ""  # the CLI said its run failed (some exit 0 all the same: aider)
        # Why this run needs the operator, the first fact read (recorded by the engine, which
        # keeps the one of a run read before a restart of the control room).
        self.needs: Needs | None = None

    @property
    def plain(self) -> bool:
        """True for a text-only parser (lines shown as they come, no facts)."""
        return type(self.parser) is StreamParser

    def feed(self, lines: tuple[str, ...]) -> tuple[tuple[str, ...], list[Event]]:
        """Rendered lines and fact events for a chunk of raw lines."""
        if self.plain:
            return lines, []
        if isinstance(self.parser, GenericParser) and self.parser.plain_chunk(lines):
            return lines, []  # text output (the demo's agents): nothing to read
        shown: list[str] = []
        facts: list[Fact] = []
        feed = self.parser.feed_into
        for line in lines:
            feed(line, shown, facts)
        events: list[Event] = []
        for fact in facts:
            self._apply(fact, events)
        return tuple(shown), events

    def finish(self) -> tuple[tuple[str, ...], list[Event]]:
        """Lines the parser held back, at the end of a run."""
        parsed = self.parser.flush()
        events: list[Event] = []
        for fact in parsed.facts:
            self._apply(fact, events)
        if self.needs is None and (question := asks(self.parser.said)):
            self.needs = AsksQuestion(question)
        return tuple(parsed.lines), events

    def _apply(self, fact: object, events: list[Event]) -> None:
        rec, agent = self.rec, self.agent_id
        if isinstance(fact, Tool):
            events.append(AgentTool(agent, fact.tool, fact.path, fact.summary))
            if fact.writes and fact.path and self.writes is not None:
                self.writes.record(agent, fact.path)
            if fact.command and self.writes is not None:
                self.writes.shell(agent, fact.command)
        elif isinstance(fact, Unwritten):
            if self.writes is not None:
                self.writes.forget(agent, fact.path)
        elif isinstance(fact, Session):
            if rec.session_id != fact.session_id:
                rec.session_id = fact.session_id
            events.append(AgentSession(agent, fact.session_id))
        elif isinstance(fact, Usage):
            if fact.key:
                if fact.key in rec.usage_keys:
                    return  # a log read again after a restart: counted already
                rec.usage_keys = [*rec.usage_keys[-(USAGE_KEYS - 1) :], fact.key]
            rec.input_tokens += fact.input_tokens
            rec.output_tokens += fact.output_tokens
            rec.turns += fact.turns
            if fact.cost_usd is not None:
                rec.cost_usd = (rec.cost_usd or 0.0) + fact.cost_usd
            events.append(
                AgentUsage(agent, rec.input_tokens, rec.output_tokens, rec.cost_usd, rec.turns)
            )
            limit = self.max_cost_usd
            if limit is not None and rec.cost_usd is not None and rec.cost_usd > limit:
                self.over_budget = True
        elif isinstance(fact, Denied):
            refused = ToolRefused(fact.tool, fact.path)
            rec.denials.append(refused)
            self.needs = self.needs or refused
            events.append(AgentDenied(agent, fact.tool, fact.path))
        elif isinstance(fact, Ended):
            if fact.is_error:
                self.error = fact.detail or fact.subtype or "error"
            question = asks(self.parser.said)
            if question and self.needs is None:
                self.needs = AsksQuestion(question)


def stream_for(
    agent_id: str,
    rec: AgentRecord,
    preset: str,
    cwd: Path | None,
    *,
    writes: WriteSink | None = None,
    max_cost_usd: float | None = None,
) -> AgentStream:
    """The ``AgentStream`` of an agent run by ``preset`` in ``cwd``."""
    parser = PRESETS[preset].parser(cwd)
    return AgentStream(agent_id, rec, parser, writes=writes, max_cost_usd=max_cost_usd)
