"""End to end: the review in the control room, in a tmux pane (200x50), with the real Claude
Code CLI as the agents (the scripted model of ``model_server`` on 127.0.0.1 the only double).

Wave 1 runs (each agent reads its file, rewrites it fixed, byte-compiles it, reports done); ``d``
opens the review: the changed lines are coloured by token (``capture-pane -e`` shows distinct
colour codes on the tokens of one line) and the words that changed inside a changed line carry
their own background. On w1-a2's hunk ``x`` reverts it (the file is back as it was, the index
untouched) and ``u`` undoes it; on w1-a1's changed line ``c`` records a comment; ``R`` sends it:
the real CLI resumes its session with a follow-up holding the file, the line, the quoted line and
the comment, and answers (rewrites the file, reports the issue done again); its pane shows it
running, then succeeded. Both agents approved (``a``), the tests run (``t``), the checkpoint
(``c``, ``ctrl+s``) records the review: ``Wavedeck-Reviewed-By`` and ``Wavedeck-Review``.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.agent_cli_kit import require
from tests.e2e.claude_kit import FIXED, fixes
from tests.e2e.headless_kit import kill_agents
from tests.e2e.model_server import ModelServer, Script, Text, ToolUse
from tests.e2e.real_cli_kit import FILES, ORIGINAL, commit_message, committed, key, make_sandbox
from tests.e2e.tmux_kit import WAVEDECK, Tmux, pane_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]
COMMENT = "Keep an error code in the body: clients switch on it."
ANSWERED = 'def handle(err):\n    return {"error": "internal error", "code": 500}\n'
SGR = re.compile(r"\x1b\[([0-9;:]*)m")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    session = Tmux()
    yield session
    session.kill()


def styled_runs(line: str) -> list[tuple[str, str]]:
    """A captured line as (SGR codes in force, text) runs."""
    runs: list[tuple[str, str]] = []
    codes: list[str] = []
    pos = 0
    for match in SGR.finditer(line):
        if match.start() > pos:
            runs.append((";".join(codes), line[pos : match.start()]))
        param = match.group(1)
        codes = [] if param in ("", "0") else [*codes, param]
        pos = match.end()
    if pos < len(line):
        runs.append((";".join(codes), line[pos:]))
    return runs


def foregrounds(runs: list[tuple[str, str]], word: str) -> set[str]:
    """The last foreground colour in force on each run holding ``word``."""
    found = set()
    for codes, text in runs:
        if word in text:
            fg = [c for c in codes.split(";") if c] if codes else []
            found.add(";".join(fg[-6:]))
    return found


def coloured_runs(
    tmux: Tmux, anchor: str, *words: str, timeout: float = 20
) -> list[tuple[str, str]]:
    """The styled runs of the screen line holding ``anchor``, once ``words`` on it are in
    at least two different foreground colours (syntax colours painted)."""
    deadline = time.monotonic() + timeout
    while True:
        plain, coloured = tmux.screen(), tmux.screen(colours=True)
        at = next((i for i, ln in enumerate(plain.splitlines()) if anchor in ln), None)
        lines = coloured.splitlines()
        runs = styled_runs(lines[at]) if at is not None and at < len(lines) else []
        if len(set().union(*(foregrounds(runs, w) for w in words))) >= 2:
            return runs
        assert time.monotonic() < deadline, (
            f"no syntax colours on {anchor!r} within {timeout}s: {runs}"
        )
        time.sleep(0.1)


def back_to_main(tmux: Tmux) -> None:
    """Escape, then wait for the main screen's key bar: a key sent right after an escape would
    read as alt+key."""
    tmux.keys("Escape")
    tmux.wait_for("s Start", timeout=20)


def wait_file(path: Path, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while path.read_text("utf-8") != text:
        assert time.monotonic() < deadline, f"{path} did not become {text!r}"
        time.sleep(0.1)


@pytest.mark.timeout(420)
def test_review_colours_revert_comment_request_changes_and_commit(
    tmux: Tmux, tmp_path: Path
) -> None:
    claude = require("claude")
    folder = tmp_path / "repo"
    api = str(folder / FILES["w1-a1"])
    script: Script = {
        key("w1-a1"): [
            *fixes(folder, "w1-a1"),
            # The follow-up (turn 4 of the resumed session): the change the review asked for.
            [ToolUse("Write", {"file_path": api, "content": ANSWERED})],
            [Text("Kept a code in the body.\nwavedeck: done api-1 fixed, keeping an error code")],
        ],
        key("w1-a2"): fixes(folder, "w1-a2"),
    }
    env = pane_env()
    env["COLORTERM"] = "truecolor"
    try:
        with ModelServer(script) as server:
            make_sandbox(folder, claude, server.url)
            tmux.start(shlex.join([*WAVEDECK, "run", "--repo", str(folder)]), folder, env)
            tmux.wait_for("1 w1-a1", "2 w1-a2", "Wave 1 ready", timeout=60)
            tmux.keys("s")
            tmux.wait_for("wavedeck: done api-1 fixed", "wavedeck: done web-1 fixed", timeout=120)
            tmux.wait_for("agents done, run the tests", timeout=60)

            tmux.keys("d")
            tmux.wait_for("Review — wave 1", "@@", "+    return {", timeout=60)
            # The lexer loads in a thread the first time: the colours follow; wait for them.
            runs = coloured_runs(tmux, "internal error", "return", "internal")
            # Tokens of one line in different colours (the keyword, the string): coloured_runs
            # waited for exactly that, and fails the test when it never comes.
            # The changed words have a background of their own (#2c7a3f), the line another.
            assert any("48;2;44;122;63" in codes for codes, _ in runs), runs
            assert any("48;2;22;54;31" in codes for codes, _ in runs), runs

            # w1-a2's hunk back to the wave's start, the index untouched; then undone.
            page = folder / FILES["w1-a2"]
            index = (folder / ".git" / "index").read_bytes()
            tmux.text("}")
            tmux.keys("n")
            tmux.wait_for("w1-a2 Web › src/web/page.py › hunk 1 of 1", timeout=20)
            tmux.keys("x")
            tmux.wait_for("Revert src/web/page.py @@", timeout=20)
            tmux.keys("y")
            wait_file(page, ORIGINAL[FILES["w1-a2"]])
            assert (folder / ".git" / "index").read_bytes() == index
            # The review reads the changes again: the file is gone from it, the cursor on w1-a2.
            tmux.wait_gone("M src/web/page.py", timeout=20)
            tmux.keys("u")
            wait_file(page, FIXED[FILES["w1-a2"]])
            tmux.wait_for("M src/web/page.py", "w1-a2 Web", timeout=20)

            # A comment on w1-a1's changed line, sent as a follow-up.
            tmux.text("{")
            tmux.keys("n", "Down", "Down")
            tmux.wait_for("src/api/server.py › hunk 1 of 1", "› line 2", timeout=20)
            tmux.keys("c")
            tmux.wait_for("Comment on src/api/server.py:2", timeout=20)
            tmux.text(COMMENT)
            tmux.keys("Enter")
            tmux.wait_for(f"💬 you (open): {COMMENT}", timeout=20)
            tmux.keys("R")
            tmux.wait_for("Send 1 comment(s) to w1-a1", timeout=20)
            tmux.keys("y")
            tmux.wait_for("changes requested (follow-up 1)", timeout=30)
            back_to_main(tmux)
            wait_file(folder / FILES["w1-a1"], ANSWERED, timeout=120)
            tmux.wait_for("wavedeck: done api-1 fixed, keeping an error code", timeout=60)
            tmux.wait_for("agents done, run the tests", timeout=60)
            # The real CLI resumed its session with the comment, where, and the quoted line.
            asked = [r for r in server.conversation(key("w1-a1")) if (r.turn or 0) >= 4]
            assert asked, "the follow-up did not reach the model"
            sent = json.dumps(asked[0].body["messages"])
            assert COMMENT in sent and "src/api/server.py:2" in sent
            assert json.dumps('>     return {"error": "internal error"}')[1:-1] in sent

            # Approve both (w1-a1 answered: no question), test, commit.
            tmux.keys("d")
            tmux.wait_for("Review — wave 1", '"code": 500', timeout=60)
            tmux.keys("a")
            tmux.wait_for("w1-a1: approved by", timeout=20)
            tmux.text("}")
            tmux.keys("a")
            tmux.wait_for("w1-a2: approved by", timeout=20)
            back_to_main(tmux)
            tmux.keys("t")
            tmux.wait_for("passed in", timeout=90)
            back_to_main(tmux)
            tmux.keys("c")
            tmux.wait_for("Checkpoint — wave 1", "ready to commit", timeout=30)
            tmux.keys("C-s")
            tmux.wait_for("Wave 1 committed", timeout=60)
        message = commit_message(folder)
        assert "Wavedeck-Reviewed-By: " in message, message  # the control room's git identity
        assert (
            "Wavedeck-Review: 2 of 2 agents approved; 1 change request, 1 answered; 1 comment"
            in (message)
        )
        assert (
            "- w1-a1: changes requested in follow-up 1 (1 comment), answered; approved" in message
        )
        assert committed(folder, FILES["w1-a1"]) == ANSWERED
    finally:
        kill_agents(folder)
