"""``a`` in the control room: the operator takes over an agent's CLI session, then hands it back.

The control room steps aside (Textual's ``App.suspend``: the terminal as it was before the app
started), the agent's CLI resumes its session interactively in the same terminal
(``wavedeck.agents.tools.attach.Takeover``: here under the agent's wrapper and sandbox, or over
``ssh -t`` on its host), and when the operator leaves the CLI the control room comes back and
the engine records what happened (``record_takeover``: the record in the agent's pane and log,
usage and files counted).

The engine keeps running meanwhile (the CLI runs in a thread): logs are followed, the watcher
sees the take-over's edits as they land, SSH keepalives go on. Nothing is drawn while the app is
suspended: repaints are batched (``batch_update``) and the bell and OSC 9 notifications, which
write to the terminal directly, are held back (``away``).
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

from textual.app import SuspendNotSupported

from wavedeck.plan.safetext import neutralize
from wavedeck.tui.calls import Notifier, guarded

if TYPE_CHECKING:
    from wavedeck.plan.models import Plan
    from wavedeck.tui.engine import Engine


class TakeoverHost(Notifier, Protocol):
    """What a take-over uses of the app (``WavedeckApp``)."""

    plan: Plan
    away: bool

    def suspend(self) -> AbstractContextManager[None]: ...
    def batch_update(self) -> AbstractContextManager[None]: ...


class Operator(Notifier, Protocol):
    """What waiting for a run to end uses of the app: its notices and its take-over."""

    async def take_over(self, agent_id: str) -> bool: ...


WAIT_S = 0.2  # how often the engine is asked whether the agent's run has ended


async def when_run_ends(app: Operator, engine: Engine, agent_id: str, *, stop: bool) -> None:
    """Take over once the agent's headless run has ended (``stop``: stop it first; its
    progress is kept)."""
    from wavedeck.agents.wave.takeover import words

    if stop:
        how = await guarded(app, "stop", engine.stop_agent, agent_id)
        app.notify(f"{agent_id}: {how}; taking over", markup=False)
    else:
        app.notify(f"{agent_id}: taking over when its run ends", markup=False)
    # Until the engine has recorded the end (the stop returned, or the run finished).
    while (refusal := engine.takeover_check(agent_id)) is not None and refusal.code == (
        "agent-running"
    ):
        await asyncio.sleep(WAIT_S)
    if refusal is not None:
        app.notify(words(refusal), severity="warning", markup=False)
        return
    await guarded(app, "take over", app.take_over, agent_id)


async def take_over(app: TakeoverHost, engine: Engine, agent_id: str) -> bool:
    """Hand the terminal to the agent's CLI until the operator leaves it; False when it could
    not start (the reason notified)."""
    from wavedeck.agents.local.foreground import quiet_signals
    from wavedeck.agents.presets import PresetError
    from wavedeck.agents.tools.attach import Takeover, TakeoverError
    from wavedeck.agents.wave.takeover import TakeoverLock, TakeoverRefusal, words

    def refused(text: str) -> bool:
        app.notify(text, title=f"{agent_id}: not taken over", severity="warning", markup=False)
        return False

    lock = TakeoverLock(engine.repo / ".wavedeck", agent_id)
    if not lock.acquire(note="the control room"):
        return refused(words(TakeoverRefusal("taken-over", agent_id, lock.holder())))
    try:
        try:
            spec = engine.takeover_spec(agent_id)
        except PresetError as exc:
            return refused(str(exc))
        session = engine.agent_record(agent_id).session_id
        if spec is None or session is None:
            return refused(f"{agent_id} has no session to resume")
        host = engine.host_of(agent_id)
        job = Takeover(
            repo=engine.repo,
            plan=app.plan,
            config=engine.config,
            spec=spec,
            session_id=session,
            host=host,
            on_host_change=engine.host_touched,
        )
        try:
            await job.begin()
        except TakeoverError as exc:
            return refused(str(exc))
        where = f"on {host} over ssh" if host else f"in {spec.cwd}"
        banner = (
            f"wavedeck: {agent_id}: its {engine.config.agent.preset} session {session} {where}, "
            f"{job.sandboxed}. Leave the CLI to come back to the control room.\n"
        )
        app.away = True
        failed: str | None = None
        try:
            with app.batch_update(), app.suspend(), quiet_signals():
                sys.stderr.write(neutralize(banner.rstrip("\n")) + "\n")
                sys.stderr.flush()
                try:
                    status = await asyncio.to_thread(job.run)
                except TakeoverError as exc:  # said once the control room is back
                    failed = str(exc)
        except SuspendNotSupported:
            failed = (
                f"this terminal cannot be handed over: run `wavedeck attach {agent_id}` in "
                "another terminal"
            )
        finally:
            app.away = False
        if failed is not None:
            await job.close()
            return refused(failed)
        report = await job.end(status)
        engine.record_takeover(report)
        return True
    finally:
        lock.release()
