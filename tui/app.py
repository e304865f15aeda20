"""The control room: a thin Textual App that composes screens, owns the engine worker and routes
messages. Screens and widgets own their drawing and post what the operator chose
(``wavedeck.tui.messages``); ``wavedeck.tui.commands.Actions`` owns what the actions of ``wavedeck.tui.keys`` do. Every way out
(``q``, ``ctrl+q``, ``ctrl+c``, the palette's Quit) goes through the same quit dialog.

Built with an engine (``wavedeck.agents.wave.supervisor.Supervisor``) it follows the engine's event stream; built
with ``engine=None`` it is a view only (snapshots and widget tests feed it events through
``feed``). ``clock`` is injectable so elapsed times in snapshots are fixed.
"""

from __future__ import annotations

import asyncio
import gc
import shlex
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import ClassVar

from textual import events, on, work
from textual.app import App, SystemCommand, get_system_commands_provider
from textual.binding import BindingType
from textual.command import Provider
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen

from wavedeck.agents import events as ev
from wavedeck.plan.models import Plan
from wavedeck.plan.safetext import neutralize
from wavedeck.plan.words import all_committed
from wavedeck.tui import messages as msg
from wavedeck.tui.adapter import EventAdapter, sync_view
from wavedeck.tui.commands import Actions
from wavedeck.tui.engine import Engine
from wavedeck.tui.keys import BY_NAME, bindings, current_keys
from wavedeck.tui.notify import Notifier
from wavedeck.tui.palette import WavedeckCommands
from wavedeck.tui.refusals import refusal_text
from wavedeck.tui.reviewing import AutoReview
from wavedeck.tui.runview import Clock, RunView, steady_wall_clock
from wavedeck.tui.screens.dialogs import QuitScreen
from wavedeck.tui.screens.main import MainScreen
from wavedeck.tui.toasts import REFUSAL, Toasts, wave_topic


class WavedeckApp(App[int]):
    """The wavedeck control room."""

    CSS_PATH = "app.tcss"
    TITLE = "wavedeck"
    # Textual's system commands spoke its words, not ours ("Quit the application as soon as
    # possible", when ours asks first; Keys and Maximize next to our help and zoom; Theme, which
    # our state colours are not made for): the palette holds our actions, and the one built-in
    # that helps, reworded (``get_system_commands``).
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {
        get_system_commands_provider,
        WavedeckCommands,
    }
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = bindings("app", action="command_palette", priority=True)

    def __init__(
        self,
        plan: Plan,
        engine: Engine | None = None,
        *,
        clock: Clock | None = None,
        attach_history: bool = True,
        keymap: Mapping[str, str] | None = None,
        sandbox: Path | None = None,
    ) -> None:
        """``keymap``: binding id -> keys, checked by ``wavedeck.tui.keys.keymap_from_config``;
        ``sandbox``: the demo's sandbox repository (shown in the header, named on quit)."""
        super().__init__()
        self.keymap = dict(keymap or {})
        self.sandbox = sandbox
        self.plan = plan
        self.engine = engine
        self.clock = clock = clock or steady_wall_clock()
        self.view = RunView(plan, clock=clock)
        # [notify]: the bell, OSC 9 and notify-send when an agent needs you, fails or is lost.
        self.away = False  # the terminal is the agent CLI's (a take-over): nothing written
        self.notifier = (
            Notifier(engine.config.notify, bell=self._bell, write=self._write_to_terminal)
            if engine is not None
            else None
        )
        alert = self.notifier.alert if self.notifier is not None else None
        self.adapter = EventAdapter(self.view, on_ended=alert)
        self.toasts = Toasts(self)
        self.actions = Actions(self)
        self.auto_review = AutoReview(self)  # [review] preset: reviewers once a wave's agents end
        self.main_screen = MainScreen()
        self.attach_history = attach_history
        self.stopped_agents = False
        self.engine_closed = False
        self.dirty_agents: set[str] = set()
        self.dirty_all = False

    def get_system_commands(self, screen: Screen[object]) -> Iterator[SystemCommand]:
        """The palette's one built-in kept: a screenshot, said in our words (where it goes)."""
        yield SystemCommand(
            "wavedeck: screenshot",
            "Save a picture of this screen (SVG) in the current folder, to share what you see",
            self._save_screenshot,
        )

    def _save_screenshot(self) -> None:
        try:
            path = self.save_screenshot(path=str(Path.cwd()))
        except OSError as exc:
            self.notify(f"screenshot not saved: {exc}", severity="error", markup=False)
            return
        self.notify(f"screenshot saved: {path}", markup=False)

    def _write_to_terminal(self, text: str) -> None:
        """Write an escape sequence (OSC 9) straight to the terminal, when there is one."""
        driver = self._driver  # Textual's own handle on the terminal (None in tests)
        if driver is not None and not self.away:
            driver.write(text)

    def _bell(self) -> None:
        if not self.away:  # a take-over has the terminal: its CLI's, not ours
            self.bell()

    async def take_over(self, agent_id: str) -> bool:
        """Hand the terminal to the agent's CLI session (``wavedeck.tui.takeover``)."""
        from wavedeck.tui.takeover import take_over

        assert self.engine is not None
        return await take_over(self, self.engine, agent_id)

    # -- start-up ------------------------------------------------------------------------------

    async def on_mount(self) -> None:
        self.set_keymap(self.keymap)
        if self.engine is not None:
            sync_view(self.view, self.engine)
            if self.attach_history:
                self._load_histories()
        await self.push_screen(self.main_screen)
        # The app's ~150k long-lived objects (widgets, styles, the plan) made each full garbage
        # collection a 100 ms pause under a log flood (a key waited that long). Frozen, they are
        # never scanned again; collections only look at what was made since (undone on unmount).
        # Again once the screen is composed and painted: its widgets are most of them.
        gc.freeze()
        self.call_after_refresh(gc.freeze)
        # The screen's timer, not the app's: it stops with the screen (an app timer could tick
        # while the screen's widgets are being taken down).
        self.main_screen.set_interval(0.2, self.redraw_dirty, name="dirty-tick")
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
        self._tell_screen()

    def _tell_screen(self) -> None:
        """The screen on top, when not the main one, re-reads what it shows."""
        if self.screen is not self.main_screen:
            self.screen.post_message(msg.RunChanged())

    @on(msg.AgentUpdated)
    @on(msg.WaveUpdated)
    @on(msg.ViolationRecorded)
    @on(msg.ViolationsChanged)
    @on(msg.TestsBegan)
    @on(msg.HostConnectionUpdated)
    def _changed(self, message: Message) -> None:
        # Engine facts arrive in bursts (an agent racing through issues): note what changed and
        # let the screens redraw on their next tick (``redraw_dirty``), never per message.
        if isinstance(message, msg.AgentUpdated):
            self.dirty_agents.add(message.agent)
            self.auto_review.agent_changed(message.agent)
        elif isinstance(message, msg.WaveUpdated) and message.state == "tested":
            self.dirty_all = True
            self.auto_review.review_wave(message.wave)
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
        self._tell_screen()

    @on(msg.TestsEnded)
    def _tests_ended(self, message: msg.TestsEnded) -> None:
        outcome = "passed" if message.passed else "FAILED"
        self.toasts.show(
            f"wave {message.wave} tests {outcome} in {message.duration_s:.1f}s",
            topic=wave_topic(message.wave),
            severity="information" if message.passed else "error",
        )
        self.refresh_views()

    @on(msg.CheckpointRecorded)
    def _committed(self, message: msg.CheckpointRecorded) -> None:
        self.toasts.show(
            f"wave {message.wave} committed as {message.commit[:10]}",
            topic=wave_topic(message.wave),
            clears=(REFUSAL,),
        )
        numbers = [w.number for w in self.plan.waves]
        main = self.main_screen
        if main.selected_wave == message.wave and message.wave != numbers[-1]:
            # The next wave is what the operator acts on now.
            self.run_worker(main.show_wave(numbers[numbers.index(message.wave) + 1]))
        if message.wave == numbers[-1]:
            self.notify(
                f"plan complete: {all_committed(len(numbers))}",
                title="wavedeck",
                timeout=30,
                markup=False,
            )
        self.refresh_views()

    @on(msg.GateRefusalReceived)
    def _refused(self, message: msg.GateRefusalReceived) -> None:
        refusal = message.refusal
        self.toasts.show(
            refusal_text(refusal, self.keys_now()),
            topic=REFUSAL,
            title=f"wave {refusal.wave}: refused",
            severity="error",
        )
        self.refresh_views()

    @on(msg.NoticeReceived)
    def _notice(self, message: msg.NoticeReceived) -> None:
        severity: SeverityLevel = "information" if message.level == "info" else message.level
        self.notify(message.message, severity=severity, markup=False)

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
        if active is None or active.enabled or active.binding.id not in BY_NAME:
            return
        name = active.binding.id
        reason = self.actions.why_not(name)
        if reason:
            self.post_message(msg.ActionRefused(name, reason))
            self.actions.refuse(name, reason, key=event.key)

    # -- what the operator chose ---------------------------------------------------------------

    @on(msg.ActionChosen)
    async def _action_chosen(self, message: msg.ActionChosen) -> None:
        await self.actions.run(message.action)

    @on(msg.PathAccepted)
    @on(msg.PathReverted)
    def _path_decided(self, message: Message) -> None:
        self.refresh_views()

    async def action_quit(self) -> None:
        """``ctrl+q`` and the palette's Quit: the quit dialog, like ``q``."""
        if not isinstance(self.screen, QuitScreen):
            await self.actions.run("quit")

    # Textual declares action_help_quit sync, yet awaits whatever an action returns; ours must
    # await the quit dialog's action, so it is a coroutine.
    async def action_help_quit(self) -> None:  # type: ignore[override]
        """``ctrl+c``: quit through the dialog too (Textual's default only says which key quits)."""
        await self.action_quit()

    # -- what screens read (``wavedeck.tui.room.Room``) -------------------------------------------------

    def why_not(self, action: str) -> str | None:
        return self.actions.why_not(action)

    def keys_now(self) -> dict[str, str]:
        """Each action's keys, after the ``[keys]`` remap."""
        return current_keys(self.keymap)

    def run_engine(self, work: Awaitable[object], *, group: str) -> None:
        """Run an engine call in a worker of ``group`` (Textual keeps it, and cancels it when
        the app exits)."""
        self.run_worker(work, group=group)

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

    def farewell(self) -> str | None:
        """What the launcher prints once the terminal is back: where the demo's sandbox is, and
        how to reopen it. (Not Textual's exit message: Rich would wrap a long path.)"""
        if self.sandbox is None:
            return None
        path = neutralize(str(self.sandbox))
        return f"demo sandbox kept at {path}; reopen with: cd {shlex.quote(path)} && wavedeck"
