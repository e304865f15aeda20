"""Work in and out of a real SSH host (``wavedeck.agents.remote.sync``): an agent's changes come
back to the local tree as a patch, once, even across a dropped connection and a restart; a
conflicting local edit keeps them on the host with a notice; the next wave's base reaches the host."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.unit.remote.faultkit import Proxy
from tests.unit.remote.sshkit import Sshd, git, numbered
from wavedeck.agents.remote.runner import RemoteRunner
from wavedeck.agents.runtypes import AgentHandle, LaunchSpec

pytestmark = [pytest.mark.timeout(90), pytest.mark.sshd]
PY = sys.executable


async def collect(runner: RemoteRunner, handle: AgentHandle, offset: int = 0) -> list[str]:
    lines: list[str] = []
    async for chunk in runner.follow(handle, offset):
        lines.extend(chunk.lines)
    return lines


async def test_end_to_end_changes_come_back_as_a_patch(
    sshd: Sshd,
    repo: Path,
    host_clone: Path,
    fake_agent: Path,
    proxy: Callable[[int], Awaitable[Proxy]],
    tmp_path: Path,
) -> None:
    (repo / "pkg" / "gone.py").write_text("x = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "more")
    p = await proxy(sshd.port)
    touched: list[tuple[str, str, str]] = []
    r = RemoteRunner(
        "loop",
        sshd.cfg(host_clone, port=p.port),
        repo=repo,
        on_touched=lambda a, path, change: touched.append((a, path, change)),
    )
    gate = tmp_path / "gate"
    argv = (
        PY,
        str(fake_agent),
        "--lines",
        "150",
        "--gate",
        str(gate),
        "--after",
        "150",
        "--write",
        "pkg/a.py=A = 2",
        "--write",
        "pkg/new/b.py=B = 1",
        "--delete",
        "pkg/gone.py",
        "--binary",
        "pkg/blob.bin",
    )
    h = await r.launch(LaunchSpec("w1-a3", argv, repo))
    seen: list[str] = []
    async for chunk in r.follow(h, 0):
        seen.extend(chunk.lines)
        if len(seen) >= 100 and not gate.exists():
            p.reset()  # the SSH connection dies mid-run
            gate.touch()
    assert numbered(seen) == list(range(1, 301))
    assert (repo / "pkg" / "a.py").read_text() == "A = 2\n"
    assert (repo / "pkg" / "new" / "b.py").read_text() == "B = 1\n"
    assert not (repo / "pkg" / "gone.py").exists()
    assert (repo / "pkg" / "blob.bin").read_bytes() == bytes(range(256)) * 4
    assert sorted(r.applied["w1-a3"]) == sorted(
        ["pkg/a.py", "pkg/new/b.py", "pkg/gone.py", "pkg/blob.bin"]
    )
    assert ("w1-a3", "pkg/new/b.py", "added") in touched
    assert ("w1-a3", "pkg/gone.py", "deleted") in touched
    # The local index is untouched: the changes are in the working tree, for review.
    assert git(repo, "diff", "--cached", "--name-only") == ""
    # A second follow (a restart) does not apply the patch twice.
    await collect(r, h, 0)
    assert (repo / "pkg" / "a.py").read_text() == "A = 2\n"
    await r.close()
    assert (
        subprocess.run(
            ["git", "-C", str(host_clone), "status", "--porcelain"], capture_output=True, text=True
        ).stdout
        == ""
    )
    assert os.path.isdir(host_clone / ".wavedeck" / "worktrees" / "w1-a3")


async def test_conflicting_local_edit_keeps_the_changes_on_the_host_with_a_notice(
    sshd: Sshd, repo: Path, host_clone: Path, fake_agent: Path, tmp_path: Path
) -> None:
    from wavedeck.agents.events import Event, Notice

    gate = tmp_path / "gate"
    events: list[Event] = []
    r = RemoteRunner("loop", sshd.cfg(host_clone), repo=repo, on_event=events.append)
    argv = (PY, str(fake_agent), "--write", "pkg/a.py=A = 'remote'", "--gate", str(gate))
    h = await r.launch(LaunchSpec("w1-a1", argv, repo))
    (repo / "pkg" / "a.py").write_text("A = 'local'\n")  # someone edits the same file here
    gate.touch()
    assert await collect(r, h) == []
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert len(notices) == 1 and "its changes stay on loop" in notices[0]
    assert (repo / "pkg" / "a.py").read_text() == "A = 'local'\n"
    worktree = host_clone / ".wavedeck" / "worktrees" / "w1-a1" / "pkg" / "a.py"
    assert worktree.read_text() == "A = 'remote'\n"
    await r.close()


async def test_next_wave_base_reaches_the_host_and_resets_reused_worktrees(
    sshd: Sshd, repo: Path, host_clone: Path
) -> None:
    first = RemoteRunner("loop", sshd.cfg(host_clone), repo=repo, bring_back=False)
    h = await first.launch(LaunchSpec("w1-a1", ("sh", "-c", "echo junk > stray.txt"), repo))
    assert await collect(first, h) == []
    await first.close()
    (repo / "README").write_text("wave 2 base\n")
    git(repo, "commit", "-q", "-am", "checkpoint of wave 1")
    second = RemoteRunner("loop", sshd.cfg(host_clone), repo=repo, bring_back=False)
    show = ("sh", "-c", "cat README; ls stray.txt 2>/dev/null || echo clean")
    for agent in ("w1-a1", "w2-a1"):  # a reused worktree and a new one
        h = await second.launch(LaunchSpec(agent, show, repo))
        assert await collect(second, h) == ["wave 2 base", "clean"]
    await second.close()


async def test_a_restarted_agent_brings_its_new_work_back_too(
    sshd: Sshd, repo: Path, host_clone: Path, fake_agent: Path
) -> None:
    r = RemoteRunner("loop", sshd.cfg(host_clone), repo=repo)
    first = (PY, str(fake_agent), "--write", "pkg/a.py=A = 2")
    await collect(r, await r.launch(LaunchSpec("w1-a1", first, repo)))
    assert (repo / "pkg" / "a.py").read_text() == "A = 2\n"
    again = (PY, str(fake_agent), "--write", "pkg/b.py=B = 3")  # the operator restarts it
    await collect(r, await r.launch(LaunchSpec("w1-a1", again, repo)))
    assert (repo / "pkg" / "b.py").read_text() == "B = 3\n"
    assert r.applied["w1-a1"] == ["pkg/b.py"]
    await r.close()


async def test_a_restart_resumes_on_the_local_tree_and_its_edit_of_the_same_file_comes_back(
    sshd: Sshd, repo: Path, host_clone: Path, fake_agent: Path
) -> None:
    """R12: a relaunch is seeded with the local changes since the base; the new run's patch is
    measured from them, so it applies on them, and others' local changes are neither reported
    as the agent's nor brought back again."""
    touched: list[tuple[str, str, str]] = []
    r = RemoteRunner(
        "loop", sshd.cfg(host_clone), repo=repo, on_touched=lambda *t: touched.append(t)
    )
    first = (PY, str(fake_agent), "--write", "pkg/a.py=A = 2")
    await collect(r, await r.launch(LaunchSpec("w1-a1", first, repo)))
    assert (repo / "pkg" / "a.py").read_text() == "A = 2\n"
    (repo / "other.txt").write_text("another agent's file\n")  # not w1-a1's, here only
    touched.clear()
    show = "cat pkg/a.py other.txt && printf 'A = 5\\n' > pkg/a.py"
    h = await r.launch(LaunchSpec("w1-a1", ("sh", "-c", show), repo))
    # It resumed on the local tree: its own first edit and the other file are there.
    assert await collect(r, h) == ["A = 2", "another agent's file"]
    assert (repo / "pkg" / "a.py").read_text() == "A = 5\n"  # applied on "A = 2"
    assert r.applied["w1-a1"] == ["pkg/a.py"]
    assert (repo / "other.txt").read_text() == "another agent's file\n"
    assert not [t for t in touched if t[1] == "other.txt"]
    assert (host_clone / ".wavedeck" / "run" / "w1-a1.applied").exists()
    await r.close()


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_a_large_change_comes_back_in_bounded_memory(
    sshd: Sshd, repo: Path, host_clone: Path
) -> None:
    """Issue #20: the patch a remote agent's changes come back in is copied from the SSH channel
    into a file a chunk at a time, never joined into one object. Traced allocations count every
    byte Python holds: reading the command's whole output (as before) peaked at 2.6x the change
    (65 MB for 24 MiB)."""
    size = 24 * 1024 * 1024  # random: the binary patch is larger still (base85)
    r = RemoteRunner("loop", sshd.cfg(host_clone), repo=repo)
    script = f"import os; open('pkg/big.bin', 'wb').write(os.urandom({size}))"
    h = await r.launch(LaunchSpec("w1-a1", (PY, "-c", script), repo))
    tracemalloc.start()
    try:
        await collect(r, h)  # followed to its end: the changes come back
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    await r.close()
    assert (repo / "pkg" / "big.bin").stat().st_size == size
    assert r.applied["w1-a1"] == ["pkg/big.bin"]
    assert peak < size // 4, f"peak {peak} bytes for a {size}-byte change"
