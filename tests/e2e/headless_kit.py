"""Helpers for the headless end-to-end tests: demo sandboxes, `wavedeck` subprocesses, cleanup.

Every agent process a test starts carries the sandbox path (unique per test) in its command line
(its prompt file lives there), so the tests find them with ``pgrep -f`` and kill them by pid.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.sandboxkit import configure
from wavedeck.agents.faults import ENV
from wavedeck.agents.local import procinfo

ROOT = Path(__file__).resolve().parents[2]


def wavedeck_argv(*args: str) -> list[str]:
    """Run the `wavedeck` entry point with this Python (works without the script on PATH)."""
    return [sys.executable, "-c", "from wavedeck.tui.cli.main import main; main()", *args]


def env() -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = str(ROOT) + os.pathsep + out.get("PYTHONPATH", "")
    return out


def make_demo(folder: Path, *, speed: str | None = None) -> Path:
    """A `wavedeck demo --no-ui --fast` sandbox; ``speed`` overrides the agents' --speed."""
    done = subprocess.run(
        wavedeck_argv("demo", "--dir", str(folder), "--no-ui", "--fast"),
        capture_output=True,
        text=True,
        timeout=60,
        env=env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(folder)
    return configure(folder, speed=speed)


def set_extra_args(folder: Path, agent: str, args: list[str]) -> None:
    """Replace the sandbox's per-agent extra arguments with ``agent = args``."""
    configure(folder, extra={agent: args})


def run(
    folder: Path, *args: str, timeout: float = 90, fault: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`wavedeck ARGS` in ``folder``; ``fault``: the fault point where it kills itself."""
    return subprocess.run(
        wavedeck_argv(*args),
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**env(), **({ENV: fault} if fault else {})},
        check=False,
    )


def start(folder: Path, out: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start `wavedeck ARGS` in ``folder`` with stdout to ``out`` (stderr to ``out.err``)."""
    return subprocess.Popen(
        wavedeck_argv(*args),
        cwd=folder,
        stdout=out.open("wb"),
        stderr=out.with_suffix(".err").open("wb"),
        stdin=subprocess.DEVNULL,
        env=env(),
    )


def events(text: str) -> list[dict[str, Any]]:
    """The JSON events of a `--json` run (complete lines only)."""
    out = []
    for line in text.splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll the file system for ``predicate`` until ``timeout`` (no event exists to await)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_running(out: Path, count: int = 5, timeout: float = 60) -> None:
    """Wait until the JSON events written to ``out`` show ``count`` agents running."""
    wait_for(
        lambda: (
            sum(
                e["event"] == "agent_state_changed" and e["state"] == "running"
                for e in file_events(out)
            )
            == count
        ),
        timeout,
        f"{count} running agents",
    )


def file_events(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    complete = text[: text.rfind("\n") + 1]
    return events(complete)


def state(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / ".wavedeck" / "state.json").read_text("utf-8"))
    return data


def agent_pids(folder: Path) -> list[int]:
    """Pids of processes whose command line names the sandbox (agents and their wrappers)."""
    done = subprocess.run(
        ["pgrep", "-f", str(folder / ".wavedeck")], capture_output=True, text=True, check=False
    )
    return [int(p) for p in done.stdout.split()]


def alive_handles(folder: Path) -> dict[str, int]:
    """Agents recorded in the state whose process (pid + start time) still runs."""
    out = {}
    for agent, rec in state(folder).get("agents", {}).items():
        handle = rec.get("handle")
        if handle and procinfo.is_same_process(handle["pid"], handle["start_time"]):
            out[agent] = handle["pid"]
    return out


def kill_agents(folder: Path) -> None:
    """Kill every agent of the sandbox (by recorded process group, then by pid)."""
    path = folder / ".wavedeck" / "state.json"
    if path.exists():
        for rec in json.loads(path.read_text("utf-8")).get("agents", {}).values():
            handle = rec.get("handle")
            if handle and procinfo.is_same_process(handle["pid"], handle["start_time"]):
                try:
                    os.killpg(handle["pgid"], signal.SIGKILL)
                except ProcessLookupError:
                    pass
    for pid in agent_pids(folder):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def git_log(folder: Path) -> list[str]:
    done = subprocess.run(
        ["git", "log", "--format=%H%x00%B%x01"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    )
    return [c.strip("\n") for c in done.stdout.split("\x01") if c.strip()]
