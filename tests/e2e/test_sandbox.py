"""The kernel sandbox end to end: a generic agent (a shell script) run by `wavedeck run
--headless` tries every escape the issue lists; the real kernel refuses each one.

Each escape is one shell command (``sandbox_kit.ESCAPES``); the script prints ``REFUSED name`` or
``ESCAPED name``. The test holds: every escape refused, every target file unchanged (in the
repository, in the throwaway HOME, in /etc), the agent's own edit made, and the wave's checkpoint
holding exactly that edit with a ``Wavedeck-Sandbox`` trailer naming the Landlock ABI.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import sandbox_kit as kit
from tests.e2e.headless_kit import events, kill_agents, run

pytestmark = [
    pytest.mark.slow,  # end-to-end runs of the wavedeck command
    pytest.mark.skipif(kit.landlock_abi() < 3, reason="needs a kernel with Landlock ABI >= 3"),
]
RUN = ("run", "--headless", "--all", "--yes", "--json")


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "repo"
    yield path
    kill_agents(path)
    kit.cleanup_etc()


def _dispatch(tmp: Path, escapes: dict[str, str] | None = None) -> list[str]:
    """``[agent] command``: w1-a1 runs the escape script, w1-a2 only reports done."""
    escape = kit.escape_script(tmp, escapes)
    other = tmp / "other.sh"
    other.write_text("#!/bin/sh\necho 'wavedeck: done web-1 nothing to do'\n", "utf-8")
    other.chmod(0o755)
    run_sh = tmp / "agent.sh"
    run_sh.write_text(
        f'#!/bin/sh\nif [ "$1" = w1-a1 ]; then exec {escape}; else exec {other}; fi\n', "utf-8"
    )
    run_sh.chmod(0o755)
    return [str(run_sh), "{agent_id}"]


def _pane(evs: list[dict[str, object]], agent: str) -> list[str]:
    lines: list[str] = []
    for e in evs:
        if e.get("agent") != agent:
            continue
        if e["event"] == "agent_output":
            lines.append(str(e["line"]))
    return lines


@pytest.mark.timeout(120)
def test_a_generic_agent_is_refused_every_escape_and_commits_only_its_own_edit(
    tmp_path: Path, folder: Path
) -> None:
    command = _dispatch(tmp_path)
    kit.make_repo(folder, {"command": command})
    before = kit.snapshot(folder)
    done = run(folder, *RUN, timeout=100)
    evs = events(done.stdout)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    pane = _pane(evs, "w1-a1")
    for name in kit.ESCAPES:
        assert f"REFUSED {name}" in pane, (name, pane)
        assert f"ESCAPED {name}" not in pane
    # The agent's own error, as it printed it, is in its pane.
    assert any("Permission denied" in line for line in pane), pane
    assert "TMPDIR writable" in pane
    assert kit.snapshot(folder) == before
    assert kit.changed_files(folder) == [kit.OWN]
    assert "internal error" in (folder / kit.OWN).read_text("utf-8")
    message = kit.commit_message(folder)
    assert "Wavedeck-Sandbox: landlock ABI" in message, message
    status = [e for e in evs if e["event"] == "sandbox_status" and e.get("agent") is None]
    assert [s["state"] for s in status] == ["landlock"], status
    # Each refusal the agent's output names is an event, counted for its pane.
    denied = {(e["tool"], e["path"]) for e in evs if e["event"] == "agent_denied"}
    home = kit.home_of(folder)
    for path in (
        kit.OTHER,
        "src/web/planted.py",
        ".git/hooks/pre-commit",
        ".git/config",
        f"{home}/.bashrc",
        f"{home}/.ssh/authorized_keys",
        kit.ETC,
        "planted.txt",
    ):
        assert any(p == path for _, p in denied), (path, denied)


@pytest.mark.timeout(120)
def test_with_the_sandbox_off_the_same_escapes_land_and_the_watcher_sees_them(
    tmp_path: Path, folder: Path
) -> None:
    """The control: without the kernel's help the same script writes another agent's file
    (so the refusals above are the sandbox's doing, not the script's)."""
    command = _dispatch(tmp_path)
    kit.make_repo(folder, {"command": command, "sandbox": "off"})
    done = run(folder, *RUN, timeout=100)
    evs = events(done.stdout)
    pane = _pane(evs, "w1-a1")
    assert "ESCAPED other-agent-file" in pane, pane
    assert "hacked" in (folder / "src/web/renamed.py").read_text("utf-8")  # written, then moved
    assert done.returncode == 1  # the checkpoint is refused: files outside the plan changed
    status = [e for e in evs if e["event"] == "sandbox_status" and e.get("agent") is None]
    assert [s["state"] for s in status] == ["off"]


@pytest.mark.timeout(120)
def test_in_worktree_mode_an_agent_writes_only_its_worktrees_own_file(
    tmp_path: Path, folder: Path
) -> None:
    """Each agent works in its own worktree: the same rules hold there, and the main tree
    (its files, its .git) is out of reach too; the checkpoint collects only the owned edit."""
    escapes = {**kit.ESCAPES, **kit.MAIN_TREE_ESCAPES}
    escapes.pop("git-hook")  # a worktree's .git is a file: no hooks folder to aim at
    escapes.pop("git-config")
    command = _dispatch(tmp_path, escapes)
    kit.make_repo(folder, {"command": command}, workspace="worktree")
    before = kit.snapshot(folder)
    done = run(folder, *RUN, timeout=100)
    evs = events(done.stdout)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    pane = _pane(evs, "w1-a1")
    for name in escapes:
        assert f"REFUSED {name}" in pane, (name, pane)
    assert kit.snapshot(folder) == before
    assert kit.changed_files(folder) == [kit.OWN]
    assert "internal error" in (folder / kit.OWN).read_text("utf-8")
