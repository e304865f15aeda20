"""The review screen (issue #25): the document's rows (agents, issues, files stated plainly,
hunks, lines unified or side by side, comments under their lines, more context), paths cut in
the middle, syntax colours and word changes, lazy painting of a 5,000-line diff, the jumps, and
on a real engine: comment, revert a hunk without touching the index, undo, approve, and a
change request refused for an agent whose CLI cannot resume."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from tests.sandboxkit import git
from tests.tui.helpers import ROOT, panes_ready, reference_plan, settle, static_app, wait_for
from tests.tui.review_kit import CLIENT, CRYPTO, DAEMON, INDEX, review_changes, review_record
from tests.tui.room_kit import control_room, sandbox
from tests.tui.screen_text import screen_text
from tests.unit.review.test_review_engine import reviewer_sandbox
from tests.unit.wave.enginekit import kill_agents
from wavedeck.agents.configread import ConfigError
from wavedeck.agents.git.hunks import parse_patch
from wavedeck.agents.local import landlock
from wavedeck.agents.review.changes import PathStanding, WaveChanges, group
from wavedeck.agents.reviewrecord import ReviewRecord
from wavedeck.tui.keys import REVIEW_ACTIONS, keymap_from_config
from wavedeck.tui.screens.dialogs import ConfirmScreen, PromptScreen
from wavedeck.tui.screens.diff import ReviewScreen
from wavedeck.tui.screens.help import HelpScreen
from wavedeck.tui.widgets.diff_colour import word_changes
from wavedeck.tui.widgets.diff_paint import ADDED, ADDED_WORD, REMOVED_WORD, Painter
from wavedeck.tui.widgets.diff_rows import Layout, build_rows, digits, file_notes, shorten_path


def test_paths_are_cut_in_the_middle_keeping_the_file_name() -> None:
    path = "packages/headless-client/zajel/client.py"
    assert shorten_path(path, 80) == path
    short = shorten_path(path, 28)
    assert short.endswith("/client.py") and "…" in short and len(short) <= 28
    assert short.startswith("packages/")
    assert shorten_path(path, 8) == "…ient.py"


def test_rows_state_each_file_plainly_and_carry_issues_and_comments() -> None:
    plan = reference_plan()
    changes = review_changes(plan)
    rows = build_rows(changes, review_record(), Layout("unified", 120))
    texts = [r.text for r in rows]
    assert any("w1-a1 · Headless" in t for t in texts if t)
    assert "✓ HIGH headless-05 · done: fixed" in texts
    assert "✗ HIGH headless-08 · not reported done" in texts
    notes = {f.path: file_notes(f) for f in changes.files}
    assert notes[DAEMON] == ["deleted: the wave removed this file"]
    assert notes[INDEX] == ["renamed from packages/server/src/old-index.js, 91% similar"]
    assert notes[CRYPTO] == ["mode 100644 → 100755: now an executable, was a file"]
    assert any("binary file" in n for n in notes["packages/server/assets/logo.png"])
    assert any(
        n.startswith("stray: the checkpoint leaves it out") for n in notes[changes.files[-1].path]
    )
    # Hunks say which issue their agent was working on, from its tool calls.
    hunks = [r.text for r in rows if r.kind == "hunk"]
    assert hunks[0].endswith("while working on headless-05")
    assert hunks[1].endswith("while working on headless-06")
    # The comment is right under the line it is about.
    at = next(
        i for i, r in enumerate(rows) if r.kind == "comment" and r.comment and r.comment.id == 1
    )
    above = rows[at - 1]
    assert above.line is not None and above.line.new == 7 and above.line.kind == "added"


def test_side_by_side_pairs_changes_and_more_context_stops_at_neighbours() -> None:
    changes = review_changes(reference_plan())
    record = ReviewRecord()
    rows = build_rows(changes, record, Layout("split", 200))
    first_hunk = [
        r for r in rows if r.kind == "pair" and r.agent == 0 and r.file == 0 and r.hunk == 0
    ]
    pairs = [
        (p.left.text if p.left else None, p.right.text if p.right else None) for p in first_hunk
    ]
    assert ("def handshake(peer):", "def handshake(peer, expected_id):") in pairs
    assert (None, "    if peer.identity != expected_id:") in pairs
    # Ten more lines around the first hunk of client.py: from line 1 (nothing above) to 10
    # lines after it, never into the second hunk (new line 43).
    text = [f"line {n}" for n in range(1, 61)]
    layout = Layout("unified", 120, {(CLIENT, 0): 10}, {CLIENT: text})
    rows = build_rows(changes, record, layout)
    extra = [r for r in rows if r.kind == "line" and r.index == -1 and r.hunk == 0 and r.file == 0]
    assert [r.line.new for r in extra if r.line] == list(range(11, 21))
    assert next(r.line.old for r in extra if r.line) == 8  # 3 lines added above them


def test_word_changes_and_syntax_colours_are_painted() -> None:
    old, new = word_changes(
        "    peer.socket.send(frame, flags=0)", "    peer.socket.sendall(frame)"
    )
    assert old and new
    assert "    peer.socket.send(frame, flags=0)"[old[0][0] : old[0][1]] == "send"
    assert word_changes("abc", "completely different text here") == ([], [])
    changes = review_changes(reference_plan())
    rows = build_rows(changes, ReviewRecord(), Layout("unified", 120))
    painter = Painter(changes, Console(width=120, color_system="truecolor"), digits(changes))
    removed = next(
        r for r in rows if r.line and r.line.text == "    peer.socket.send(frame, flags=0)"
    )
    segs = painter.line_segments(removed, removed.line, removed.index)  # type: ignore[arg-type]
    marked = "".join(s.text for s in segs if s.style and s.style.bgcolor == REMOVED_WORD.bgcolor)
    assert marked == "send, flags=0"  # the words that changed, not the whole line
    added = next(r for r in rows if r.line and r.line.text == "def handshake(peer, expected_id):")
    coloured = painter.line_segments(added, added.line, added.index)  # type: ignore[arg-type]
    by_text = {s.text: s.style for s in coloured}
    assert by_text["def"] != by_text["handshake"]  # the .py lexer coloured them apart
    assert by_text["def"].bgcolor == ADDED.bgcolor  # over the added line's background
    assert any(s.style and s.style.bgcolor == ADDED_WORD.bgcolor for s in coloured)
    assert not painter.pending and not painter.plain  # no budget here: all coloured at once


def big_changes(lines: int = 5000) -> WaveChanges:
    """One agent's 5,000-line diff: a new module and a rewritten one."""
    plan = reference_plan()
    body = "".join(f"+def f{i}(x):  # {i}\n" for i in range(lines // 2))
    old = "".join(f"-    value_{i} = compute({i}, 'a')\n" for i in range(lines // 4))
    new = "".join(f"+    value_{i} = compute({i}, 'b')\n" for i in range(lines // 4))
    patch = (
        f"diff --git a/{CLIENT} b/{CLIENT}\nnew file mode 100644\n--- /dev/null\n+++ b/{CLIENT}\n"
        f"@@ -0,0 +1,{lines // 2} @@\n{body}"
        f"diff --git a/{CRYPTO} b/{CRYPTO}\n--- a/{CRYPTO}\n+++ b/{CRYPTO}\n"
        f"@@ -1,{lines // 4} +1,{lines // 4} @@\n{old}{new}"
    )
    standing = {CLIENT: PathStanding("w1-a1", "owned"), CRYPTO: PathStanding("w1-a1", "owned")}
    return group(plan, 1, parse_patch(patch), standing, {}, {}, old="a", new="b")


async def test_a_5000_line_diff_paints_only_what_shows_and_the_keys_jump() -> None:
    app = static_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await panes_ready(app)
        screen = ReviewScreen(1, changes=big_changes(), record=ReviewRecord())
        await app.push_screen(screen)
        await wait_for(lambda: len(screen.view.rows) > 5000)
        view = screen.view
        await settle(pilot, lambda: view.painted > 0 and not view.colouring, "the first screen")
        # Lazily: the rows on screen only, of 5,000. A row left plain when a frame's lexing
        # budget ran out is painted again once coloured, which a loaded machine makes happen
        # over several frames: a few paints a row, never the document.
        assert 0 < view.painted <= 4 * view.size.height
        painted = view.painted
        await pilot.press("pagedown", "pagedown")
        await settle(
            pilot, lambda: view.painted > painted and not view.colouring, "the next rows painted"
        )
        assert view.painted <= 12 * view.size.height < len(view.rows) / 10
        await pilot.press("home", "n")
        assert view.row is not None and view.row.kind == "hunk" and view.row.file == 0
        await pilot.press("right_square_bracket")
        assert view.row is not None and view.row.kind == "file" and view.row.file == 1
        await pilot.press("n")
        assert view.row is not None and view.row.kind == "hunk" and view.row.file == 1
        await pilot.press("p", "p")
        assert view.row is not None and view.row.kind == "hunk" and view.row.file == 0
        await pilot.press("left_curly_bracket")
        assert view.row is not None and view.row.kind == "agent"
        await pilot.press("s")  # 120 columns: unified; s: side by side
        assert screen.mode == "split" and any(r.kind == "pair" for r in view.rows)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await settle(pilot, lambda: "In the review" in screen_text(app), "the help drawn")
        assert "In the review: jump to the next hunk" in screen_text(app)


async def test_comment_revert_undo_approve_on_a_real_engine(tmp_path: Path) -> None:
    repo = sandbox(tmp_path)
    async with control_room(repo) as (app, pilot):
        await pilot.press("s")
        await wait_for(lambda: all(a.state == "succeeded" for a in app.view.wave_agents(1)), 60)
        await pilot.press("d")
        review = app.screen
        assert isinstance(review, ReviewScreen)
        await wait_for(lambda: review.loaded and bool(review.changes.files))
        await pilot.press("n", "down")  # the first line of the first hunk
        row = review.view.row
        assert row is not None and row.kind == "pair" and row.right is not None  # 200 columns
        change = review.changes.agents[row.agent].files[row.file]
        await pilot.press("c")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"Say why", "enter")
        engine = app.engine
        assert engine is not None
        await wait_for(lambda: bool(engine.review_record(1).comments))
        (comment,) = engine.review_record(1).comments
        assert (comment.agent, comment.path, comment.line) == (
            change.agent, change.path, row.right.new,
        )  # fmt: skip
        await wait_for(lambda: "💬 you (open): Say why" in screen_text(app))
        # Revert the hunk: the working file changes, the index does not.
        target = repo / change.path
        before = target.read_bytes()
        index = (repo / ".git" / "index").read_bytes()
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(lambda: target.read_bytes() != before)
        assert (repo / ".git" / "index").read_bytes() == index
        assert git(repo, "diff", "--cached", "--name-only") == ""
        await wait_for(lambda: bool(engine.review_record(1).reverts))
        await pilot.press("u")
        await wait_for(lambda: target.read_bytes() == before)
        await wait_for(lambda: not engine.review_record(1).reverts)
        await pilot.press("a")
        await wait_for(
            lambda: engine.review_record(1).verdict(change.agent or "").approved_by is not None
        )
        await wait_for(
            lambda: any(r.kind == "agent" and "✓ approved by" in r.text for r in review.view.rows)
        )
        # The simulated agent's CLI has no session to resume: refused before anything is
        # offered (no question to answer), the comment stays open.
        assert "cannot resume" in (engine.change_request_problem(1, comment.agent or "") or "")
        await pilot.press("R")
        await wait_for(lambda: any("cannot resume" in n.message for n in app._notifications))
        assert app.screen is review
        assert engine.review_record(1).comments[0].status == "open"


def test_readme_review_key_table_is_the_table() -> None:
    """The README's review key table has one row per review action, with its default keys
    and its help: change the table, change the README."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = {"question_mark": "?", "left_square_bracket": "[", "right_square_bracket": "]",
             "left_curly_bracket": "{", "right_curly_bracket": "}", "plus": "+",
             "equals_sign": "="}  # fmt: skip
    for action in REVIEW_ACTIONS:
        keys = " ".join(f"`{named.get(k, k)}`" for k in action.keys.split(","))
        assert f"| {keys} | `{action.name}` | {action.help} |" in readme, action.name


def test_review_keys_may_share_the_main_screens_but_not_each_others() -> None:
    keys = [k for a in REVIEW_ACTIONS for k in a.keys.split(",")]
    assert len(keys) == len(set(keys))
    assert keymap_from_config({"review_comment": "t"}, "w.toml") == {"review_comment": "t"}
    with pytest.raises(ConfigError, match=r"keys\.review_comment: 'x' is already the key of"):
        keymap_from_config({"review_comment": "x"}, "w.toml")
    with pytest.raises(ConfigError, match="'\\^p' is already the key of 'palette'"):
        keymap_from_config({"review_split": "ctrl+p"}, "w.toml")  # the app's keys: everywhere
    with pytest.raises(ConfigError, match="no such action"):
        keymap_from_config({"review_nope": "t"}, "w.toml")


@pytest.mark.skipif(landlock.abi() < landlock.MIN_ABI, reason="no Landlock on this kernel")
async def test_the_control_room_runs_the_reviewers_once_the_agents_have_ended(
    tmp_path: Path,
) -> None:
    repo = reviewer_sandbox(tmp_path / "s")
    try:
        async with control_room(repo) as (app, pilot):
            engine = app.engine
            assert engine is not None
            await pilot.press("s")
            await wait_for(lambda: len(engine.review_record(1).reviewers) == 5, 90)
            await wait_for(
                lambda: all(r.state == "done" for r in engine.review_record(1).reviewers.values()),
                90,
            )
            await wait_for(lambda: any("found 10" in n.message for n in app._notifications))
            refusal = engine.can_commit(1)  # (the tests have not run: the gates say so first)
            assert refusal is not None
            await pilot.press("d")
            review = app.screen
            assert isinstance(review, ReviewScreen)
            await wait_for(lambda: review.loaded and bool(review.record.comments), 30)
            assert any(
                r.kind == "comment" and "🔎 reviewer [high]" in r.text for r in review.view.rows
            )
    finally:
        kill_agents(repo)
