"""A control room on a real Supervisor over a demo sandbox with simulated agents, for the TUI
tests that need an engine (whole waves, dialogs that only appear with agents running)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from textual.message import Message

from tests.sandboxkit import configure
from tests.tui.helpers import panes_ready
from wavedeck.agents.configread import load_config
from wavedeck.agents.tools.demo import PLAN_IN_SANDBOX, make_sandbox
from wavedeck.agents.wave.supervisor import Supervisor
from wavedeck.plan.reading.loader import load_plan
from wavedeck.tui.app import WavedeckApp


def sandbox(
    tmp_path: Path,
    extra: dict[str, list[str]] | None = None,
    restart: dict[str, object] | None = None,
) -> Path:
    """The demo sandbox; ``extra`` adds per-agent arguments to the demo's (uncommitted)."""
    repo = make_sandbox(tmp_path / "sandbox", fast=True)
    return configure(repo, extra=extra, keep_extra=True, restart=restart)


@asynccontextmanager
async def control_room(
    repo: Path, seen: list[Message] | None = None, keymap: Mapping[str, str] | None = None
) -> AsyncIterator[tuple[WavedeckApp, object]]:
    plan_path = repo / PLAN_IN_SANDBOX
    plan = load_plan(plan_path).plan
    supervisor = Supervisor(repo, plan, load_config(repo), plan_path=plan_path)
    await supervisor.open()
    app = WavedeckApp(plan, supervisor, keymap=keymap)
    try:
        async with app.run_test(
            size=(200, 50), message_hook=seen.append if seen is not None else None
        ) as pilot:
            await panes_ready(app)
            yield app, pilot
    finally:
        if not app.engine_closed:
            await supervisor.close(stop_agents=True)
