"""Helpers for the engine tests: a demo sandbox, a supervisor on it, an event collector, and
``opened`` (a supervisor opened with a collector for the length of an ``async with``)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.eventkit import EventCollector
from tests.sandboxkit import configure, git
from wavedeck.agents.config import Config
from wavedeck.agents.configread import load_config
from wavedeck.agents.local import procinfo
from wavedeck.agents.tools.demo import STRAY_AGENT, STRAY_PATH, make_sandbox
from wavedeck.agents.wave.supervisor import Supervisor
from wavedeck.plan.reading.loader import load_plan

__all__ = ["git"]  # the one git() helper (tests.sandboxkit), as the engine tests import it


def sandbox(
    folder: Path,
    *,
    speed: str = "0",
    extra: dict[str, list[str]] | None = None,
    tests: list[str] | None = None,
    workspace: str | None = None,
) -> Path:
    """A demo sandbox whose agents run at ``speed``; ``extra`` replaces the per-agent args
    (default: the demo's stray write by w1-a2). The config change is committed."""
    root = make_sandbox(folder, fast=True)
    if extra is None:
        extra = {STRAY_AGENT: ["--touch-unowned", STRAY_PATH]}
    return configure(root, speed=speed, extra=extra, tests=tests, workspace=workspace, commit=True)


def supervisor(root: Path, config: Config | None = None) -> Supervisor:
    cfg = config or load_config(root)
    plan_path = root / "plans" / "security-waves.md"
    return Supervisor(root, load_plan(plan_path).plan, cfg, plan_path=plan_path)


class Collector(EventCollector):
    """Consumes a supervisor's events into ``self.events``; ``until`` awaits a condition
    (``tests.eventkit.EventCollector``)."""

    def __init__(self, sup: Supervisor) -> None:
        super().__init__(sup.events())
        self.sup = sup


@asynccontextmanager
async def collecting(sup: Supervisor, *, stop_agents: bool = False) -> AsyncIterator[Collector]:
    """Open ``sup`` and collect its events; on the way out (even on a failure) stop collecting,
    then close it (stopping its agents if ``stop_agents``)."""
    await sup.open()
    col = Collector(sup)
    try:
        yield col
    finally:
        await col.stop()
        await sup.close(stop_agents=stop_agents)


@asynccontextmanager
async def opened(
    root: Path, config: Config | None = None, *, stop_agents: bool = False
) -> AsyncIterator[tuple[Supervisor, Collector]]:
    """A supervisor on the sandbox at ``root``, opened, with a collector on its events
    (see ``collecting``): ``async with opened(root) as (sup, col):``."""
    sup = supervisor(root, config)
    async with collecting(sup, stop_agents=stop_agents) as col:
        yield sup, col


async def wait_agents(sup: Supervisor, wave: int, timeout: float = 30) -> None:
    async def wait() -> None:
        while True:
            seen = sup.change_count  # before the check: a change after it ends the wait
            if sup.wave_agents_done(wave):
                return
            await sup.wait_changed(seen)

    await asyncio.wait_for(wait(), timeout)


def kill_agents(root: Path) -> None:
    """Kill every agent recorded in the sandbox's state (by process group, pid + start time)."""
    path = root / ".wavedeck" / "state.json"
    if not path.exists():
        return
    try:
        data = json.loads(path.read_text("utf-8"))
    except ValueError:
        return
    for rec in data.get("agents", {}).values():
        handle = rec.get("handle")
        if handle and procinfo.is_same_process(handle["pid"], handle["start_time"]):
            try:
                os.killpg(handle["pgid"], signal.SIGKILL)
            except ProcessLookupError:
                pass


def worktree_sandbox(root: Path, extra: dict[str, list[str]] | None = None) -> None:
    """A demo sandbox in worktree mode (the config change committed: else it is a stray)."""
    sandbox(root, extra=extra, workspace="worktree")
