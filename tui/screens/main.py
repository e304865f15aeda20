"""The main screen: header, wave bar, a grid of agent panes, violations strip, key bar.

Its keys are the ``main`` actions of ``wavedeck.tui.keys`` (each binding's id is the action's name, so a
``[keys]`` remap applies). ``check_action`` returns ``None`` (greyed out) when an action is not
possible right now; pressing it anyway shows the reason (see ``WavedeckApp.on_key``). Pressing an
available one posts ``ActionChosen``: what it does lives in ``wavedeck.tui.commands.Actions``, which the
command palette uses too.
"""

from __future__ import annotations

import math
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Static

from wavedeck.plan.words import plural
from wavedeck.tui import messages as msg
from wavedeck.tui.adapter import sync_waves
from wavedeck.tui.keys import PALETTE, bindings, first_key
from wavedeck.tui.room import Room, room
from wavedeck.tui.widgets.agent_pane import AgentPane
from wavedeck.tui.widgets.header import header_text
from wavedeck.tui.widgets.key_bar import KeyBar
from wavedeck.tui.widgets.violations import ViolationsStrip
from wavedeck.tui.widgets.wave_bar import WaveBar

_NAMES = tuple(a.name for a in PALETTE)
GRID_COLUMNS = {1: 1, 2: 2, 3: 3, 4: 2, 5: 3, 6: 3, 7: 4, 8: 4, 9: 3}


def grid_columns(count: int) -> int:
    """Columns for ``count`` panes (1–12 fit; more scroll)."""
    return GRID_COLUMNS.get(count, 4)


def grid_shape(count: int) -> tuple[int, int, list[int]]:
    """The grid's columns and rows for ``count`` panes, and each pane's column span, so that
    every row is full: a short last row's panes are wider (five panes: three on top, two below,
    no hole beside them). The grid has lcm(columns, last row) columns."""
    columns = grid_columns(count)
    rows = max(1, -(-count // columns))
    last = count - columns * (rows - 1)
    if count == 0 or last == columns:
        return columns, rows, [1] * count
    width = math.lcm(columns, last)
    return width, rows, [width // columns] * (count - last) + [width // last] * last


class MainScreen(Screen[None]):
    """Shows the selected wave; ``[``/``]`` switch waves, ``1``–``9`` focus a pane."""

    # Priority bindings are handled as the key arrives at the app, not after it has travelled
    # to the focused log and bubbled back: one event-loop turn instead of three, which keeps keys
    # responsive while logs flood. This screen has no text inputs for them to steal keys from.
    BINDINGS: ClassVar[list[BindingType]] = [
        *bindings("main", action="act('{name}')", priority=True),
        *(
            Binding(
                str(n), f"focus_pane({n})", f"Pane {n}", show=False, id=f"pane.{n}", priority=True
            )
            for n in range(1, 10)
        ),
    ]

    # A zoomed pane keeps the key bar under it (Textual keeps only its own Footer by default).
    ALLOW_IN_MAXIMIZED_VIEW = "KeyBar"

    def __init__(self) -> None:
        super().__init__(id="main")
        self.selected_wave = 1
        self._possible: tuple[bool, ...] = ()
        self.wrap_logs = False  # long log lines wrap in every pane (w), else cut at the edge

    @property
    def wd(self) -> Room:
        return room(self.app)

    def compose(self) -> ComposeResult:
        yield Static(id="top")
        yield WaveBar(id="wave-bar")
        yield Grid(id="panes")
        yield ViolationsStrip(id="violations")
        yield KeyBar(id="key-bar")

    async def on_mount(self) -> None:
        self.selected_wave = self.wd.view.current_wave
        await self.show_wave(self.selected_wave)
        self.set_interval(1.0, self.refresh_status, name="status-tick")  # elapsed times

    # -- drawing -------------------------------------------------------------------------------

    async def show_wave(self, number: int) -> None:
        """Replace the panes with those of wave ``number``."""
        self.selected_wave = number
        grid = self.query_one("#panes", Grid)
        await grid.remove_children()
        agents = self.wd.view.wave_agents(number)
        columns, rows, spans = grid_shape(len(agents))
        grid.styles.grid_size_columns = columns
        grid.styles.grid_size_rows = rows
        now = self.wd.clock()
        panes = [AgentPane(view, n, now) for n, view in enumerate(agents, 1)]
        for pane, span in zip(panes, spans, strict=True):
            pane.styles.column_span = span
        await grid.mount_all(panes)
        follow = first_key(self.wd.keys_now()["follow"])
        for pane in panes:
            pane.log_view.follow_key = follow
            pane.log_view.set_wrap(self.wrap_logs)
        if panes:
            panes[0].log_view.focus()
        self.refresh_status()

    def refresh_status(self, *, panes: bool = True) -> None:
        """Redraw header, wave bar, pane status lines (unless ``panes`` is false), the violations
        strip, and the key bar when what is possible changed."""
        view, now = self.wd.view, self.wd.clock()
        if self.wd.engine is not None:
            sync_waves(view, self.wd.engine)
        top = header_text(
            view, self.selected_wave, engine=self.wd.engine is not None, sandbox=self.wd.sandbox
        )
        self.query_one("#top", Static).update(top, layout=False)
        wave = view.waves.get(self.selected_wave)
        self.query_one(WaveBar).show(view, self.selected_wave)
        if panes:
            for pane in self.query(AgentPane):
                pane.update_status(now)
        violations = wave.violations if wave else []
        review = first_key(self.wd.keys_now()["violations"])
        accepted = self.wd.accepted(self.selected_wave)
        self.query_one(ViolationsStrip).show(violations, accepted, review)
        # Rebuilding the bindings costs a few ms: only when an action became (un)available.
        possible = tuple(self.wd.why_not(a.name) is None for a in PALETTE)
        if possible != self._possible:
            self._possible = possible
            self.refresh_bindings()
            self.query_one(KeyBar).show(
                self.wd.keys_now(), dict(zip(_NAMES, possible, strict=True))
            )

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
        node: DOMNode | None = self.focused
        while node is not None:
            if isinstance(node, AgentPane):
                return node
            node = node.parent
        return None

    # -- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "act" and parameters:
            return None if self.wd.why_not(str(parameters[0])) else True
        return True

    def action_act(self, name: str) -> None:
        self.post_message(msg.ActionChosen(name))

    def action_focus_pane(self, number: int) -> None:
        panes = list(self.query(AgentPane))
        if 1 <= number <= len(panes):
            self.set_focus(panes[number - 1].log_view)  # now, not after a refresh: keys may follow
        else:
            self.notify(
                f"wave {self.selected_wave} has {plural(len(panes), 'pane')}",
                severity="warning",
                markup=False,
            )
