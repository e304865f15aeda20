"""Timing and faults: bursts, single-save latency, a 20,000-file storm, ENOSPC, a deleted root,
and tampering with .git/config and .git/hooks/."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.eventkit import until
from tests.unit.watch.watchkit import Collector, small_plan, write
from wavedeck.agents.events import FileTouched, Notice, ViolationFound
from wavedeck.agents.watch import inotify
from wavedeck.agents.watch.rules import ownership_attributor
from wavedeck.agents.watch.watcher import WorkspaceWatcher

pytestmark = pytest.mark.timeout(90)

GIT = ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"]


def attributed(root: Path, **kw: Any) -> WorkspaceWatcher:
    return WorkspaceWatcher(root, attribute=ownership_attributor(small_plan(), 1), **kw)


@pytest.mark.slow
async def test_a_burst_of_writes_to_one_file_is_one_event(tmp_path: Path) -> None:
    target = tmp_path / "pkg/a/x.py"
    target.parent.mkdir(parents=True)
    async with Collector(attributed(tmp_path)) as c:
        # 60 appends, 5 ms apart (~0.3 s, longer than one debounce batch), by one process
        write(target, repeat=60, gap=0.005)
        write(tmp_path / "zz/sentinel.txt")
        await c.first(ViolationFound, lambda e: e.path == "zz/sentinel.txt")
    assert len(c.touches("pkg/a/x.py")) == 1


@pytest.mark.slow
async def test_a_single_save_is_reported_quickly(tmp_path: Path) -> None:
    delays = []
    async with Collector(attributed(tmp_path, coalesce_s=0.0)) as c:
        for n in range(5):
            write(tmp_path / f"docs/n{n}.md")
            written = time.monotonic()
            await c.touched(f"docs/n{n}.md")
            delays.append(c.times[-1] - written)
    # ~15 ms of quiet ends a batch; watchfiles' default (step 50) would be ~50 ms or more
    assert statistics.median(delays) < 0.2, delays


@pytest.mark.slow
async def test_storm_of_20000_files_never_stalls_the_loop(tmp_path: Path) -> None:
    n_files = 20_000
    stalls: list[tuple[float, float]] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        # each gap of a 5 ms ticker: (wall time lost, CPU the loop's thread spent in the gap)
        last, last_cpu = time.monotonic(), time.thread_time()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            now, cpu = time.monotonic(), time.thread_time()
            stalls.append((now - last - 0.005, cpu - last_cpu))
            last, last_cpu = now, cpu

    storm = (
        "import os, sys\n"
        "root = sys.argv[1]\n"
        f"for i in range({n_files}):\n"
        "    d = os.path.join(root, 'src', f'm{i // 500}')\n"
        "    if i % 500 == 0: os.makedirs(d, exist_ok=True)\n"
        "    open(os.path.join(d, f'f{i}.py'), 'w').write('x')\n"
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # As the control room does at start-up: objects that live for the whole run (modules, the
    # test framework) are moved out of the collector's way, so a full collection triggered by
    # the events this test keeps does not walk them (that pause is not the watcher's).
    gc.collect()
    gc.freeze()
    try:
        await _storm(tmp_path, n_files, storm, ticker, stop, stalls, rss_before)
    finally:
        gc.unfreeze()


async def _storm(
    tmp_path: Path,
    n_files: int,
    storm: str,
    ticker: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    stalls: list[tuple[float, float]],
    rss_before: int,
) -> None:
    async with Collector(attributed(tmp_path)) as c:
        tick = asyncio.create_task(ticker())
        # the writer runs niced: on a shared 2-core machine it must not starve the loop's thread
        proc = await asyncio.create_subprocess_exec(
            "nice", "-n", "19", sys.executable, "-c", storm, str(tmp_path)
        )
        assert await proc.wait() == 0
        write(tmp_path / "zz/sentinel.txt")
        await c.wait_for(
            lambda e: isinstance(e, FileTouched) and e.path == "zz/sentinel.txt", timeout=60
        )
        stop.set()
        await tick
    rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    touched = {e.path for e in c.of(FileTouched)}
    assert len(touched) >= n_files  # every file seen (scans of new folders fill inotify races)
    wall, cpu = max(w for w, _ in stalls), max(c for _, c in stalls)
    print(f"storm: max stall {wall * 1000:.1f} ms (loop thread busy {cpu * 1000:.1f} ms)")
    # the watcher's own work between two yields stays small; the wall-clock bound leaves room
    # for other processes on a shared CI machine (the benchmark checks the 100 ms target)
    assert cpu < 0.05, f"the loop's thread was busy {cpu * 1000:.0f} ms without yielding"
    assert wall < 0.5, f"loop stalled {wall * 1000:.0f} ms"
    assert rss_growth_mb < 150, rss_growth_mb
    assert len(c.violations()) >= n_files  # each unowned file reported once


@pytest.mark.parametrize(
    "limit",
    [
        OSError(errno.ENOSPC, "OS file watch limit reached."),
        OSError(errno.EMFILE, "Too many open files"),
        OSError("OS file watch limit reached. about [...]"),
    ],
    ids=["ENOSPC", "EMFILE", "message"],
)
async def test_a_watch_limit_falls_back_to_polling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: OSError
) -> None:
    real = inotify.open_watch
    calls: list[bool] = []

    async def no_inotify(root: str, **kw: Any) -> AsyncIterator[Any]:
        calls.append(bool(kw["force_polling"]))
        if not kw["force_polling"]:
            raise limit
        async for batch in real(root, **kw):
            yield batch

    monkeypatch.setattr(inotify, "open_watch", no_inotify)
    w = attributed(tmp_path)
    async with Collector(w) as c:
        write(tmp_path / "docs/polled.md")
        v = await c.first(ViolationFound, timeout=15)
    assert calls == [False, True] and w.force_polling
    warning = c.notices()[0]
    assert warning.level == "warning" and warning.fallback == "polling"
    assert "limit" in warning.message
    assert v.path == "docs/polled.md"


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("watch thread unexpectedly received a signal"),
        PermissionError(errno.EACCES, "Permission denied"),  # no limit: polling cannot help
    ],
    ids=["RuntimeError", "EACCES"],
)
async def test_other_watch_errors_end_with_a_notice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    calls: list[bool] = []

    async def broken(root: str, **kw: Any) -> AsyncIterator[Any]:
        calls.append(bool(kw["force_polling"]))
        raise error
        yield set()  # pragma: no cover - makes this an async generator

    monkeypatch.setattr(inotify, "open_watch", broken)
    w = attributed(tmp_path)
    events = [e async for e in w.events()]
    assert [type(e) for e in events] == [Notice] and events[0].level == "error"  # type: ignore[attr-defined]
    assert calls == [False]  # not retried with polling


@pytest.mark.slow
@pytest.mark.parametrize("how", ["delete", "rename"])
async def test_watched_root_deleted_or_moved_stops_cleanly(tmp_path: Path, how: str) -> None:
    root = tmp_path / "repo"
    (root / "pkg/a").mkdir(parents=True)
    (root / "pkg/a/x.py").write_text("x")
    c = Collector(attributed(root))
    async with c:
        if how == "delete":
            subprocess.run(["rm", "-rf", str(root)], check=True, timeout=30)
        else:
            os.rename(root, tmp_path / "moved")
        notice = await c.first(Notice, timeout=10)
        await asyncio.wait_for(c.finished.wait(), 10)
    assert c.error is None
    assert notice.level == "error"
    assert "deleted or moved" in notice.message
    assert not c.violations()  # the deletion is not blamed on agents


async def test_root_missing_at_start_is_a_notice(tmp_path: Path) -> None:
    w = WorkspaceWatcher(tmp_path / "nope")
    events = [e async for e in w.events()]
    assert len(events) == 1 and isinstance(events[0], Notice) and events[0].level == "error"


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    subprocess.run(
        [*GIT, "-C", str(repo), *args], check=True, timeout=30, env=env, capture_output=True
    )


async def test_tamper_with_git_config_and_hooks_is_reported(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "t@example.com")
    (tmp_path / "pkg/a").mkdir(parents=True)
    (tmp_path / "pkg/a/x.py").write_text("x")
    async with Collector(attributed(tmp_path)) as c:
        # our own git traffic (index, objects, refs) never shows up
        git(tmp_path, "add", "--", "pkg/a/x.py")
        git(tmp_path, "commit", "-q", "-m", "one")
        # an agent plants an fsmonitor program: git config rewrites .git/config via a lock file
        git(tmp_path, "config", "core.fsmonitor", "/tmp/evil-canary")
        cfg = await c.first(ViolationFound, lambda e: e.kind == "tamper")
        hook = tmp_path / ".git/hooks/pre-commit"
        write(hook, text="#!/bin/sh\ntouch /tmp/evil-canary\n")
        hk = await c.wait_for(
            lambda e: isinstance(e, ViolationFound) and e.path == ".git/hooks/pre-commit"
        )
    assert cfg.path == ".git/config" and cfg.agent is None
    assert "core.fsmonitor" in cfg.detail and "runs programs" in cfg.detail
    assert isinstance(hk, ViolationFound) and hk.kind == "tamper" and "pre-commit" in hk.detail
    assert not any(e.path.startswith(".git") for e in c.of(FileTouched))
    assert {v.path for v in c.violations()} == {".git/config", ".git/hooks/pre-commit"}


async def test_tamper_watch_can_be_turned_off(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    async with Collector(attributed(tmp_path, watch_git=False)) as c:
        git(tmp_path, "config", "core.sshCommand", "/tmp/evil")
        write(tmp_path / "zz/sentinel.txt")
        await c.first(ViolationFound, lambda e: e.path == "zz/sentinel.txt")
    assert [v.path for v in c.violations()] == ["zz/sentinel.txt"]


async def test_worktree_config_and_attributes_are_tamper_too(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    async with Collector(attributed(tmp_path)) as c:
        write(tmp_path / ".git/config.worktree", text="[core]\n\tfsmonitor = /tmp/evil\n")
        write(tmp_path / ".git/info/attributes", text="* filter=evil\n")
        await c.wait_for(lambda e: len(c.violations()) >= 2)
    found = {v.path: v for v in c.violations()}
    assert set(found) == {".git/config.worktree", ".git/info/attributes"}
    assert "core.fsmonitor" in found[".git/config.worktree"].detail
    assert all(v.kind == "tamper" for v in found.values())


@pytest.mark.slow
async def test_cancelling_the_consumer_ends_cleanly(tmp_path: Path) -> None:
    w = attributed(tmp_path)
    seen: list[object] = []

    async def consume() -> None:
        async for event in w.events():
            seen.append(event)

    task = asyncio.create_task(consume())
    await asyncio.wait_for(w.ready.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)
    # cancellation reaches the watch thread (awatch sets its stop event); a new watcher works
    async with Collector(attributed(tmp_path)) as c:
        write(tmp_path / "docs/after.md")
        await c.touched("docs/after.md")
    assert not seen


async def test_stop_before_start_yields_nothing(tmp_path: Path) -> None:
    w = attributed(tmp_path)
    w.stop()
    assert [e async for e in asyncio_timeout_iter(w)] == []


async def asyncio_timeout_iter(w: WorkspaceWatcher) -> AsyncIterator[object]:
    async with asyncio.timeout(10):
        async for event in w.events():
            yield event


@pytest.mark.slow
async def test_deleted_root_while_polling(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    async with Collector(attributed(root, force_polling=True)) as c:
        write(root / "docs/polled.md")
        await c.touched("docs/polled.md")
        subprocess.run(["rm", "-rf", str(root)], check=True, timeout=30)
        notice = await c.first(Notice, timeout=10)
        await asyncio.wait_for(c.finished.wait(), 10)
    assert c.error is None and isinstance(notice, Notice) and "deleted" in notice.message


def os_watches() -> int:
    """inotify descriptors open in this process (the watcher reads inotify itself, issue #20;
    a notify thread a polling test left behind exits on its own time and is not counted)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:inotify"
        except OSError:
            continue
    return count


async def test_closing_the_stream_releases_the_os_watch(tmp_path: Path) -> None:
    before = os_watches()
    w = attributed(tmp_path)
    async with contextlib.aclosing(w.events()) as stream:
        first = asyncio.ensure_future(stream.__anext__())
        await asyncio.wait_for(w.ready.wait(), 10)
        assert os_watches() >= before + 1
        write(tmp_path / "docs/one.md")
        assert isinstance(await asyncio.wait_for(first, 10), FileTouched)
    # The watches go with the inotify descriptor: no event to await, their count is the fact.
    await until(lambda: os_watches() <= before, 5, "the inotify watches to be released")


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_a_queue_overflow_is_said_and_the_lost_changes_are_rescanned(tmp_path: Path) -> None:
    """Issue #20: the kernel drops events past fs.inotify.max_queued_events (watchfiles drops
    the overflow event too: it has no path). The watcher reads inotify itself, on the event
    loop: a loop kept busy while a writer makes more files than the queue holds overflows it,
    deterministically. The overflow is said, and a rescan reports every file."""
    size = inotify.max_queued_events() or 16384
    n_files = max(20_000, size)  # each new file is two events or more: past the queue
    storm = (
        "import os, sys\n"
        "root = sys.argv[1]\n"
        f"for i in range({n_files}):\n"
        "    open(os.path.join(root, 'src', f'm{i // 1000}', f'f{i}.py'), 'w').write('x')\n"
    )
    for folder in range(n_files // 1000 + 1):  # watched before the storm: every write an event
        (tmp_path / "src" / f"m{folder}").mkdir(parents=True)
    async with Collector(attributed(tmp_path)) as c:
        # The loop (the reader) is blocked while the writer runs: nothing drains the queue.
        subprocess.run([sys.executable, "-c", storm, str(tmp_path)], check=True, timeout=180)
        await c.wait_for(
            lambda e: isinstance(e, Notice) and e.watch_lost == "rescanned", timeout=120
        )
    overflow = [n for n in c.notices() if n.watch_lost == "overflow"]
    assert overflow and overflow[0].level == "warning", c.notices()
    assert f"max_queued_events = {size}" in overflow[0].message
    touched = {e.path for e in c.of(FileTouched)}
    expected = {f"src/m{i // 1000}/f{i}.py" for i in range(n_files)}
    assert expected <= touched, f"{len(expected - touched)} of {n_files} never reported"
