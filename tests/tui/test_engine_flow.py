"""The control room on a real Supervisor over a demo sandbox with simulated agents: a whole wave
(start, stray-file violation, tests, checkpoint refused then accepted and committed, re-plan of
the remaining waves, next wave),
agent controls (stop, restart, mark done, the whole log), diff review, and re-attach after quitting."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.message import Message

from tests.tui.helpers import hold, pane_head, settle, wait_for
from tests.tui.room_kit import control_room, sandbox
from tests.tui.screen_text import screen_text
from wavedeck.agents.kinds import Refusal
from wavedeck.agents.tools.demo import STRAY_PATH
from wavedeck.tui import messages as msg
from wavedeck.tui.screens.checkpoint import CheckpointScreen
from wavedeck.tui.screens.dialogs import ConfirmScreen, PromptScreen, QuitScreen
from wavedeck.tui.screens.diff import ReviewScreen
from wavedeck.tui.screens.logs import LogScreen
from wavedeck.tui.screens.tests import TestsScreen
from wavedeck.tui.screens.violations import ViolationsScreen
from wavedeck.tui.widgets.history import HistoryView

pytestmark = pytest.mark.slow


async def test_a_whole_wave_from_start_to_commit(tmp_path: Path) -> None:
    repo = sandbox(tmp_path)
    seen: list[Message] = []
    async with control_room(repo, seen) as (app, pilot):
        view = app.view
        await pilot.press("t")  # not possible yet: the wave has not run
        assert not isinstance(app.screen, TestsScreen)
        replanned = repo / "plans" / "security-waves.replanned.md"
        await pilot.press("P")  # re-planning comes after a committed wave
        assert not replanned.exists()
        await pilot.press("s")
        await wait_for(lambda: all(a.state == "succeeded" for a in view.wave_agents(1)), timeout=60)
        await wait_for(lambda: any(v.path == STRAY_PATH for v in view.waves[1].violations))
        await settle(pilot, lambda: STRAY_PATH in screen_text(app), "the stray path drawn")
        assert STRAY_PATH in screen_text(app)
        assert all(len(a.issues_done) == len(a.agent.issues) for a in view.wave_agents(1))
        assert any(isinstance(m, msg.ViolationRecorded) and m.path == STRAY_PATH for m in seen)

        await pilot.press("d")  # the review: files by agent, the stray one marked
        assert isinstance(app.screen, ReviewScreen)
        review = app.screen
        await wait_for(lambda: review.loaded and bool(review.changes.files))
        stray = review.changes.file(STRAY_PATH)
        assert stray is not None and stray.standing == "stray"
        await wait_for(lambda: "@@" in screen_text(app))
        first = review.view.cursor
        await pilot.press("n")  # the next hunk
        await wait_for(lambda: review.view.cursor != first)
        assert review.view.row is not None and review.view.row.kind == "hunk"
        await pilot.press("escape")

        await pilot.press("t")
        assert isinstance(app.screen, TestsScreen)
        await wait_for(lambda: view.waves[1].tests_passed is not None, timeout=60)
        assert view.waves[1].tests_passed
        await settle(pilot, lambda: "passed in" in screen_text(app), "the test result drawn")
        assert "passed in" in screen_text(app)
        await pilot.press("escape")

        await pilot.press("c")
        await wait_for(lambda: isinstance(app.screen, CheckpointScreen))
        screen = app.screen
        assert screen.preview.refusal == Refusal("stray-paths", 1, paths=(STRAY_PATH,))
        await pilot.press("ctrl+s")  # refused: stays
        assert isinstance(app.screen, CheckpointScreen)
        await pilot.press("a")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"the daemon lives there", "enter")
        await wait_for(lambda: screen.preview.refusal is None)
        await pilot.press("ctrl+s")
        await wait_for(lambda: view.waves[1].commit is not None)
        await wait_for(lambda: app.main_screen.selected_wave == 2)
        assert app.engine.wave_state(2) == "ready"
        await pilot.press("P")  # the remaining waves, re-planned into a new file to review
        await wait_for(replanned.exists, timeout=30)
        assert "## Wave 2" in replanned.read_text("utf-8")
        assert app.engine.plan_path.name == "security-waves.md"  # the running plan stays
        await pilot.press("s")
        await wait_for(lambda: any(a.state != "pending" for a in view.wave_agents(2)), timeout=30)
        assert any(isinstance(m, msg.CheckpointRecorded) for m in seen)


async def test_stop_restart_mark_done_and_history(tmp_path: Path) -> None:
    repo = sandbox(tmp_path, extra={"w1-a1": ["--hang"]})
    async with control_room(repo) as (app, pilot):
        agent = app.view.agents["w1-a1"]
        await pilot.press("s")
        await wait_for(lambda: agent.state == "running" and len(agent.log) > 0, timeout=30)
        await pilot.press("1", "m")  # mark done is for agents that ended
        assert not isinstance(app.screen, PromptScreen)
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(lambda: agent.state == "stopped", timeout=30)
        await pilot.press("r")
        await wait_for(lambda: agent.state == "running", timeout=30)
        await pilot.press("x", "y")
        await wait_for(lambda: agent.state == "stopped", timeout=30)
        await pilot.press("m")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"done by hand", "enter")
        await wait_for(lambda: agent.marked_done == "done by hand")
        # l: the one log view, in its whole mode: the file from its first line.
        pane = app.main_screen.focused_pane
        assert pane is not None and pane.agent_id == "w1-a1"
        await pilot.press("l")
        assert isinstance(app.screen, LogScreen) and app.screen.mode == "whole"
        screen = app.screen
        await wait_for(lambda: bool(screen.query(HistoryView)))
        history = screen.query_one(HistoryView)
        await wait_for(history.indexing_done.is_set)
        first = app.engine.log_path("w1-a1").read_text("utf-8", "replace").splitlines()[0]
        await settle(pilot, lambda: first.strip()[:40] in screen_text(app), "the first line drawn")
        assert history.index.line_count >= 1
        assert first.strip() and first.strip()[:40] in screen_text(app)
        await pilot.press("slash")  # search is for the live lines: said, no prompt
        await settle(
            pilot,
            lambda: any("search works in the live tail" in n.message for n in app._notifications),
            "the notice that search is for the live lines",
        )
        assert app.screen is screen
        await pilot.press("z")  # the same view, its live tail
        await wait_for(lambda: screen.log_view is not None and screen.log_view.id == "logs-live")
        live = screen.log_view
        assert live is not None and not live.wrap
        await pilot.press("w")  # wrap: this view and every pane, as on the main screen
        await wait_for(lambda: live.wrap)
        assert app.main_screen.wrap_logs and pane.log_view.wrap
        await pilot.press("w")
        await wait_for(lambda: not live.wrap)
        assert not pane.log_view.wrap
        await pilot.press("right_square_bracket")  # not a key of the log view: nothing beneath
        await hold(pilot, 0.1, "pilot.press returns once the key is handled: a wave switch is then")
        assert app.screen is screen and app.main_screen.selected_wave == 1
        await pilot.press("escape")  # back to the panes, none hidden
        await wait_for(lambda: app.screen is app.main_screen)
        await pilot.press("right_square_bracket")
        await wait_for(lambda: app.main_screen.selected_wave == 2)
        await pilot.press("left_square_bracket")
        await wait_for(lambda: app.main_screen.selected_wave == 1)
        await settle(
            pilot,
            lambda: all(f"{n} w1-a{n}" in screen_text(app) for n in range(1, 4)),
            "wave 1's panes drawn",
        )
        text = screen_text(app)
        assert all(f"{n} w1-a{n}" in text for n in range(1, 4))
        assert app.main_screen.maximized is None


async def test_quit_leaves_agents_running_and_reattach_shows_history(tmp_path: Path) -> None:
    repo = sandbox(tmp_path, extra={"w1-a1": ["--hang"]})
    async with control_room(repo) as (app, pilot):
        await pilot.press("s")
        agent = app.view.agents["w1-a1"]
        await wait_for(lambda: agent.state == "running" and len(agent.log) >= 3, timeout=30)
        before = list(agent.log.lines)
        await wait_for(
            lambda: all(a.state != "running" for a in app.view.wave_agents(1) if a.id != "w1-a1"),
            timeout=60,
        )
        await pilot.press("q")
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("enter")  # the default: leave running
        await wait_for(lambda: app.engine_closed)
    assert not app.stopped_agents
    async with control_room(repo) as (again, pilot):
        pane_log = again.view.agents["w1-a1"].log
        assert again.view.agents["w1-a1"].state == "running"
        assert list(pane_log.lines)[: len(before)] == before  # the history, loaded from disk
        log_file = again.engine.log_path("w1-a1")

        def same_as_disk() -> bool:  # no line lost, none twice
            return list(pane_log.lines) == log_file.read_text().splitlines()[-len(pane_log) :]

        await wait_for(same_as_disk, timeout=30)
        await settle(
            pilot, lambda: pane_log.lines[-1][:40] in screen_text(again), "the last line drawn"
        )
        assert pane_log.lines[-1][:40] in screen_text(again)
        await pilot.press("q")
        await pilot.press("tab", "enter")  # "Stop all"
        await wait_for(lambda: again.engine_closed, timeout=30)
    assert again.stopped_agents


async def test_violations_screen_and_diff_revert(tmp_path: Path) -> None:
    repo = sandbox(tmp_path)
    async with control_room(repo) as (app, pilot):
        view = app.view
        await pilot.press("v")  # nothing to review before the wave
        assert not isinstance(app.screen, ViolationsScreen)
        await pilot.press("s")
        await wait_for(lambda: all(a.state == "succeeded" for a in view.wave_agents(1)), timeout=60)
        await wait_for(lambda: any(v.path == STRAY_PATH for v in view.waves[1].violations))
        await settle(pilot, lambda: app.why_not("violations") is None, "v offered")
        await pilot.press("v")
        assert isinstance(app.screen, ViolationsScreen)
        await settle(
            pilot,
            lambda: STRAY_PATH in screen_text(app) and "open" in screen_text(app),
            "the violation's row drawn",
        )
        assert STRAY_PATH in screen_text(app) and "open" in screen_text(app)
        stray = repo / STRAY_PATH
        changed = stray.read_text()
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(lambda: stray.read_text() != changed)  # back to the wave's base

        def reverted() -> list[str]:
            return [n.message for n in app._notifications if "reverted" in n.message]

        await wait_for(lambda: bool(reverted()))
        await hold(pilot, 0.5, "a second notice (twice said) comes from the same revert at once")
        assert reverted() == [f"wave 1: reverted {STRAY_PATH}"]  # the engine's, said once
        await pilot.press("escape")
        # #19: the reverted path's violation is gone from the strip and the wave's rows, not
        # still "⚠ 1 open v: review STRAY" after it was put back.
        await wait_for(lambda: not any(v.path == STRAY_PATH for v in view.waves[1].violations))
        await settle(
            pilot,
            lambda: STRAY_PATH not in screen_text(app) and "1 open" not in screen_text(app),
            "the strip redrawn without the reverted path",
        )
        assert STRAY_PATH not in screen_text(app) and "1 open" not in screen_text(app)

        await pilot.press("d")
        review = app.screen
        assert isinstance(review, ReviewScreen)
        await wait_for(lambda: review.loaded and bool(review.changes.files))
        assert review.changes.file(STRAY_PATH) is None
        await pilot.press("right_square_bracket")  # the first file
        row = review.view.row
        assert row is not None and row.kind == "file"
        path = review.changes.agents[row.agent].files[row.file].path
        target = repo / path
        edited = target.read_text()
        await pilot.press("X")  # the whole file
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # no: nothing happens, and a notice says so
        assert target.read_text() == edited
        assert any(
            n.message == f"not reverted: {path} keeps its changes" for n in app._notifications
        )
        await pilot.press("X", "y")
        await wait_for(lambda: target.read_text() != edited)
        await wait_for(lambda: review.changes.file(path) is None)
        await pilot.press("right_square_bracket")
        await pilot.press("e")  # headless: no terminal to hand over; says so, no crash
        await settle(
            pilot,
            lambda: any("cannot hand over to an editor" in n.message for n in app._notifications),
            "the notice that the terminal cannot hand over",
        )
        assert isinstance(app.screen, ReviewScreen)


async def test_stop_cancels_a_waiting_restart(tmp_path: Path) -> None:
    """With [agent.restart] on, a failed agent waits out its backoff: 'x' must be offered then,
    and cancels the restart (the agent stays failed, nothing relaunches)."""
    repo = sandbox(
        tmp_path,
        extra={"w1-a1": ["--fail", "3"]},
        restart={"enabled": True, "backoff_initial_s": 600, "backoff_max_s": 600},
    )
    async with control_room(repo) as (app, pilot):
        agent = app.view.agents["w1-a1"]
        restarts = app.engine.restarts  # type: ignore[union-attr]
        await pilot.press("s")
        await wait_for(lambda: agent.state == "failed" and restarts.pending("w1-a1"), timeout=60)
        await wait_for(lambda: "↻ restart 1 of 3 in 600 s" in pane_head(app, "w1-a1"))
        await pilot.press("1")
        assert app.actions.why_not("stop") is None
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Cancel the restart of w1-a1?" in screen_text(app)
        await pilot.press("y")
        await wait_for(lambda: not restarts.pending("w1-a1"))
        assert agent.state == "failed"
        await wait_for(lambda: "↻ restart cancelled by the operator" in pane_head(app, "w1-a1"))
        assert app.actions.why_not("stop") == "w1-a1 is not running (failed)"
