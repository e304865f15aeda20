"""The supervisor's watchers (``wavedeck.agents.wave.watching``) on a real demo sandbox: an accepted path stays
quiet for the rest of the wave; in worktree mode the shared ``.git/config`` is watched live."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.wave.enginekit import (
    Collector,
    git,
    opened,
    sandbox,
    wait_agents,
    worktree_sandbox,
)
from wavedeck.agents.events import FileTouched, ViolationFound
from wavedeck.agents.tools.demo import STRAY_PATH
from wavedeck.agents.wave.supervisor import Supervisor

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]
SENTINEL = "docs/sentinel-outside-the-plan.md"


def _touches(col: Collector, path: str) -> int:
    return sum(1 for e in col.of(FileTouched) if e.path == path)


def _violations(col: Collector, path: str) -> list[ViolationFound]:
    return [e for e in col.of(ViolationFound) if e.path == path]


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


async def _sentinel_seen(col: Collector, root: Path) -> None:
    """Write a file outside the plan until the watcher reports it: a later event from the same
    watcher, so anything the earlier writes raised was emitted before it."""
    (root / "docs").mkdir(exist_ok=True)
    await _write_until_seen(col, root / SENTINEL, SENTINEL, "sentinel")


async def _run_and_accept_the_stray(sup: Supervisor, col: Collector) -> None:
    """Run wave 1 until the demo's stray write is reported (once), then accept it."""
    await sup.start_wave(1)
    await wait_agents(sup, 1)
    await col.until(lambda _evs: len(_violations(col, STRAY_PATH)) == 1)
    await sup.accept_violation(1, STRAY_PATH, "the daemon lives in cli/")


async def test_an_accepted_path_is_never_reported_again_in_the_wave(root: Path) -> None:
    sandbox(root)
    async with opened(root) as (sup, col):
        await _run_and_accept_the_stray(sup, col)

        await _write_until_seen(col, root / STRAY_PATH, STRAY_PATH, "# edited after accepting")
        await _sentinel_seen(col, root)

        assert len(_violations(col, STRAY_PATH)) == 1, "accepted path reported again"
        assert [v.path for v in sup.violations(1)].count(STRAY_PATH) == 1


async def test_an_accepted_path_stays_quiet_after_a_restart(root: Path) -> None:
    sandbox(root)
    async with opened(root) as (sup, col):
        await _run_and_accept_the_stray(sup, col)

    # Opening again resumes watching the open wave with the recorded acceptance.
    async with opened(root) as (_again, col):
        await _write_until_seen(col, root / STRAY_PATH, STRAY_PATH, "# edited after restart")
        await _sentinel_seen(col, root)
        assert _violations(col, STRAY_PATH) == []


def _tampers(col: Collector) -> list[ViolationFound]:
    return [v for v in col.of(ViolationFound) if v.kind == "tamper"]


async def test_worktree_mode_reports_a_git_config_tamper_live(root: Path) -> None:
    worktree_sandbox(root)
    async with opened(root) as (sup, col):
        await sup.start_wave(1)
        tree = root / ".wavedeck" / "worktrees" / "w1-a1"
        # From inside an agent's worktree: the config is the repository's, shared by all.
        git(tree, "config", "core.fsmonitor", "touch /tmp/never-run-by-wavedeck")
        await col.until(lambda _evs: bool(_tampers(col)), timeout=10)
        tamper = _tampers(col)[0]
        # One violation per setting (issue #20: reviewed one at a time).
        assert tamper.path == "(git) .git/config core.fsmonitor" and tamper.agent is None
        assert "core.fsmonitor added" in tamper.detail and "as a program" in tamper.detail
        assert tamper in sup.violations(1)


async def test_worktree_mode_collected_files_are_not_main_tree_violations(root: Path) -> None:
    worktree_sandbox(root)
    async with opened(root) as (sup, col):
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        await col.until(lambda _evs: len(_violations(col, STRAY_PATH)) == 1)
        client = "packages/headless-client/zajel/client.py"
        before = _touches(col, client)
        assert await sup.run_tests(1)  # collects the worktrees into the main tree
        await col.until(lambda _evs: _touches(col, client) > before)
        await _sentinel_seen(col, root)
        # The copies were seen by the main tree's watcher, attributed, and not reported.
        main = [e for e in col.of(FileTouched) if e.path == client][before:]
        assert main and all(e.agent == "w1-a1" for e in main)
        assert len(_violations(col, STRAY_PATH)) == 1
        assert not [v for v in col.of(ViolationFound) if "main working tree" in v.detail]
        # After collecting, the main tree is judged as in shared mode.
        assert _violations(col, SENTINEL)
