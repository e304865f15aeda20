"""The control room: a thin Textual App that composes screens, owns the engine worker and routes
messages. Screens and widgets own their drawing; ``tui.commands.Actions`` owns what keys do.

Built with an engine (``agents.wave.supervisor.Supervisor``) it follows the engine's event stream; built
with ``engine=None`` it is a view only (snapshots and widget tests feed it events through
``feed``). ``clock`` is injectable so elapsed times in snapshots are fixed.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from textual import events, on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message

from agents import events as ev
from plan.models import Plan
from tui import messages as msg
from tui.adapter import Clock, Engine, EventAdapter, RunView, steady_wall_clock
from tui.commands import Actions, WavedeckCommands
from tui.screens.main import MainScreen


class WavedeckApp(App[int]):
    """The wavedeck control room."""

    CSS_PATH = "app.tcss"
    TITLE = "wavedeck"
    COMMANDS = App.COMMANDS | {WavedeckCommands}
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+p", "command_palette", "Commands", id="app.palette", show=False)
    ]

    def __init__(
        self,
        plan: Plan,
        engine: Engine | None = None,
        *,
        clock: Clock | None = None,
        attach_history: bool = True,
    ) -> None:
        super().__init__()
        self.plan = plan
        self.engine = engine
        self.clock = clock = clock or steady_wall_clock()
        self.view = RunView(plan, clock=clock)
        self.adapter = EventAdapter(self.view)
        self._notifier(engine)
        self.actions = Actions(self)
        self.main_screen = MainScreen()
        self.attach_history = attach_history
        self.stopped_agents = False
        self.engine_closed = False
        self.dirty_agents: set[str] = set()
        self.dirty_all = False

    def _notifier(self, engine: Engine | None) -> None:
        """[notify]: the bell, OSC 9 and notify-send when an agent needs you, fails or is lost."""
        from tui.notify import Notifier

        config = getattr(getattr(engine, "config", None), "notify", None)
        if config is None:
            return

        def write(text: str) -> None:
            driver = getattr(self, "_driver", None)
            if driver is not None:
                driver.write(text)

        self.notifier = Notifier(config, bell=self.bell, write=write)
        self.adapter.on_ended = self.notifier.alert

    # -- start-up ------------------------------------------------------------------------------

    async def on_mount(self) -> None:
        if self.engine is not None:
            self.view.sync(self.engine)
            if self.attach_history:
                self._load_histories()
        await self.push_screen(self.main_screen)
        # The app's ~150k long-lived objects (widgets, styles, the plan) made each full garbage
        # collection a 100 ms pause under a log flood (a key waited that long). Frozen, they are
        # never scanned again; collections only look at what was made since (undone on unmount).
        # Again once the screen is composed and painted: its widgets are most of them.
        gc.freeze()
        self.call_after_refresh(gc.freeze)
        if self.engine is not None:
            self._follow_engine()

    def on_unmount(self) -> None:
        gc.unfreeze()  # what the app leaves behind can be collected again

    def _load_histories(self) -> None:
        """Re-attach: each pane starts with the tail of its log on disk (up to the engine's
        offset, after which the engine's own events continue)."""
        assert self.engine is not None
        for agent_id, view in self.view.agents.items():
            if view.state == "pending":
                continue
            offset = self.engine.agent_record(agent_id).offset
            self.view.load_history(agent_id, Path(self.engine.log_path(agent_id)), offset)

    @work(exclusive=True, group="engine-events")
    async def _follow_engine(self) -> None:
        assert self.engine is not None
        error: str | None = None
        try:
            # One log chunk at a time: one extend per chunk.
            async for batch in self.engine.batches():
                for message in self.adapter.apply_batch(batch):
                    self.post_message(message)
                # A flood keeps the queue non-empty; let keys and repaints run between chunks.
                await asyncio.sleep(0)
        except Exception as exc:  # shown to the operator; the app stays usable
            error = f"{type(exc).__name__}: {exc}"
        self.post_message(msg.EngineStopped(error))

    def feed(self, items: Iterable[ev.Event]) -> None:
        """Apply events directly (view-only apps, tests, snapshots)."""
        for event in items:
            message = self.adapter.apply(event)
            if message is not None:
                self.post_message(message)

    # -- messages from the adapter -------------------------------------------------------------

    def refresh_views(self) -> None:
        """Redraw status now (after an operator action)."""
        if self.main_screen.is_mounted:
            self.main_screen.refresh_status()
        if self.screen is not self.main_screen and hasattr(self.screen, "refresh_status"):
            self.screen.refresh_status()

    @on(msg.AgentUpdated)
    @on(msg.WaveUpdated)
    @on(msg.ViolationRecorded)
    @on(msg.TestsBegan)
    @on(msg.HostConnectionUpdated)
    def _changed(self, message: Message) -> None:
        # Engine facts arrive in bursts (an agent racing through issues): note what changed and
        # let the screens redraw on their next tick (``redraw_dirty``), never per message.
        if isinstance(message, msg.AgentUpdated):
            self.dirty_agents.add(message.agent)
        else:
            self.dirty_all = True

    def redraw_dirty(self) -> None:
        """Redraw what changed since the last tick (called by the main screen's timer)."""
        if not (self.dirty_agents or self.dirty_all):
            return
        agents, everything = self.dirty_agents, self.dirty_all
        self.dirty_agents, self.dirty_all = set(), False
        main = self.main_screen
        if everything:
            self.refresh_views()
            return
        now = self.clock()
        for agent in agents:
            pane = main.pane(agent)
            if pane is not None:
                pane.update_status(now)
        main.refresh_status(panes=False)
        if self.screen is not main and hasattr(self.screen, "refresh_status"):
            self.screen.refresh_status()

    @on(msg.TestsEnded)
    def _tests_ended(self, message: msg.TestsEnded) -> None:
        outcome = "passed" if message.passed else "FAILED"
        self.notify(
            f"wave {message.wave} tests {outcome} in {message.duration_s:.1f}s",
            severity="information" if message.passed else "error",
            markup=False,
        )
        self.refresh_views()

    @on(msg.CheckpointRecorded)
    def _committed(self, message: msg.CheckpointRecorded) -> None:
        self.notify(f"wave {message.wave} committed as {message.commit[:10]}", markup=False)
        numbers = [w.number for w in self.plan.waves]
        main = self.main_screen
        if main.selected_wave == message.wave and message.wave != numbers[-1]:
            # The next wave is what the operator acts on now.
            self.run_worker(main.show_wave(numbers[numbers.index(message.wave) + 1]))
        self.refresh_views()

    @on(msg.CommitRefused)
    def _refused(self, message: msg.CommitRefused) -> None:
        self.notify(
            message.reason,
            title=f"wave {message.wave}: commit refused",
            severity="error",
            markup=False,
        )
        self.refresh_views()

    @on(msg.NoticeReceived)
    def _notice(self, message: msg.NoticeReceived) -> None:
        severity = {"error": "error", "warning": "warning"}.get(message.level, "information")
        self.notify(message.message, severity=severity, markup=False)  # type: ignore[arg-type]

    @on(msg.EngineStopped)
    def _engine_stopped(self, message: msg.EngineStopped) -> None:
        if message.error:
            self.notify(
                message.error, title="engine stopped", severity="error", timeout=30, markup=False
            )

    def on_key(self, event: events.Key) -> None:
        """A key bound to an action that is greyed out: say why instead of doing nothing."""
        if self.screen is not self.main_screen:
            return
        active = self.screen.active_bindings.get(event.key)
        if active is None or active.enabled:
            return
        name = active.binding.action.removeprefix("act('").removesuffix("')")
        reason = self.actions.why_not(name) if name in _action_names() else None
        if reason:
            self.post_message(msg.ActionRefused(name, reason))
            self.notify(reason, severity="warning", markup=False)

    # -- engine helpers for screens ------------------------------------------------------------

    def accepted(self, wave: int) -> dict[str, str]:
        if self.engine is None:
            return {}
        try:
            return dict(self.engine.accepted(wave))
        except Exception:
            return {}

    async def leave(self, *, stop_agents: bool) -> None:
        """Quit; agents keep running unless ``stop_agents``."""
        self.stopped_agents = stop_agents
        if self.engine is not None:
            if stop_agents:
                self.notify("stopping every agent…", markup=False)
            try:
                await self.engine.close(stop_agents=stop_agents)
                self.engine_closed = True
            except Exception as exc:
                self.notify(f"closing the engine: {exc}", severity="error", markup=False)
        self.exit(0)


def _action_names() -> set[str]:
    from tui.commands import ACTIONS

    return set(ACTIONS)
