"""Headless runs: drive waves without the UI (start -> agents -> tests -> checkpoint -> next).

``run_waves`` is what ``wavedeck run --headless`` does (``run_follow_up`` what
``wavedeck run --headless --follow-up AGENT MESSAGE`` does); events go to a printer as readable,
neutralised lines or as one JSON object a line. A stop request (a signal) stops launching, leaves
the agents running detached and persists the state; the caller exits 128 + the signal number.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import IO, Any

from wavedeck.agents.events import (
    AgentDenied,
    AgentOutput,
    AgentSession,
    AgentStateChanged,
    AgentTool,
    AgentUsage,
    CheckpointCommitted,
    Event,
    FileTouched,
    GateRefused,
    IssueDone,
    Notice,
    PathReverted,
    TestOutput,
    TestsFinished,
    TestsStarted,
    ViolationFound,
    WaveStateChanged,
)
from wavedeck.agents.kinds import WAVE_NOT_STARTED, Refusal, RefusalCode
from wavedeck.agents.presets.usage import UsageTotal
from wavedeck.agents.presets.usage import describe as usage_text
from wavedeck.agents.wave import gates
from wavedeck.agents.wave.refusals import describe as refusal_text
from wavedeck.agents.wave.supervisor import Supervisor
from wavedeck.plan.errors import WavedeckError
from wavedeck.plan.safetext import neutralize
from wavedeck.plan.words import plural

Hints = Mapping[RefusalCode, str]  # the ways out of a refusal, by its code
EXIT_OK = 0
EXIT_REFUSED = 1
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def describe(event: Event, hints: Hints | None = None) -> str:
    """One readable line for an event (neutralised: safe for a terminal); a refusal is worded
    by ``wavedeck.agents.wave.refusals.describe`` with the caller's ``hints``."""
    text: str
    if isinstance(event, AgentOutput):
        # Colours (a preset's rendered errors, an agent's own) mean nothing in a log of lines.
        text = f"{event.agent} | {_SGR.sub('', event.line)}"
    elif isinstance(event, AgentStateChanged):
        text = f"{event.agent}: {event.state}" + (f" ({event.reason})" if event.reason else "")
    elif isinstance(event, IssueDone):
        text = f"{event.agent}: done {event.issue}" + (
            f": {event.outcome}" if event.outcome else ""
        )
    elif isinstance(event, FileTouched):
        who = event.agent or "?"
        text = f"{who}: {event.change} {event.path}"
        if event.corrects is not None:
            text += f" (not {event.corrects}'s after all: {event.attribution})"
    elif isinstance(event, ViolationFound):
        who = event.agent or "an unknown agent"
        known = f" ({event.attribution})" if event.agent else ""
        text = f"VIOLATION {event.kind}: {event.path} written by {who}{known}"
        if event.corrects is not None:
            text += f", correcting {event.corrects or 'an unknown agent'}"
        if event.detail:
            text += f" ({event.detail})"
    elif isinstance(event, PathReverted):
        whose = f"; issues of {', '.join(event.owners)} recorded reverted" if event.owners else ""
        text = f"wave {event.wave}: reverted {'part of ' if event.partial else ''}{event.path}"
        text += whose
    elif isinstance(event, WaveStateChanged):
        text = f"wave {event.wave}: {event.state}"
    elif isinstance(event, TestsStarted):
        text = f"wave {event.wave}: running tests: " + " ; ".join(event.commands)
    elif isinstance(event, TestOutput):
        text = f"test | {event.line}"
    elif isinstance(event, TestsFinished):
        verdict = "passed" if event.passed else "FAILED"
        text = f"wave {event.wave}: tests {verdict} in {event.duration_s:.1f}s"
    elif isinstance(event, CheckpointCommitted):
        text = f"wave {event.wave}: checkpoint {event.commit[:12]} ({plural(len(event.issues), 'issue')})"
    elif isinstance(event, GateRefused):
        text = f"wave {event.wave}: REFUSED: {refusal_text(event.refusal, hints)}"
        text += "".join(f"\n  {p}" for p in event.paths)
        return "\n".join(neutralize(part) for part in text.split("\n"))
    elif isinstance(event, Notice):
        text = f"{event.level}: {event.message}"
    elif isinstance(event, AgentUsage):
        text = f"{event.agent}: usage {usage_line(event)}"
    elif isinstance(event, AgentSession):
        text = f"{event.agent}: session {event.session_id}"
    elif isinstance(event, AgentTool):
        text = f"{event.agent}: tool {event.summary or event.tool}"
    elif isinstance(event, AgentDenied):
        text = f"{event.agent}: REFUSED {event.tool} {event.path}".rstrip()
    else:
        text = json.dumps(event.as_dict())
    return neutralize(text)


def usage_line(event: AgentUsage) -> str:
    total = UsageTotal(event.input_tokens, event.output_tokens, event.cost_usd, event.turns)
    return f"{usage_text(total)}, {event.turns} turns"


def json_of(event: Event, hints: Hints | None = None) -> dict[str, Any]:
    """An event as its JSON object; a refusal carries its ``code`` and, for people reading the
    output, the ``reason`` in words."""
    data = event.as_dict()
    if isinstance(event, GateRefused):
        data["reason"] = refusal_text(event.refusal, hints)
    return data


def printer(
    stream: IO[str],
    as_json: bool,
    hints: Hints | None = None,
    *,
    errors: IO[str] | None = None,
) -> Callable[[list[Event]], None]:
    """A sink writing one line per event, each batch in one write and flushed at once
    (``hints``: the ways out of a refusal, as the command line offers them).

    One write per batch keeps what was shown and what the supervisor counts as handled in step,
    even if the process is killed between two batches.

    A closed ``stream`` (``--json | head -3``) ends the printing quietly: the run goes on to
    its own end and exit code, nothing more is written there (the stream's descriptor is
    pointed at /dev/null, so no later flush fails either). A gate refusal's reason also goes
    to ``errors`` (stderr) when the lines on ``stream`` are JSON or ``stream`` was closed: the
    operator reads why the run stopped whatever became of stdout.
    """
    closed = False

    def close() -> None:
        nonlocal closed
        closed = True
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)

    def write(batch: list[Event]) -> None:
        if errors is not None and (as_json or closed):
            for event in batch:
                if isinstance(event, GateRefused):
                    with contextlib.suppress(OSError, ValueError):
                        errors.write(f"wavedeck: {describe(event, hints)}\n")
                        errors.flush()
        if closed:
            return
        if as_json:
            text = "".join(json.dumps(json_of(e, hints), ensure_ascii=True) + "\n" for e in batch)
        else:
            text = "".join(describe(e, hints) + "\n" for e in batch)
        try:
            stream.write(text)
            stream.flush()
        except BrokenPipeError:  # the reader left (`| head -3`): printing ends, the run goes on
            close()
            if not as_json:  # its refusals went nowhere: say them where they are read
                write([e for e in batch if isinstance(e, GateRefused)])
        except OSError as exc:  # a full disk: the run stops saying where
            raise OutputError(
                f"cannot write the run's events to standard output: {exc.strerror}", exc.errno
            ) from None

    return write


class OutputError(WavedeckError, OSError):
    """Standard output could not be written (a full disk under a redirection, a closed pipe)."""

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


async def _consume(sup: Supervisor, sink: Callable[[list[Event]], None]) -> None:
    async for batch in sup.batches():
        sink(batch)


async def _wait_agents(sup: Supervisor, n: int) -> None:
    while True:
        seen = sup.change_count  # read before the check: a change after it ends the wait
        if sup.wave_agents_done(n):
            return
        await sup.wait_changed(seen)


async def drive(
    sup: Supervisor,
    waves: Sequence[int],
    *,
    accept_violations: bool,
    adopt_head: bool = False,
    review: bool = False,
) -> int:
    """Run ``waves`` in order to their checkpoints; EXIT_OK when all are committed. With
    ``review``, the ``[review]`` reviewer agents read each wave's changes once its agents have
    ended (their high findings, neither forwarded nor dismissed, hold the checkpoint)."""
    for n in waves:
        state = sup.wave_state(n)
        if state == "committed":
            continue
        if state in WAVE_NOT_STARTED or sup.unlaunched(n):
            await sup.start_wave(n)
            if sup.wave_state(n) in WAVE_NOT_STARTED:
                return EXIT_REFUSED  # start_wave emitted the GateRefused
        await _wait_agents(sup, n)
        if not sup.launching:
            return EXIT_REFUSED
        view = sup.views()[n]
        unfinished = gates.agents_unfinished(sup.plan, view)
        if unfinished:
            sup.refuse(Refusal("agents-unfinished", n, agents=unfinished))
            return EXIT_REFUSED
        if review:
            await sup.run_reviewers(n)
        tested = sup.wave_state(n) == "tested"
        if tested and (await sup.checkpoint_preview(n)).tests_stale:
            tested = False  # files changed since the tests passed: they run again
        if not tested and not await sup.run_tests(n):
            return EXIT_REFUSED
        if review:
            # In worktree mode the agents' changes reach the main tree with the tests: review
            # them now (in shared mode nobody is due again unless an agent ran since).
            await sup.run_reviewers(n)
        committed = await sup.checkpoint(
            n, accept_violations=accept_violations, adopt_head=adopt_head
        )
        if committed is None:
            return EXIT_REFUSED
    return EXIT_OK


async def run_waves(
    sup: Supervisor,
    waves: Sequence[int],
    sink: Callable[[list[Event]], None],
    *,
    accept_violations: bool = False,
    adopt_head: bool = False,
    stop: asyncio.Event | None = None,
    stop_agents_on_stop: bool = False,
    review: bool = False,
) -> int | None:
    """Open the supervisor, drive the waves, close it (agents keep running).

    Returns the exit code, or None when ``stop`` was set first (the caller picks the code).
    With ``stop_agents_on_stop``, a stop also stops the running agents (TERM, grace, KILL).
    """
    stop = stop or asyncio.Event()
    await sup.open()
    consumer = asyncio.create_task(_consume(sup, sink))
    driver = asyncio.create_task(
        drive(
            sup,
            waves,
            accept_violations=accept_violations,
            adopt_head=adopt_head,
            review=review,
        )
    )
    stopper = asyncio.create_task(stop.wait())
    code: int | None = None
    try:
        await asyncio.wait({driver, stopper, consumer}, return_when=asyncio.FIRST_COMPLETED)
        # The consumer fails only when the events cannot be written (stdout on a full disk):
        # the run stops there, as for a signal, and its error is raised below.
        if stop.is_set() or consumer.done():
            sup.launching = False
            driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await driver
        else:
            code = driver.result()
            await asyncio.wait_for(sup.drain(), 10.0)
    finally:
        stopper.cancel()
        if not driver.done():
            driver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await driver
        # Agents keep running detached, unless the operator asked to stop them with the run.
        await sup.close(stop_agents=stop_agents_on_stop and stop.is_set())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sup.drain(), 2.0)
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
    return code


async def run_follow_up(
    sup: Supervisor,
    agent_id: str,
    message: str,
    sink: Callable[[list[Event]], None],
    *,
    stop: asyncio.Event | None = None,
) -> int | None:
    """Open the supervisor, send ``message`` to ``agent_id`` (resuming its session), wait for
    that run to end, close. EXIT_OK when it succeeded, EXIT_REFUSED otherwise; None when
    ``stop`` was set first (the agent keeps running). ``SupervisorError`` when it cannot be sent.
    """
    stop = stop or asyncio.Event()
    async with opened(sup, sink):
        await sup.follow_up(agent_id, message)
        code = await runs_ended(sup, [agent_id], stop)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sup.drain(), 10.0)
        return code


@contextlib.asynccontextmanager
async def opened(sup: Supervisor, sink: Callable[[list[Event]], None]) -> AsyncIterator[None]:
    """The supervisor open, its events going to ``sink``; on exit it is closed (agents keep
    running), the last events drained and the consumer stopped."""
    await sup.open()
    consumer = asyncio.create_task(_consume(sup, sink))
    try:
        yield
    finally:
        await sup.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sup.drain(), 2.0)
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer


async def runs_ended(sup: Supervisor, agents: Sequence[str], stop: asyncio.Event) -> int | None:
    """Wait for the runs of ``agents`` to end: EXIT_OK when all succeeded, EXIT_REFUSED
    otherwise; None when ``stop`` was set first (they keep running)."""

    def going(agent_id: str) -> bool:
        # A follow-up waiting its turn to start (one start at a time) has not ended either.
        return sup.agent_state(agent_id) == "running" or sup.processes.queued(agent_id)

    while any(going(a) for a in agents) and not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sup.wait_changed(), 1.0)
    if stop.is_set():
        return None
    return EXIT_OK if all(sup.agent_state(a) == "succeeded" for a in agents) else EXIT_REFUSED
