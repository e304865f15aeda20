"""An ended wrapper that nobody has reaped yet (a zombie) is an ended agent, on the host's side.

A remote agent's wrapper is the leader of its own session, its parent the host's PID 1, which in
a container may reap late or never: ``kill -0`` and ``tail --pid`` take a zombie for alive, so
the follow never ended (a control room waited a minute for an agent that had finished). The
host scripts run here as they run on a host (``sh -c``, no SSH needed); the zombie is real: a
child of this test, not waited for until the end.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wavedeck.agents.remote.commands import RemotePaths, status_script
from wavedeck.agents.remote.tailscript import tail_script

pytestmark = pytest.mark.timeout(60)


def _start_time(pid: int) -> int:
    text = Path(f"/proc/{pid}/stat").read_text()
    return int(text.rsplit(") ", 1)[1].split()[19])


@pytest.fixture
def zombie() -> Iterator[tuple[int, int]]:
    """A process that has ended and is not reaped: (pid, start time)."""
    child = subprocess.Popen(["sh", "-c", "exit 0"])
    start = _start_time(child.pid)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child.pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z":
        assert time.monotonic() < deadline, "the child never ended"
        time.sleep(0.01)  # a state of another process: nothing to await
    yield child.pid, start
    child.wait(timeout=10)


@pytest.fixture
def host(tmp_path: Path) -> RemotePaths:
    (tmp_path / ".wavedeck" / "logs").mkdir(parents=True)
    (tmp_path / ".wavedeck" / "run").mkdir()
    (tmp_path / ".wavedeck" / "logs" / "w1-a1.log").write_text("one\ntwo\n")
    return RemotePaths("w1-a1", str(tmp_path))


def _sh(script: str, timeout: float = 20) -> str:
    done = subprocess.run(["sh", "-c", script], capture_output=True, timeout=timeout, check=True)
    return done.stdout.decode()


def test_the_status_of_a_zombie_wrapper_is_dead(host: RemotePaths, zombie: tuple[int, int]) -> None:
    pid, start = zombie
    assert _sh(status_script(host, pid, start)).splitlines()[0] == "dead"
    me = os.getpid()
    assert _sh(status_script(host, me, _start_time(me))).splitlines()[0] == "alive"


def test_the_follow_of_a_zombie_wrapper_ends_with_the_whole_log(
    host: RemotePaths, zombie: tuple[int, int]
) -> None:
    pid, start = zombie
    out = _sh(tail_script(host, 0, pid, start, "never"))
    assert out == "Pone\ntwo\n"


def test_the_follow_ends_once_the_exit_file_is_written_reading_to_the_end(
    host: RemotePaths, tmp_path: Path
) -> None:
    """The wrapper records its end; whatever was written before is sent, then the stream ends,
    even while the wrapper's process is still there."""
    alive = subprocess.Popen(["sleep", "30"])
    try:
        follow = subprocess.Popen(
            ["sh", "-c", tail_script(host, 0, alive.pid, _start_time(alive.pid), "never")],
            stdout=subprocess.PIPE,
        )
        assert follow.stdout is not None
        assert follow.stdout.read(9) == b"Pone\ntwo\n"
        with open(tmp_path / ".wavedeck" / "logs" / "w1-a1.log", "a") as log:
            log.write("three\n")
        (tmp_path / ".wavedeck" / "run" / "w1-a1.exit").write_text("rc 0\n")
        rest, _ = follow.communicate(timeout=20)
        assert rest == b"three\n" and follow.returncode == 0
    finally:
        alive.kill()
        alive.wait()
