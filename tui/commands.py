"""Every operator action in one place, and the command palette that lists them.

:class:`Actions` decides whether an action is possible now (``why_not`` returns the reason when
it is not) and performs it; the main screen's keys and the palette's :class:`WavedeckCommands`
both call it, so a key and its palette entry can never disagree.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from agents.events import AGENT_UNSUCCESSFUL, WAVE_NOT_STARTED
from tui.screens.dialogs import ConfirmScreen, PromptScreen, QuitScreen

if TYPE_CHECKING:
    from tui.adapter import Engine
    from tui.app import WavedeckApp
    from tui.screens.main import MainScreen
    from tui.widgets.agent_pane import AgentPane

# name -> (key shown in help, description)
ACTIONS: dict[str, tuple[str, str]] = {
    "start_wave": ("s", "Start the selected wave (every agent in parallel)"),
    "stop_agent": ("x", "Stop the focused agent (SIGTERM, then SIGKILL)"),
    "restart_agent": ("r", "Restart the focused agent"),
    "mark_done": ("m", "Mark the focused agent done by hand (asks for a reason)"),
    "run_tests": ("t", "Run the wave's tests"),
    "commit": ("c", "Review and commit the wave's checkpoint"),
    "diffs": ("d", "Review the wave's diffs"),
    "violations": ("v", "Review ownership violations (accept or revert)"),
    "attach": ("a", "Attach to the focused agent: full-screen live log"),
    "zoom": ("enter / z", "Zoom the focused pane to full screen (again to restore)"),
    "search": ("/", "Search the focused log (n / N: next / previous match)"),
    "history": ("l", "Open the focused agent's full log from disk"),
    "follow_up": ("u", "Send a follow-up message to the focused ended agent (resumes its session)"),
    "raw_log": ("o", "Show the focused pane's raw agent output / the rendered lines"),
    "previous_wave": ("[", "Show the previous wave"),
    "next_wave": ("]", "Show the next wave"),
    "help": ("? / f1", "Show the keys"),
    "quit": ("q", "Quit (agents keep running unless you stop them)"),
}
ENGINE_ACTIONS = {
    "start_wave", "stop_agent", "restart_agent", "mark_done", "run_tests", "commit", "diffs",
    "violations", "history", "follow_up",
}  # fmt: skip
PANE_ACTIONS = {
    "stop_agent", "restart_agent", "mark_done", "attach", "zoom", "search", "history",
    "follow_up", "raw_log",
}  # fmt: skip
ENDED = AGENT_UNSUCCESSFUL


async def settle(value: Any) -> Any:
    """Await ``value`` when the engine returned an awaitable (its methods may be either)."""
    return await value if inspect.isawaitable(value) else value


class Actions:
    """What the operator can do, bound to one app."""

    def __init__(self, app: WavedeckApp) -> None:
        self.app = app

    @property
    def main(self) -> MainScreen:
        return self.app.main_screen

    @property
    def engine(self) -> Engine:
        engine = self.app.engine
        assert engine is not None  # why_not refuses every engine action without one
        return engine

    @property
    def wave(self) -> int:
        return self.main.selected_wave

    def _pane(self) -> AgentPane | None:
        return self.main.focused_pane

    def why_not(self, name: str) -> str | None:
        """``None`` when ``name`` is possible now, else the reason it is not."""
        engine, view, wave = self.app.engine, self.app.view, self.wave
        if name in PANE_ACTIONS:
            pane = self._pane()
            if pane is None:
                return "focus an agent pane first (1–9)"
            agent = view.agents[pane.agent_id]
        if name in ENGINE_ACTIONS and engine is None:
            return "view only: no engine is attached"
        if name == "start_wave":
            return _reason(self.engine.can_start_wave(wave))
        if name == "run_tests":
            return _reason(self.engine.can_run_tests(wave))
        if name == "commit":
            ok, reason = self.engine.can_commit(wave)
            # A tested wave opens the checkpoint screen even when refused: it shows why, and
            # violations can be accepted there.
            return None if ok or view.waves[wave].state == "tested" else reason
        if (
            name == "stop_agent"
            and agent.state != "running"
            and not self._restart_pending(agent.id)
        ):
            return f"{agent.id} is not running ({agent.state})"
        if name == "restart_agent" and agent.state not in ENDED:
            return f"{agent.id} is {agent.state}: only a failed, stopped or lost agent restarts"
        if name == "mark_done" and agent.state not in ENDED:
            return f"{agent.id} is {agent.state}: mark done is for agents that did not finish"
        if name == "follow_up" and agent.state not in (*ENDED, "succeeded"):
            return f"{agent.id} is {agent.state}: a follow-up is for an agent that has ended"
        if name == "follow_up" and agent.session_id is None:
            return f"{agent.id} has no CLI session to resume (set [agent] preset)"
        if name == "raw_log" and getattr(self.app.view, "preset", "generic") == "generic":
            return "the generic preset shows its output as it comes: there is no other view"
        if name == "mark_done" and agent.marked_done:
            return f"{agent.id} is already marked done ({agent.marked_done})"
        if name == "diffs" and view.waves[wave].state in WAVE_NOT_STARTED:
            return f"wave {wave} has not started: no changes yet"
        if name == "violations" and not view.waves[wave].violations:
            return f"wave {wave} has no ownership violations"
        numbers = [w.number for w in view.plan.waves]
        if name == "previous_wave" and wave == numbers[0]:
            return "this is the first wave"
        if name == "next_wave" and wave == numbers[-1]:
            return "this is the last wave"
        return None

    async def run(self, name: str) -> None:
        reason = self.why_not(name)
        if reason:
            self.app.notify(reason, title=ACTIONS[name][1], severity="warning", markup=False)
            return
        await getattr(self, f"do_{name}")()

    async def call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call an engine method; an error becomes a notification, never a traceback."""
        try:
            return await settle(fn(*args, **kwargs))
        except Exception as exc:  # the engine's refusal or failure, shown to the operator
            self.app.notify(
                f"{what}: {exc}", title="Refused", severity="error", timeout=8, markup=False
            )
            return None

    # -- engine actions ------------------------------------------------------------------------

    async def do_start_wave(self) -> None:
        wave = self.wave
        self.app.notify(f"starting wave {wave}", markup=False)
        self.app.run_worker(self.call("start wave", self.engine.start_wave, wave), group="engine")

    def _restart_pending(self, agent_id: str) -> bool:
        """The engine waits to restart the agent ([agent.restart]): stop cancels that."""
        return self.engine.restart_pending(agent_id)

    async def do_stop_agent(self) -> None:
        pane = self._pane()
        assert pane is not None
        agent_id = pane.agent_id
        question = f"Stop {agent_id}?"
        if self.app.view.agents[agent_id].state != "running":
            question = f"Cancel the restart of {agent_id}?"

        async def stop(yes: bool | None) -> None:
            if yes:
                how = await self.call("stop", self.engine.stop_agent, agent_id)
                if how:
                    self.app.notify(f"{agent_id}: {how}", markup=False)

        self.app.push_screen(ConfirmScreen(question, yes="Stop"), stop)

    async def do_restart_agent(self) -> None:
        pane = self._pane()
        assert pane is not None
        self.app.run_worker(
            self.call("restart", self.engine.restart_agent, pane.agent_id), group="engine"
        )

    async def do_mark_done(self) -> None:
        pane = self._pane()
        assert pane is not None
        agent_id = pane.agent_id

        async def mark(reason: str | None) -> None:
            if reason:
                await self.call("mark done", self.engine.mark_done, agent_id, reason)
                self.app.refresh_views()

        self.app.push_screen(
            PromptScreen(f"Why is {agent_id} done?", placeholder="finished by hand in …"), mark
        )

    async def do_run_tests(self) -> None:
        from tui.screens.tests import TestsScreen

        wave = self.wave
        self.app.push_screen(TestsScreen(self.app.view.waves[wave]))
        self.app.run_worker(self.call("tests", self.engine.run_tests, wave), group="tests")

    async def do_commit(self) -> None:
        from tui.screens.checkpoint import CheckpointScreen

        preview = await self.call("checkpoint", self.engine.checkpoint_preview, self.wave)
        if preview is not None:
            self.app.push_screen(CheckpointScreen(preview))

    async def do_diffs(self) -> None:
        from tui.screens.diff import DiffScreen, GitDiffSource

        self.app.push_screen(DiffScreen(GitDiffSource(self.app.engine, self.app.view, self.wave)))

    async def do_violations(self) -> None:
        from tui.screens.violations import ViolationsScreen

        self.app.push_screen(ViolationsScreen(self.wave))

    async def do_history(self) -> None:
        from tui.screens.history import HistoryScreen

        pane = self._pane()
        assert pane is not None
        path = self.engine.log_path(pane.agent_id)
        self.app.push_screen(HistoryScreen(pane.agent_id, path))

    async def do_follow_up(self) -> None:
        pane = self._pane()
        assert pane is not None
        agent_id = pane.agent_id

        async def send(message: str | None) -> None:
            if message and message.strip():
                self.app.notify(f"{agent_id}: follow-up sent", markup=False)
                self.app.run_worker(
                    self.call("follow-up", self.engine.follow_up, agent_id, message),
                    group="engine",
                )

        self.app.push_screen(
            PromptScreen(f"Follow-up for {agent_id}", placeholder="answer or next step …"), send
        )

    # -- view actions --------------------------------------------------------------------------

    async def do_raw_log(self) -> None:
        pane = self._pane()
        assert pane is not None
        raw = pane.toggle_raw()
        self.app.notify(f"{pane.agent_id}: {'raw output' if raw else 'rendered'}", markup=False)

    async def do_attach(self) -> None:
        from tui.screens.attach import AttachScreen

        pane = self._pane()
        assert pane is not None
        self.app.push_screen(AttachScreen(self.app.view.agents[pane.agent_id]))

    async def do_zoom(self) -> None:
        screen = self.main
        if screen.maximized is not None:
            screen.minimize()
        elif (pane := self._pane()) is not None:
            screen.maximize(pane, container=False)
            pane.log_view.focus()

    async def do_search(self) -> None:
        pane = self._pane()
        assert pane is not None

        def search(term: str | None) -> None:
            if term is not None and not pane.log_view.search(term):
                self.app.notify(f"no match for {term!r}", severity="warning", markup=False)

        self.app.push_screen(PromptScreen("Search the log for:", placeholder="text"), search)

    async def do_previous_wave(self) -> None:
        numbers = [w.number for w in self.app.view.plan.waves]
        await self.main.show_wave(numbers[numbers.index(self.wave) - 1])

    async def do_next_wave(self) -> None:
        numbers = [w.number for w in self.app.view.plan.waves]
        await self.main.show_wave(numbers[numbers.index(self.wave) + 1])

    async def do_help(self) -> None:
        from tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    async def do_quit(self) -> None:
        running = sum(1 for a in self.app.view.agents.values() if a.state == "running")
        if running == 0 or self.app.engine is None:
            await self.app.leave(stop_agents=False)
            return

        async def chosen(choice: str | None) -> None:
            if choice:
                await self.app.leave(stop_agents=choice == "stop")

        self.app.push_screen(QuitScreen(running), chosen)


def _reason(result: tuple[bool, str]) -> str | None:
    ok, reason = result
    return None if ok else (reason or "not possible now")


class WavedeckCommands(Provider):
    """The command palette: every action, with why it is unavailable when it is."""

    def _entries(self) -> list[tuple[str, str, str | None]]:
        app: WavedeckApp = self.app  # type: ignore[assignment]
        if self.screen is not app.main_screen:  # the screen the palette was opened on
            return []
        return [(name, desc, app.actions.why_not(name)) for name, (_k, desc) in ACTIONS.items()]

    async def discover(self) -> Hits:
        for name, desc, why in self._entries():
            yield DiscoveryHit(_title(name, why), self._runner(name), help=desc)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, desc, why in self._entries():
            title = _title(name, why)
            score = matcher.match(f"{title} {desc}")
            if score > 0:
                yield Hit(score, matcher.highlight(title), self._runner(name), help=desc)

    def _runner(self, name: str) -> Callable[[], Any]:
        app: WavedeckApp = self.app  # type: ignore[assignment]

        async def run() -> None:
            await app.actions.run(name)

        return run


def _title(name: str, why: str | None) -> str:
    key = ACTIONS[name][0]
    label = f"wavedeck: {name.replace('_', ' ')} ({key})"
    return f"{label} — unavailable: {why}" if why else label
