"""End to end: taking over a real Claude Code session by hand, in tmux, locally and over SSH.

The two-agent plan of ``real_cli_kit`` runs its wave headless with the real Claude Code CLI
against the scripted model (``takeover_kit.run_wave``: the wave stays open, as the control room
leaves it). Then, in a tmux pane:

- ``a`` on agent 1 in the control room suspends it and shows Claude's own interactive screen
  (its resumed history) in the same pane; a message typed there reaches the model (the scripted
  server records it) and Claude's answer (a write of its own file) lands; ``/exit`` brings the
  control room back with the agent's pane showing the record, its usage counted, the record in
  its log;
- ``wavedeck attach w1-a1`` in a second pane does the same beside the running control room,
  which refuses to take the agent over meanwhile and shows the record once it is back;
- with agent 1 on an SSH host (the test's sshd on 127.0.0.1), ``a`` runs Claude there over
  ``ssh -t`` in its worktree; its edit comes back into the local tree; a second take-over whose
  connection is killed returns to the control room, which says the connection dropped.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.agent_cli_kit import require
from tests.e2e.headless_kit import kill_agents
from tests.e2e.model_server import ModelServer, Text
from tests.e2e.real_cli_kit import FILES, key, make_sandbox
from tests.e2e.takeover_kit import ANSWER, BY_HAND, claude_ready, run_wave, script
from tests.e2e.tmux_kit import WAVEDECK, Tmux, pane_env
from tests.unit.remote.sshkit import Sshd, git, make_clone, sshd

SAID = "please mark it as fixed by hand"
CLAUDE = "? for shortcuts"  # the status line under Claude Code's own prompt
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]
__all__ = ["sshd"]  # the fixture, used by the SSH test


@pytest.fixture
def tmux() -> Iterator[Callable[[], Tmux]]:
    """Makes tmux panes (each on its own private socket), killed at the end."""
    made: list[Tmux] = []

    def make() -> Tmux:
        made.append(Tmux())
        return made[-1]

    yield make
    for pane in made:
        pane.kill()


def _state(repo: Path) -> dict[str, object]:
    data = json.loads((repo / ".wavedeck" / "state.json").read_text("utf-8"))
    return data["agents"]["w1-a1"]  # type: ignore[no-any-return]


def _heard(server: ModelServer, text: str) -> bool:
    """The scripted model received ``text`` in agent 1's conversation."""
    return any(text in json.dumps(r.body) for r in server.requests if r.key == key("w1-a1"))


def _take_over_and_leave(pane: Tmux, server: ModelServer) -> None:
    """In Claude's own screen: its resumed history, a message, its answer, then /exit."""
    pane.wait_for(CLAUDE, "wavedeck: done api-1 fixed", gone=("Wave 1 running",), timeout=60)
    pane.type(SAID)
    pane.wait_for(ANSWER, timeout=60)
    assert _heard(server, SAID)
    pane.type("/exit")


@pytest.mark.timeout(300)
def test_a_takes_over_claude_in_the_control_room_and_hands_it_back(
    tmux: Callable[[], Tmux], tmp_path: Path
) -> None:
    claude = require("claude")
    repo = tmp_path / "repo"
    served = {k: v for a in FILES for k, v in script(repo, a).items()}
    pane: Tmux = tmux()
    try:
        with ModelServer(served) as server:
            make_sandbox(repo, claude, server.url)
            assert asyncio.run(run_wave(repo)) == {"w1-a1": "succeeded", "w1-a2": "succeeded"}
            claude_ready(repo.parent / "repo-home", repo)
            before = _state(repo)
            pane.start(shlex.join([*WAVEDECK, "run", "--repo", str(repo)]), repo, pane_env())
            pane.wait_for("1 w1-a1", "2 w1-a2", "agents done", timeout=60)
            pane.keys("1", "a")
            _take_over_and_leave(pane, server)
            back = pane.wait_for(
                "1 w1-a1", "── wavedeck: attached by the operator (", f"you wrote: {SAID}",
                "files changed: src/api/server.py", timeout=60,
            )  # fmt: skip
            assert "usage: " in back and "(from the claude transcript)" in back
            assert (repo / FILES["w1-a1"]).read_text("utf-8").startswith(BY_HAND)
            log = (repo / ".wavedeck" / "logs" / "w1-a1.log").read_text("utf-8")
            assert "── wavedeck: attached by the operator (" in log
            pane.keys("q")
            pane.wait_for("WAVEDECK-EXIT=0", timeout=30)
            after = _state(repo)
            assert after["input_tokens"] > before["input_tokens"]  # type: ignore[operator]
            assert after["cost_usd"] > before["cost_usd"]  # type: ignore[operator]
    finally:
        kill_agents(repo)


@pytest.mark.timeout(300)
def test_wavedeck_attach_beside_the_running_control_room(
    tmux: Callable[[], Tmux], tmp_path: Path
) -> None:
    claude = require("claude")
    repo = tmp_path / "repo"
    served = {k: v for a in FILES for k, v in script(repo, a).items()}
    room: Tmux = tmux()
    shell: Tmux = tmux()
    try:
        with ModelServer(served) as server:
            make_sandbox(repo, claude, server.url)
            asyncio.run(run_wave(repo))
            claude_ready(repo.parent / "repo-home", repo)
            room.start(shlex.join([*WAVEDECK, "run", "--repo", str(repo)]), repo, pane_env())
            room.wait_for("1 w1-a1", "agents done", timeout=60)
            # The control room holds the state's lock; attach does not need it.
            shell.start(shlex.join([*WAVEDECK, "attach", "w1-a1"]), repo, pane_env())
            shell.wait_for(CLAUDE, "wavedeck: done api-1 fixed", timeout=60)
            room.keys("1", "a")  # meanwhile the control room may not take it over too
            room.wait_for("taken over in another terminal", timeout=30)
            _take_over_and_leave(shell, server)
            done = shell.wait_for("WAVEDECK-EXIT=0", timeout=60)  # the CLI's status
            assert "recorded by the control room running on this repository" in done
            # The control room applies the report: the record in the agent's pane.
            room.wait_for(
                "── wavedeck: attached by the operator (", f"you wrote: {SAID}", timeout=30
            )
            assert (repo / FILES["w1-a1"]).read_text("utf-8").startswith(BY_HAND)
    finally:
        kill_agents(repo)


def _pty_sessions(server: Sshd) -> list[int]:
    """The test sshd's processes serving a terminal session (``sshd: USER@pts/N``): found
    among its own descendants, by pid (never by name across the machine)."""
    assert server.proc is not None
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_bytes()
            except OSError:
                continue
            parent = int(stat[stat.rfind(b")") + 2 :].split()[1])
            children.setdefault(parent, []).append(int(name))
    found, todo = [], [server.proc.pid]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            todo.append(child)
            try:
                title = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"sshd") and b"@pts/" in title:
                found.append(child)
    return found


@pytest.mark.sshd
@pytest.mark.timeout(400)
def test_a_takes_over_an_agent_on_an_ssh_host(
    tmux: Callable[[], Tmux], tmp_path: Path, sshd: Sshd
) -> None:
    claude = require("claude")
    repo = tmp_path / "repo"
    clone = make_clone(tmp_path / "host-clone")
    host_tree = clone / ".wavedeck" / "worktrees" / "w1-a1"
    served = {**script(repo, "w1-a1", home_repo=host_tree), **script(repo, "w1-a2")}
    served[key("w1-a1")] = [*served[key("w1-a1")], [Text("Still here.")]]
    pane: Tmux = tmux()
    try:
        with ModelServer(served) as server:
            make_sandbox(repo, claude, server.url)
            cfg = sshd.cfg(clone, agents=["w1-a1"])
            section = "\n[hosts.loop]\n" + "".join(
                f"{k} = {json.dumps(v)}\n"
                for k, v in cfg.model_dump().items()
                if v not in (None, [])
            )
            config = repo / "wavedeck.toml"
            config.write_text(config.read_text("utf-8") + section, "utf-8")
            git(repo, "-c", "user.name=t", "-c", "user.email=t@e.invalid", "commit", "-qam", "host")
            assert asyncio.run(run_wave(repo)) == {"w1-a1": "succeeded", "w1-a2": "succeeded"}
            claude_ready(repo.parent / "repo-home", repo, host_tree)
            pane.start(shlex.join([*WAVEDECK, "run", "--repo", str(repo)]), repo, pane_env())
            pane.wait_for("1 w1-a1", "loop: connected", "agents done", timeout=60)
            pane.keys("1", "a")
            _take_over_and_leave(pane, server)
            pane.wait_for(
                "1 w1-a1", "── wavedeck: attached by the operator (", f"you wrote: {SAID}",
                "the CLI ended on loop: exit 0", timeout=90,
            )  # fmt: skip
            # Its edit on the host came back into the local tree, as after a remote run.
            assert (repo / FILES["w1-a1"]).read_text("utf-8").startswith(BY_HAND)
            host_log = (clone / ".wavedeck" / "logs" / "w1-a1.log").read_text("utf-8")
            assert "── wavedeck: attached by the operator (" in host_log
            # Again, and the connection drops mid-session: back to the control room, said.
            pane.keys("a")
            pane.wait_for(CLAUDE, gone=("Wave 1 running",), timeout=60)
            pane.type("are you there?")
            pane.wait_for("Still here.", timeout=60)
            sessions = _pty_sessions(sshd)
            assert sessions, "no terminal session on the test sshd"
            for pid in sessions:
                os.kill(pid, signal.SIGKILL)
            pane.wait_for("1 w1-a1", "the connection dropped", timeout=60)
    finally:
        kill_agents(repo)
