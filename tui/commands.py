"""What each operator action does, and the command palette that lists them.

The actions themselves (names, keys, labels, help) are the table in ``wavedeck.tui.keys``. :class:`Actions`
decides whether one is possible now (``why_not`` returns the reason when it is not) and performs
it; the main screen's keys (through ``ActionChosen`` messages) and the command palette
(``wavedeck.tui.palette``) both end here, so a key and its palette entry can never disagree.
What the actions on the focused agent's log do is ``wavedeck.tui.logactions``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ParamSpec, Protocol, TypeVar

from textual.message import Message

from wavedeck.agents.kinds import AGENT_UNSUCCESSFUL, WAVE_NOT_STARTED, Refusal
from wavedeck.agents.presets import TEXT_PRESETS
from wavedeck.agents.wave.refusals import agent_is, state_word
from wavedeck.tui.calls import guarded
from wavedeck.tui.keys import ACTIONS, BY_NAME, PALETTE, key_display
from wavedeck.tui.logactions import LogActions, LogRoom
from wavedeck.tui.refusals import refusal_text
from wavedeck.tui.screens.dialogs import ConfirmScreen, PromptScreen, QuitScreen
from wavedeck.tui.toasts import REFUSAL, Toasts, wave_topic

if TYPE_CHECKING:
    from wavedeck.tui.engine import Engine
    from wavedeck.tui.screens.main import MainScreen
    from wavedeck.tui.widgets.agent_pane import AgentPane


class ControlApp(LogRoom, Protocol):
    """What the actions use of the app (``WavedeckApp``): the log actions' part, and more."""

    toasts: Toasts

    def post_message(self, message: Message) -> bool: ...
    def refresh_views(self) -> None: ...
    def run_engine(self, work: Awaitable[object], *, group: str) -> None: ...
    async def leave(self, *, stop_agents: bool) -> None: ...
    async def take_over(self, agent_id: str) -> bool: ...


P = ParamSpec("P")
R = TypeVar("R")
ENGINE_ACTIONS = {a.name for a in ACTIONS if a.engine}
PANE_ACTIONS = {a.name for a in ACTIONS if a.pane}
ENDED = AGENT_UNSUCCESSFUL


class Actions:
    """What the operator can do, bound to one app."""

    def __init__(self, app: ControlApp) -> None:
        self.app = app
        self.logs = LogActions(app)  # the focused agent's log: what those actions do
        # What each action of the palette does (``tests/tui/test_action_table.py``: all of them).
        self.handlers: dict[str, Callable[[], Awaitable[None]]] = {
            "start": self.do_start,
            "stop": self.do_stop,
            "restart": self.do_restart,
            "mark_done": self.do_mark_done,
            "tests": self.do_tests,
            "commit": self.do_commit,
            "diffs": self.do_diffs,
            "violations": self.do_violations,
            "log": self.logs.do_log,
            "reply": self.do_reply,
            "raw": self.logs.do_raw,
            "wrap": self.logs.do_wrap,
            "attach": self.do_attach,
            "zoom": self.logs.do_zoom,
            "search": self.logs.do_search,
            "follow": self.logs.do_follow,
            "tail": self.logs.do_tail,
            "search_next": self.logs.do_search_next,
            "search_previous": self.logs.do_search_previous,
            "previous_wave": self.do_previous_wave,
            "next_wave": self.do_next_wave,
            "replan": self.do_replan,
            "help": self.do_help,
            "quit": self.do_quit,
        }

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
        if name == "start":
            return self._words(self.engine.can_start_wave(wave))
        if name == "tests":
            return self._words(self.engine.can_run_tests(wave))
        if name == "commit":
            refused = self.engine.can_commit(wave)
            # A tested wave opens the checkpoint screen even when refused: it shows why, and
            # violations can be accepted there.
            return None if view.waves[wave].state == "tested" else self._words(refused)
        if name == "stop" and agent.state != "running" and not self._restart_pending(agent.id):
            return f"{agent.id} is not running ({state_word(agent.state)})"
        if name == "restart" and agent.state not in ENDED:
            return (
                f"{agent_is(agent.id, agent.state)}: only a failed, stopped or lost agent restarts"
            )
        if name == "mark_done" and agent.state not in ENDED:
            return f"{agent_is(agent.id, agent.state)}: mark done is for agents that did not finish"
        if name == "reply" and agent.state not in (*ENDED, "succeeded"):
            return f"{agent_is(agent.id, agent.state)}: a follow-up is for an agent that has ended"
        if name == "reply" and agent.session_id is None:
            return f"{agent.id} has no CLI session to resume (set [agent] preset)"
        if name == "raw" and self.app.view.preset in TEXT_PRESETS:
            preset = self.app.view.preset
            return f"the {preset} preset shows its output as it comes: there is no other view"
        if name == "mark_done" and agent.marked_done:
            return f"{agent.id} is already marked done ({agent.marked_done})"
        if name == "replan":
            return self._why_not_replan()
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
            self.refuse(name, reason)
            return
        self.app.toasts.clear(REFUSAL)  # something happened: the last refusal is old news
        await self.handlers[name]()

    def refuse(self, name: str, reason: str, key: str | None = None) -> None:
        """Say why ``name`` did nothing, naming the key pressed (``key``; from the palette, the
        action's key now), in place of the last refusal."""
        action = BY_NAME[name]
        shown = key_display(key or self.app.keys_now()[name])
        self.app.toasts.show(
            reason, topic=REFUSAL, title=f"{shown} ({action.label}): not now", severity="warning"
        )

    def _words(self, refusal: Refusal | None) -> str | None:
        """A gate's refusal as the main screen says it (the keys the operator has now)."""
        return refusal_text(refusal, self.app.keys_now()) if refusal is not None else None

    async def call(
        self, what: str, fn: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs
    ) -> R | None:
        """Call an engine method; an error becomes a notification, never a traceback."""
        return await guarded(self.app, what, fn, *args, **kwargs)

    # -- engine actions ------------------------------------------------------------------------

    async def do_start(self) -> None:
        wave = self.wave
        self.app.toasts.show(f"starting wave {wave}", topic=wave_topic(wave))
        self.app.run_engine(self.call("start wave", self.engine.start_wave, wave), group="engine")

    def _restart_pending(self, agent_id: str) -> bool:
        """The engine waits to restart the agent ([agent.restart]) or to start it (its turn, one
        start at a time): stop cancels that."""
        return self.engine.restart_pending(agent_id)

    async def do_stop(self) -> None:
        pane = self._pane()
        assert pane is not None
        agent_id = pane.agent_id
        view = self.app.view.agents[agent_id]
        if view.state == "running":
            question, yes = f"Stop {agent_id}?", "Stop"
            cancelled = f"not stopped: {agent_id} keeps running"
        elif view.state == "pending":  # waiting its turn to start (one start at a time)
            question, yes = f"Do not start {agent_id} (queued)?", "Do not start"
            cancelled = f"{agent_id} still starts in its turn"
        else:
            question, yes = f"Cancel the restart of {agent_id}?", "Cancel restart"
            cancelled = f"{agent_id} will still be restarted"

        async def stop(yes: bool | None) -> None:
            if yes:
                how = await self.call("stop", self.engine.stop_agent, agent_id)
                if how:
                    self.app.notify(f"{agent_id}: {how}", markup=False)

        self.app.push_screen(ConfirmScreen(question, yes=yes, cancelled=cancelled), stop)

    async def do_restart(self) -> None:
        pane = self._pane()
        assert pane is not None
        self.app.run_engine(
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

        prompt = PromptScreen(
            f"Why is {agent_id} done?",
            placeholder="finished by hand in …",
            cancelled=f"{agent_id} not marked done",
        )
        self.app.push_screen(prompt, mark)

    async def do_tests(self) -> None:
        from wavedeck.tui.screens.tests import TestsScreen

        wave = self.wave
        self.app.push_screen(TestsScreen(self.app.view.waves[wave]))
        self.app.run_engine(self.call("tests", self.engine.run_tests, wave), group="tests")

    async def do_commit(self) -> None:
        from wavedeck.tui.screens.checkpoint import CheckpointScreen

        preview = await self.call("checkpoint", self.engine.checkpoint_preview, self.wave)
        if preview is not None:
            self.app.push_screen(CheckpointScreen(preview, self.engine))

    async def do_diffs(self) -> None:
        from wavedeck.tui.screens.diff import ReviewScreen

        self.app.push_screen(ReviewScreen(self.wave, self.engine))

    async def do_violations(self) -> None:
        from wavedeck.tui.screens.violations import ViolationsScreen

        self.app.push_screen(ViolationsScreen(self.wave, self.engine))

    async def do_reply(self) -> None:
        pane = self._pane()
        assert pane is not None
        agent_id = pane.agent_id

        async def send(message: str | None) -> None:
            if message and message.strip():
                self.app.notify(f"{agent_id}: follow-up sent", markup=False)
                self.app.run_engine(
                    self.call("follow-up", self.engine.follow_up, agent_id, message),
                    group="engine",
                )

        self.app.push_screen(
            PromptScreen(f"Follow-up for {agent_id}", placeholder="answer or next step …"), send
        )

    # -- view actions --------------------------------------------------------------------------

    async def do_attach(self) -> None:
        """Take over the agent's CLI session (``wavedeck.tui.takeover``); when its headless
        run is going, ask first (stop it, or wait for it); when it has no session to take
        over, its live tail, saying why."""
        from wavedeck.agents.wave.takeover import words

        pane = self._pane()
        assert pane is not None
        agent_id, engine = pane.agent_id, self.app.engine
        if engine is None:
            self.logs.open_log(
                "live", note="no engine here, so no session to take over (read-only live tail)"
            )
            return
        refusal = engine.takeover_check(agent_id)
        if refusal is None:
            await self.call("take over", self.app.take_over, agent_id)
        elif refusal.code == "agent-running":
            from wavedeck.tui.screens.takeover import RunningScreen
            from wavedeck.tui.takeover import when_run_ends

            async def chosen(choice: str | None) -> None:
                if choice is not None:  # the app's, so the engine is the one it runs on
                    work = when_run_ends(self.app, engine, agent_id, stop=choice == "stop")
                    self.app.run_engine(work, group="takeover")

            self.app.push_screen(RunningScreen(agent_id), chosen)
        elif refusal.code == "taken-over":
            self.app.notify(words(refusal), severity="warning", markup=False)
        else:
            self.logs.open_log("live", note=f"{words(refusal)} (read-only live tail)")

    async def do_previous_wave(self) -> None:
        numbers = [w.number for w in self.app.view.plan.waves]
        await self.main.show_wave(numbers[numbers.index(self.wave) - 1])

    async def do_next_wave(self) -> None:
        numbers = [w.number for w in self.app.view.plan.waves]
        await self.main.show_wave(numbers[numbers.index(self.wave) + 1])

    def _why_not_replan(self) -> str | None:
        states = [self.app.view.waves[w.number].state for w in self.app.view.plan.waves]
        if self.engine.plan_path is None:
            return "the plan's file is not known: nothing to re-plan from"
        if "committed" not in states:
            return "re-planning comes after a wave: no wave is committed yet"
        if all(s == "committed" for s in states):
            return "every wave is committed: nothing remains to re-plan"
        return None

    async def do_replan(self) -> None:
        """Write the remaining waves re-planned (``plan make``) to a new file, for review: the
        running plan is never replaced."""
        import asyncio
        from pathlib import Path

        from wavedeck.agents.replan import ReplanError, check_command, replan_remaining

        plan_path = self.engine.plan_path
        assert plan_path is not None  # why_not refuses without it
        view = self.app.view
        done = [w.number for w in view.plan.waves if view.waves[w.number].state == "committed"]
        self.app.notify("re-planning the remaining waves…", markup=False)
        try:
            written = await asyncio.to_thread(replan_remaining, plan_path, self.engine.repo, done)
        except (ReplanError, OSError) as exc:
            self.app.notify(str(exc), title="Re-plan", severity="error", markup=False)
            return
        check = check_command(written, Path(self.engine.repo), Path.cwd())
        self.app.notify(
            f"wrote {written}: review it ({check}), then "
            "open wavedeck on it; the running plan is unchanged",
            title="Re-plan",
            markup=False,
            timeout=15,
        )

    async def do_help(self) -> None:
        from wavedeck.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(self.app.keys_now(), self.availability()))

    def availability(self) -> dict[str, str | None]:
        """Each main-screen action: ``None`` when possible now, else why not."""
        return {a.name: self.why_not(a.name) for a in PALETTE}

    async def do_quit(self) -> None:
        running = sum(1 for a in self.app.view.agents.values() if a.state == "running")
        if running == 0 or self.app.engine is None:
            await self.app.leave(stop_agents=False)
            return

        async def chosen(choice: str | None) -> None:
            if choice:
                await self.app.leave(stop_agents=choice == "stop")

        self.app.push_screen(QuitScreen(running), chosen)
