"""B14: a wall-clock jump changes no duration: stop grace, test timeouts, reconnect backoff, log end.

The wall clock is replaced in-process by one that jumps an hour (forwards, or backwards) at every
reading, so any duration measured with ``time.time()`` would end at once (forwards) or never
(backwards), while ``time.monotonic()`` and the event loop's clock are untouched. A static check
keeps ``time.time()`` in ``agents/`` to what it is right for: timestamps (``*_at`` fields).
"""

from __future__ import annotations

import ast
import asyncio
import itertools
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.unit.local.prockit import ROOT, collect, launch, pids_with, sim_argv, wait_for_log
from wavedeck.agents.config import HostConfig
from wavedeck.agents.events import Event, HostConnectionChanged
from wavedeck.agents.local import procinfo
from wavedeck.agents.local.runner import LOST_EXIT_WAIT_S, LocalRunner
from wavedeck.agents.remote.transport import HostTransport, HostUnreachable
from wavedeck.agents.runtypes import AgentHandle, ExitStatus
from wavedeck.agents.wave.testrun import run_command

pytestmark = pytest.mark.timeout(60)

HOUR = 3600.0
GRACE_S = 0.5
# Upper bounds only say "not never": generous for a loaded 2-core machine.
SLACK_S = 3.0


class JumpingClock:
    """A ``time.time`` that is an hour further (or back) at every reading than at the last."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.readings = 0
        self.real: Callable[[], float] = time.time

    def __call__(self) -> float:
        self.readings += 1
        return self.real() + self.step * self.readings


@pytest.fixture(params=[HOUR, -HOUR], ids=["forwards", "backwards"])
def jumping_clock(request: pytest.FixtureRequest) -> Iterator[JumpingClock]:
    clock = JumpingClock(request.param)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(time, "time", clock)
        first, second = time.time(), time.time()
        assert abs(second - first - clock.step) < 60  # the clock in use really jumps
        yield clock


@pytest.mark.slow
async def test_b14_stop_grace_lasts_as_configured(
    runner: LocalRunner, repo: Path, token: str, jumping_clock: JumpingClock
) -> None:
    """An agent ignoring SIGTERM is killed after the grace: not at once, not never."""
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--ignore-term", "--hang"))
    await wait_for_log(handle, "hanging")
    began = time.monotonic()
    result = await asyncio.wait_for(runner.stop(handle, GRACE_S), GRACE_S + 15)
    elapsed = time.monotonic() - began
    assert result == "killed after grace"
    assert GRACE_S <= elapsed < GRACE_S + SLACK_S, elapsed
    assert not await runner.is_alive(handle)
    assert pids_with(token) == []
    assert await runner.exit_status(handle) == ExitStatus(code=None, signal="SIGKILL")


@pytest.mark.slow
async def test_b14_lost_agent_log_ends_after_its_wait(
    runner: LocalRunner, repo: Path, jumping_clock: JumpingClock
) -> None:
    """Following an agent that vanished without an exit file waits ``LOST_EXIT_WAIT_S``, once."""
    me = procinfo.start_time(os.getpid())
    assert me is not None
    lost = AgentHandle(
        agent_id="w1-a1",
        pid=os.getpid(),
        start_time=me + 1,  # not us: the agent is gone
        pgid=os.getpid(),
        log_path=str(repo / "w1-a1.log"),
        exit_path=str(repo / "w1-a1.exit"),
    )
    began = time.monotonic()
    assert await asyncio.wait_for(collect(runner, lost), LOST_EXIT_WAIT_S + 15) == []
    elapsed = time.monotonic() - began
    assert LOST_EXIT_WAIT_S <= elapsed < LOST_EXIT_WAIT_S + SLACK_S, elapsed


@pytest.mark.slow
async def test_b14_test_command_timeout(
    tmp_path: Path, token: str, jumping_clock: JumpingClock
) -> None:
    lines: list[str] = []
    began = time.monotonic()
    code = await asyncio.wait_for(
        run_command(f"echo {token}; exec sleep 30", tmp_path, GRACE_S, lines.append),
        GRACE_S + 15,
    )
    elapsed = time.monotonic() - began
    assert code == 124
    assert lines[0] == token
    assert GRACE_S <= elapsed < GRACE_S + SLACK_S, elapsed


async def test_b14_running_for_uses_the_boot_clock(
    runner: LocalRunner, repo: Path, token: str, jumping_clock: JumpingClock
) -> None:
    """How long an agent (adopted after a control-room restart) has run, without the wall clock."""
    before = time.monotonic()
    handle = await launch(runner, repo, "w1-a1", sim_argv(token, "--hang"))
    after = time.monotonic()
    await wait_for_log(handle, "hanging")
    now = time.monotonic()
    ran = procinfo.running_for(handle.start_time)
    # It started between ``before`` and ``after``; start times are in ticks (1/100 s).
    assert now - after - 0.02 <= ran <= time.monotonic() - before + 0.02, (ran, now - after)
    # What the restart policy reads for it (``Runner.ran_for``), from the handle alone: a later
    # control room's runner tells the same.
    told = LocalRunner(runner.wavedeck_dir).ran_for(handle)
    assert told is not None and ran <= told <= time.monotonic() - before + 0.02, (told, ran)
    assert await runner.stop(handle, 5.0) == "terminated"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
async def test_b14_reconnect_backoff_spacing(tmp_path: Path, jumping_clock: JumpingClock) -> None:
    """Connecting to a closed port: attempts are spaced by the backoff (0.2 s, then 0.4 s)."""
    cfg = HostConfig(
        address="127.0.0.1",
        port=closed_port(),
        workdir="/tmp",
        known_hosts=str(tmp_path / "known_hosts"),
        ssh_config="",
        reconnect_base_s=0.2,
        reconnect_cap_s=0.4,
        reconnect_attempts=3,
    )
    seen: list[tuple[float, str]] = []

    def record(event: Event) -> None:
        if isinstance(event, HostConnectionChanged):
            seen.append((time.monotonic(), event.state))

    transport = HostTransport("closed", cfg, on_event=record)
    with pytest.raises(HostUnreachable):
        await asyncio.wait_for(transport.connect(), 15)
    assert [state for _, state in seen] == ["reconnecting", "reconnecting", "unreachable"]
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(seen)]
    for gap, delay in zip(gaps, (0.2, 0.4), strict=True):
        assert delay <= gap < delay + SLACK_S, gaps


# -- where agents/ reads the wall clock --------------------------------------------------------

WALL_CLOCK_CALLS = {("time", "time"), ("time", "time_ns"), ("datetime", "now")}
WALL_CLOCK_CALLS |= {("datetime", "utcnow"), ("datetime", "today"), ("date", "today")}
# Wall-clock readings that are not stored as ``*_at`` timestamps yet are right (or known), with
# how many each file may have: more of them fail the check.
ALLOWED = {
    # "now" compared with file mtimes, which the kernel stamps from the wall clock.
    ("git/checkpoint.py", "time.time_ns()"): 1,
    # The watcher's "caught up" moment, compared with files' ctimes after an inotify overflow.
    ("watch/watcher.py", "time.time_ns()"): 1,
    # How long a *remote* agent adopted from an earlier control room ran: only its wall-clock
    # ``started_at`` survived the restart (a local one's runner tells it: ``Runner.ran_for``).
    ("wave/restart.py", "time.time()"): 1,
    # Whether an agent ran when a file was written (a monotonic reading from the watcher) is
    # answered from its record's wall-clock ``started_at``/``ended_at``, the only times it keeps.
    ("wave/watching.py", "time.time()"): 1,
}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return ""


def _timestamp_calls(tree: ast.AST) -> set[int]:
    """ids of the wall-clock calls that are stored straight into a ``*_at`` name, key or field."""
    ok: set[int] = set()
    for node in ast.walk(tree):
        pairs: list[tuple[ast.expr, ast.expr]] = []
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    pairs += zip(target.elts, node.value.elts, strict=False)
                else:
                    pairs.append((target, node.value))
        elif isinstance(node, ast.Dict):
            pairs += [(k, v) for k, v in zip(node.keys, node.values, strict=True) if k is not None]
        elif isinstance(node, ast.keyword) and node.arg is not None:
            pairs.append((ast.Name(node.arg), node.value))
        ok |= {id(value) for key, value in pairs if _name(key).endswith("_at")}
    return ok


def wall_clock_misuses(source: str, filename: str) -> list[str]:
    tree = ast.parse(source, filename)
    ok = _timestamp_calls(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
            names = {alias.name for alias in node.names} & {"time", "time_ns"}
            if node.module == "time" and names:
                found.append(f"{filename}:{node.lineno}: from time import {sorted(names)}")
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if (_name(node.func.value), node.func.attr) in WALL_CLOCK_CALLS and id(node) not in ok:
            found.append(f"{filename}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_b14_agents_read_the_wall_clock_only_for_timestamps() -> None:
    """Durations (grace, timeouts, backoff, polling) use time.monotonic(); time.time() only
    stamps records (``started_at``, ``ended_at``, ``finished_at``), which must survive a
    restart of the control room (a monotonic reading means nothing in another boot)."""
    found: list[str] = []
    for path in sorted((ROOT / "agents").rglob("*.py")):
        name = path.relative_to(ROOT / "agents").as_posix()
        misuses = wall_clock_misuses(path.read_text(encoding="utf-8"), name)
        for (allowed_name, call), allowed in ALLOWED.items():
            if allowed_name == name:
                known = [m for m in misuses if m.endswith(f": {call}")]
                if len(known) <= allowed:
                    misuses = [m for m in misuses if m not in known]
        found += misuses
    assert found == []


def test_b14_the_wall_clock_check_catches_durations() -> None:
    bad = (
        "import time, datetime\n"
        "deadline = time.time() + grace\n"
        "while time.time() < deadline: pass\n"
        "elapsed = datetime.datetime.now() - began\n"
        "from time import time\n"
    )
    good = "rec.started_at, rec.ended_at = time.time(), None\nx = {'ended_at': time.time()}\n"
    good += "f(finished_at=time.time())\nt0 = time.monotonic()\n"
    assert len(wall_clock_misuses(bad, "bad.py")) == 4
    assert wall_clock_misuses(good, "good.py") == []
