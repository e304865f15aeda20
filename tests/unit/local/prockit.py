"""Helpers for the process-layer tests: sim-agent argv with a unique token, polling, cleanup;
and the fixtures the local and tools tests share (a repo folder, a runner, a token)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from wavedeck.agents.local.runner import LocalRunner
from wavedeck.agents.runtypes import AgentHandle, LaunchSpec, LogChunk

ROOT = Path(__file__).resolve().parents[3]


def new_token() -> str:
    return f"wdtok-{uuid.uuid4().hex[:12]}"


def sim_argv(token: str, *flags: str) -> tuple[str, ...]:
    """The simulated agent, with ``token`` in its command line (``--id``)."""
    return (
        sys.executable,
        "-m",
        "wavedeck.agents.tools.sim",
        "--id",
        token,
        "--speed",
        "0",
        *flags,
    )


def pids_with(token: str) -> list[int]:
    """Live, non-zombie pids whose command line contains ``token`` (like ``pgrep -f``)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
            state = Path(f"/proc/{name}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if token.encode() in cmdline and state not in (b"Z", b"X"):
            found.append(int(name))
    return found


def kill_pids(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


async def await_until(condition: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


async def launch(
    runner: LocalRunner,
    repo: Path,
    agent_id: str,
    argv: tuple[str, ...],
    stdin_file: Path | None = None,
) -> AgentHandle:
    # The editable install finds wavedeck.agents.tools.sim from any working directory.
    spec = LaunchSpec(agent_id=agent_id, argv=argv, cwd=repo, stdin_file=stdin_file)
    return await runner.launch(spec)


async def collect(runner: LocalRunner, handle: AgentHandle, offset: int = 0) -> list[LogChunk]:
    return [chunk async for chunk in runner.follow(handle, offset)]


def log_text(handle: AgentHandle) -> str:
    return Path(handle.log_path).read_text(encoding="utf-8", errors="replace")


async def wait_for_log(handle: AgentHandle, needle: str, timeout: float = 20.0) -> None:
    async def seen() -> bool:
        try:
            return needle in log_text(handle)
        except OSError:
            return False

    await await_until(seen, timeout, f"{needle!r} in {handle.log_path}")


def flood_numbers(lines: list[str], agent: str) -> list[int]:
    prefix = f"flood {agent} "
    return [int(line[len(prefix) :]) for line in lines if line.startswith(prefix)]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    return path


@pytest.fixture
def runner(repo: Path) -> LocalRunner:
    return LocalRunner(repo / ".wavedeck")


@pytest.fixture
def token() -> Iterator[str]:
    """A unique string for spawned command lines; whatever still carries it is killed after."""
    value = new_token()
    yield value
    kill_pids(pids_with(value))
