"""The main screen: header, wave bar, a grid of agent panes, violations strip, footer.

Every operator key is a ``Binding`` with an id. ``check_action`` returns ``None`` (shown greyed
out in the footer) when an action is not possible right now; pressing it anyway shows the reason
(see ``WavedeckApp.on_key``). The actions themselves live in ``tui.commands.Actions`` so the
command palette and the keys share one implementation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid
from textual.screen import Screen
from textual.widgets import Footer, Static

from plan.safetext import neutralize
from tui.commands import ACTIONS
from tui.widgets.agent_pane import AgentPane
from tui.widgets.violations import ViolationsStrip
from tui.widgets.wave_bar import WaveBar

if TYPE_CHECKING:
    from tui.app import WavedeckApp

# (key, action, description, show in footer, binding id)
KEYS: tuple[tuple[str, str, str, bool, str], ...] = (
    ("s", "start_wave", "Start wave", True, "wave.start"),
    ("x", "stop_agent", "Stop", True, "agent.stop"),
    ("r", "restart_agent", "Restart", True, "agent.restart"),
    ("m", "mark_done", "Mark done", True, "agent.mark_done"),
    ("t", "run_tests", "Tests", True, "wave.tests"),
    ("c", "commit", "Commit", True, "wave.commit"),
    ("d", "diffs", "Diffs", True, "wave.diffs"),
    ("v", "violations", "Violations", True, "wave.violations"),
    ("a", "attach", "Attach", True, "agent.attach"),
    ("enter,z", "zoom", "Zoom", True, "agent.zoom"),
    ("slash", "search", "Search", True, "log.search"),
    ("l", "history", "Full log", False, "log.history"),
    ("u", "follow_up", "Follow-up", False, "agent.follow_up"),
    ("o", "raw_log", "Raw/rendered", False, "log.raw"),
    ("left_square_bracket", "previous_wave", "Prev wave", False, "wave.previous"),
    ("right_square_bracket", "next_wave", "Next wave", False, "wave.next"),
    ("question_mark,f1", "help", "Help", True, "app.help"),
    ("q", "quit", "Quit", True, "app.quit"),
)

GRID_COLUMNS = {1: 1, 2: 2, 3: 3, 4: 2, 5: 3, 6: 3, 7: 4, 8: 4, 9: 3}


def grid_columns(count: int) -> int:
    """Columns for ``count`` panes (1–12 fit; more scroll)."""
    return GRID_COLUMNS.get(count, 4)


class MainScreen(Screen[None]):
    """Shows the selected wave; ``[``/``]`` switch waves, ``1``–``9`` focus a pane."""

    # Priority bindings are handled as the key arrives at the app, not after it has travelled
    # to the focused log and bubbled back: one event-loop turn instead of three, which keeps keys
    # responsive while logs flood. This screen has no text inputs for them to steal keys from.
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(k, f"act('{a}')", d, show=s, id=i, priority=True) for k, a, d, s, i in KEYS),
        *(
            Binding(
                str(n), f"focus_pane({n})", f"Pane {n}", show=False, id=f"pane.{n}", priority=True
            )
            for n in range(1, 10)
        ),
    ]

    def __init__(self) -> None:
        super().__init__(id="main")
        self.selected_wave = 1
        self._possible: tuple[bool, ...] = ()

    @property
    def wd(self) -> WavedeckApp:
        return cast("WavedeckApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(id="top")
        yield WaveBar(id="wave-bar")
        yield Grid(id="panes")
        yield ViolationsStrip(id="violations")
        yield Footer()

    async def on_mount(self) -> None:
        self.selected_wave = self.wd.view.current_wave
        await self.show_wave(self.selected_wave)
        self.set_interval(1.0, self.refresh_status, name="status-tick")  # elapsed times
        self.set_interval(0.2, self.wd.redraw_dirty, name="dirty-tick")

    # -- drawing -------------------------------------------------------------------------------

    async def show_wave(self, number: int) -> None:
        """Replace the panes with those of wave ``number``."""
        self.selected_wave = number
        grid = self.query_one("#panes", Grid)
        await grid.remove_children()
        agents = self.wd.view.wave_agents(number)
        grid.styles.grid_size_columns = grid_columns(len(agents))
        rows = -(-len(agents) // grid_columns(len(agents))) if agents else 1
        grid.styles.grid_size_rows = rows
        now = self.wd.clock()
        await grid.mount_all(AgentPane(view, n, now) for n, view in enumerate(agents, 1))
        panes = list(self.query(AgentPane))
        if panes:
            panes[0].log_view.focus()
        self.refresh_status()

    def refresh_status(self, *, panes: bool = True) -> None:
        """Redraw header, wave bar, pane status lines (unless ``panes`` is false), the violations
        strip, and the footer when what is possible changed."""
        view, now = self.wd.view, self.wd.clock()
        if self.wd.engine is not None:
            view.sync_waves(self.wd.engine)
        top = Text(no_wrap=True, overflow="ellipsis")
        top.append(" wavedeck ", "bold reverse")
        top.append(" " + neutralize(view.plan.title), "bold")
        wave = view.waves.get(self.selected_wave)
        top.append(f"   wave {self.selected_wave}: {wave.state if wave else '?'}")
        running = sum(1 for a in view.agents.values() if a.state == "running")
        top.append(f"   {running} running", "green" if running else "dim")
        if self.wd.engine is None:
            top.append("   (view only)", "italic dim")
        for host, (state, _detail) in sorted(view.hosts.items()):
            top.append(f"   {neutralize(host)}: {state}", "red" if state != "connected" else "")
        self.query_one("#top", Static).update(top, layout=False)
        self.query_one(WaveBar).show(view, self.selected_wave)
        if panes:
            for pane in self.query(AgentPane):
                pane.update_status(now)
        violations = wave.violations if wave else []
        self.query_one(ViolationsStrip).show(violations, self.wd.accepted(self.selected_wave))
        # Rebuilding the footer costs a few ms: only when an action became (un)available.
        possible = tuple(self.wd.actions.why_not(name) is None for name in ACTIONS)
        if possible != self._possible:
            self._possible = possible
            self.refresh_bindings()

    def on_descendant_focus(self) -> None:
        self._possible = ()  # the focused agent decides x/r/m: re-check on the next tick
        self.refresh_status(panes=False)

    def pane(self, agent_id: str) -> AgentPane | None:
        for pane in self.query(AgentPane):
            if pane.agent_id == agent_id:
                return pane
        return None

    @property
    def focused_pane(self) -> AgentPane | None:
        node = self.focused
        while node is not None:
            if isinstance(node, AgentPane):
                return node
            node = node.parent  # type: ignore[assignment]
        return None

    # -- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "act" and parameters:
            return None if self.wd.actions.why_not(str(parameters[0])) else True
        return True

    async def action_act(self, name: str) -> None:
        await self.wd.actions.run(name)

    def action_focus_pane(self, number: int) -> None:
        panes = list(self.query(AgentPane))
        if 1 <= number <= len(panes):
            self.set_focus(panes[number - 1].log_view)  # now, not after a refresh: keys may follow
        else:
            self.notify(
                f"wave {self.selected_wave} has {len(panes)} panes",
                severity="warning",
                markup=False,
            )
