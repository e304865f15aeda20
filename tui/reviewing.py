"""The control room's reviewer agents: ``[review] preset`` runs once a wave's agents have ended.

``AutoReview.agent_changed`` is told of every agent update; when every agent of that agent's
wave has ended (the wave open, not committed) it asks the engine to run the reviewers that are
due (``EngineCommands.run_reviewers``: one per agent that changed files and was not reviewed
since its last run), once at a time per wave, and says what they found. The app asks again
(``review_wave``) once a wave's tests have run: in worktree mode the agents' changes reach the
main tree, and the reviewers, only then. The findings show in the review screen as the
reviewer's comments.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

from wavedeck.agents.kinds import AGENT_ENDED
from wavedeck.plan.words import plural
from wavedeck.tui.calls import Notifier, guarded
from wavedeck.tui.engine import Engine
from wavedeck.tui.runview import RunView


class Host(Notifier, Protocol):
    """What the reviewers need of the app."""

    view: RunView
    engine: Engine | None

    def run_engine(self, work: Awaitable[object], *, group: str) -> None: ...


class AutoReview:
    """Runs a wave's reviewer agents when its agents have ended (see the module docstring)."""

    def __init__(self, app: Host) -> None:
        self.app = app
        self._running: set[int] = set()

    def agent_changed(self, agent_id: str) -> None:
        app, engine = self.app, self.app.engine
        if engine is None or engine.config.review.preset is None:
            return
        view = app.view
        if agent_id not in view.agents:
            return
        wave = view.wave_of(agent_id)
        agents = view.wave_agents(wave)
        if not all(a.state in AGENT_ENDED for a in agents):
            return
        self.review_wave(wave)

    def review_wave(self, wave: int) -> None:
        """Every agent of ``wave`` has ended (or its tests ran): run the reviewers that are due."""
        app, engine = self.app, self.app.engine
        if engine is None or engine.config.review.preset is None:
            return
        if wave in self._running or app.view.waves[wave].state in ("committed", "locked", "ready"):
            return
        self._running.add(wave)
        app.run_engine(self._review(engine, wave), group="review")

    async def _review(self, engine: Engine, wave: int) -> None:
        try:
            found = await guarded(self.app, "reviewer agents", engine.run_reviewers, wave)
        finally:
            self._running.discard(wave)
        if found:
            self.app.notify(
                f"wave {wave}: the reviewer agents found {plural(found, 'thing')}: d to review",
                title="review",
                severity="warning",
                markup=False,
            )
