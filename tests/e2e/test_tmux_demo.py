"""End to end: the real ``wavedeck demo --fast`` in a tmux pane (200x50), driven by keys.

Five panes appear for wave 1, the stray-file violation shows, ``t`` runs the tests, ``c`` opens
the checkpoint (refused until the operator accepts the stray ``cli/daemon.py``; the test file the
demo's agent also writes is accepted by the sandbox's ``[policy] accept`` glob, named in a
``Wavedeck-Accepted`` trailer), the commit lands with both, and wave 2 starts with ``s``. A
private tmux socket is used and its server is killed at the end.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.tmux_kit import ROOT, WAVEDECK, Tmux, pane_env
from wavedeck.agents.tools.demo import STRAY_PATH as STRAY
from wavedeck.agents.tools.demo import TEST_PATH as TEST_FILE

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
    pytest.mark.timeout(240),
]


MARK = "edited-in-review-e2e"


def review_and_edit(tmux: Tmux, edited: Path) -> None:
    """'d' opens the diff review; 'e' hands the terminal to $EDITOR and takes it back, showing
    the edit in the diff; a second 'e', with the editor gone, is a message, not a crash."""
    tmux.keys("d")
    tmux.wait_for("@@", timeout=30)
    tmux.keys("e")
    tmux.wait_for(f"+# {MARK}", timeout=30)  # back in the review, the edit in the diff
    assert len(edited.read_text().splitlines()) == 1
    tmux.keys("e")
    tmux.wait_for("could not start the editor", timeout=30)
    tmux.keys("Escape")
    tmux.wait_for("s Start", timeout=20)


def test_demo_wave_one_to_wave_two(tmp_path: Path) -> None:
    sandbox = tmp_path / "demo"
    command = shlex.join([*WAVEDECK, "demo", "--dir", str(sandbox), "--fast"])
    tmux = Tmux(joined=True)
    env = pane_env()
    # The operator's editor, for the diff review: it appends a comment to the file it is given,
    # notes the path, then removes itself, so a second 'e' meets an editor that is not there.
    edited = tmp_path / "edited.txt"
    editor = tmp_path / "editor.sh"
    editor.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$1" >> {shlex.quote(str(edited))}\n'
        f'printf "# {MARK}\\n" >> "$1"\nrm -f -- "$0"\n'
    )
    editor.chmod(0o755)
    env.pop("VISUAL", None)
    env["EDITOR"] = str(editor)
    tmux.start(command, ROOT, env)
    try:
        # The header can be drawn a frame before the panes: wait for all five.
        tmux.wait_for("Wave 1 ready", *(f"{n} w1-a{n}" for n in range(1, 6)), timeout=60)
        # The header names the sandbox (and says what comes next).
        tmux.wait_for("wave 1: ready to start", f"demo sandbox {sandbox}", timeout=20)
        tmux.keys("s")
        tmux.wait_for("Wave 1 agents done 29/29", STRAY, "⚠ 1 open", timeout=90)
        review_and_edit(tmux, edited)
        tmux.keys("t")
        tmux.wait_for("Tests — wave 1", "passed in", timeout=90)
        tmux.keys("Escape")
        tmux.wait_for("s Start", timeout=20)  # back on the main screen (its key bar)
        tmux.keys("c")
        screen = tmux.wait_for("Checkpoint — wave 1", "refused", STRAY, timeout=30)
        # Only the daemon stops the gate: the test file the same agent wrote is accepted by
        # the sandbox's [policy] accept glob, listed for the commit with that reason.
        flat = " ".join(screen.split())  # the refusal may wrap
        refusal = flat[flat.index("refused:") : flat.index("accept each")]
        assert STRAY in refusal and TEST_FILE not in refusal, refusal
        assert TEST_FILE in screen and "(accepted: policy" in screen
        tmux.keys("a")
        tmux.wait_for("fine?", timeout=20)
        tmux.keys("the daemon really lives under cli/", "Enter")
        # The operator's reason for the daemon, next to the policy's for the test file.
        tmux.wait_for("ready to commit", "accepted: the daemon", "(accepted: policy", timeout=30)
        tmux.keys("C-s")
        screen = tmux.wait_for("Wave 1 committed", "Wave 2 ready", "1 w2-a1", timeout=30)
        log = subprocess.run(
            ["git", "-C", str(sandbox), "log", "--format=%s"], capture_output=True, text=True
        ).stdout
        assert log.splitlines()[0].startswith("Wave 1")
        message = subprocess.run(
            ["git", "-C", str(sandbox), "log", "-1", "--format=%B"],
            capture_output=True,
            text=True,
        ).stdout
        trailers = [line for line in message.splitlines() if line.startswith("Wavedeck-Accepted:")]
        assert any(TEST_FILE in t and "policy accept" in t for t in trailers), message
        assert any(STRAY in t and "the daemon really lives under cli/" in t for t in trailers), (
            message
        )
        files = subprocess.run(
            ["git", "-C", str(sandbox), "show", "--name-only", "--format=", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.split()
        assert STRAY in files and TEST_FILE in files  # both accepted, both committed
        # The edit made from the diff review is part of the checkpoint.
        [path] = edited.read_text().splitlines()
        committed = subprocess.run(
            ["git", "-C", str(sandbox), "show", f"HEAD:{Path(path).relative_to(sandbox)}"],
            capture_output=True,
            text=True,
        ).stdout
        assert f"# {MARK}" in committed
        tmux.keys("s")
        tmux.wait_for("Wave 2 running", timeout=30)
        tmux.keys("q")
        # With agents still running, q asks (leave them running, or stop all); otherwise it quits.
        deadline = time.monotonic() + 60
        while "^p Commands" in (screen := tmux.screen()):  # the footer goes when the app exits
            if "Quit the control room?" in screen:
                tmux.keys("s")  # stop all: the test leaves nothing behind
            assert time.monotonic() < deadline, f"the control room did not exit:\n{screen}"
            time.sleep(0.3)
        # Back in the shell: where the sandbox is kept, and how to reopen it.
        tmux.wait_for(f"demo sandbox kept at {sandbox}; reopen with: cd {sandbox} && wavedeck")
    finally:
        tmux.kill()


def test_demo_on_an_80x24_terminal(tmp_path: Path) -> None:
    """The smallest layout: the header keeps the running count and the sandbox, the key bar keeps
    help, quit and the palette, help says it scrolls, and a finished wave says what comes next."""
    sandbox = tmp_path / "small"
    command = shlex.join([*WAVEDECK, "demo", "--dir", str(sandbox), "--fast"])
    env = pane_env()
    tmux = Tmux(80, 24, joined=True)
    tmux.start(command, ROOT, env)
    try:
        screen = tmux.wait_for("wave 1: ready to start · 0 running · demo sandbox", timeout=60)
        assert all(key in screen.splitlines()[-1] for key in ("? Help", "q Quit", "^p Commands"))
        tmux.keys("s")
        tmux.wait_for("wave 1: agents done, run the tests · 0 running", timeout=90)
        tmux.keys("?")
        tmux.wait_for("wavedeck — keys", "scroll", timeout=20)
        tmux.keys("Escape")
        deadline = time.monotonic() + 20
        while "wavedeck — keys" in (screen := tmux.screen()):  # a key sent too soon after
            assert time.monotonic() < deadline, screen  # escape would read as alt+key
            time.sleep(0.2)
        # Back; the key bar keeps what is possible now (tests), not start, greyed out.
        assert "t Tests" in screen and "s Start" not in screen
        tmux.keys("q")  # nothing runs: no question
        tmux.wait_for("demo sandbox kept at", timeout=30)
    finally:
        tmux.kill()
