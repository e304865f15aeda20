"""The supervisor's watchers (``agents.watching``) on a real demo sandbox: an accepted path stays
quiet for the rest of the wave; in worktree mode the shared ``.git/config`` is watched live."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.demo import STRAY_PATH
from agents.events import FileTouched, ViolationFound
from tests.unit.engine.enginekit import Collector, kill_agents, sandbox, supervisor, wait_agents

pytestmark = pytest.mark.timeout(90)
SENTINEL = "docs/sentinel-outside-the-plan.md"


@pytest.fixture
async def root(tmp_path: Path) -> AsyncIterator[Path]:
    folder = tmp_path / "repo"
    yield folder
    kill_agents(folder)


def _touches(col: Collector, path: str) -> int:
    return sum(1 for e in col.of(FileTouched) if e.path == path)  # type: ignore[attr-defined]


def _violations(col: Collector, path: str) -> list[ViolationFound]:
    return [e for e in col.of(ViolationFound) if e.path == path]  # type: ignore[misc]


async def _write_until_seen(col: Collector, target: Path, rel: str, text: str) -> None:
    """Write ``target`` until the watcher reports a new touch of it: a write right after the
    last one is folded into the same burst (coalescing), so one write may raise no event."""
    seen = _touches(col, rel)
    for attempt in range(40):
        target.write_text(f"{text} {attempt}\n", "utf-8")
        try:
            await col.until(lambda _evs: _touches(col, rel) > seen, timeout=0.5)
            return
        except TimeoutError:
            continue
    raise AssertionError(f"the watcher never reported a write to {rel}")


async def test_an_accepted_path_is_never_reported_again_in_the_wave(root: Path) -> None:
    sandbox(root)
    sup = supervisor(root)
    await sup.open()
    col = Collector(sup)
    try:
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        await col.until(lambda _evs: len(_violations(col, STRAY_PATH)) == 1)
        await sup.accept_violation(1, STRAY_PATH, "the daemon lives in cli/")

        await _write_until_seen(col, root / STRAY_PATH, STRAY_PATH, "# edited after accepting")
        # A later event from the same watcher: anything the write raised was emitted before it.
        (root / "docs").mkdir(exist_ok=True)
        await _write_until_seen(col, root / SENTINEL, SENTINEL, "sentinel")

        assert len(_violations(col, STRAY_PATH)) == 1, "accepted path reported again"
        assert [v.path for v in sup.violations(1)].count(STRAY_PATH) == 1
    finally:
        await col.stop()
        await sup.close()


async def test_an_accepted_path_stays_quiet_after_a_restart(root: Path) -> None:
    sandbox(root)
    sup = supervisor(root)
    await sup.open()
    col = Collector(sup)
    try:
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        await col.until(lambda _evs: len(_violations(col, STRAY_PATH)) == 1)
        await sup.accept_violation(1, STRAY_PATH, "the daemon lives in cli/")
    finally:
        await col.stop()
        await sup.close()

    again = supervisor(root)
    await again.open()  # resumes watching the open wave with the recorded acceptance
    col = Collector(again)
    try:
        await _write_until_seen(col, root / STRAY_PATH, STRAY_PATH, "# edited after restart")
        (root / "docs").mkdir(exist_ok=True)
        await _write_until_seen(col, root / SENTINEL, SENTINEL, "sentinel")
        assert _violations(col, STRAY_PATH) == []
    finally:
        await col.stop()
        await again.close()


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()
