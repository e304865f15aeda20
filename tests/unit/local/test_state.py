"""StateStore: the control-room lock (B12), atomic saves under kill -9 (B13), corrupt files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.unit.local.prockit import wait_until
from wavedeck.agents.kinds import AsksQuestion, ToolRefused
from wavedeck.agents.runtypes import AgentHandle, ExitStatus
from wavedeck.agents.state import (
    STATE_VERSION,
    AgentRecord,
    AlreadyRunning,
    RunState,
    StateCorrupt,
    StateStore,
    TestRecord,
    WaveRecord,
)

pytestmark = pytest.mark.timeout(60)

HOLD_LOCK = """
import sys, time
from pathlib import Path
from wavedeck.agents.state import AlreadyRunning, StateStore
store = StateStore(Path(sys.argv[1]))
try:
    store.lock()
except AlreadyRunning as error:
    print(error, flush=True)
    sys.exit(3)
print("locked", flush=True)
time.sleep(60)
"""


def sample_state() -> RunState:
    handle = AgentHandle("w1-a1", 123, 456, 123, "/r/.wavedeck/logs/w1-a1.log", "/r/x.exit")
    return RunState(
        plan_path="plan.md",
        waves={
            1: WaveRecord(
                base_commit="abc",
                tests=TestRecord(
                    passed=True, duration_s=1.5, results=[("make", 0)], finished_at=9.0
                ),
                accepted={"tests/x.py": "test glob"},
            )
        },
        agents={
            "w1-a1": AgentRecord(
                state="running",
                handle=handle,
                offset=42,
                issues_done=["h-01"],
                outcomes={"h-01": "fixed"},
                launches=1,
            )
        },
    )


def test_round_trip_and_fresh_state(tmp_path: Path) -> None:
    store = StateStore(tmp_path / ".wavedeck")
    assert store.load() == RunState()
    state = sample_state()
    store.save(state)
    assert store.load() == state
    handle = store.load().agents["w1-a1"].handle
    assert handle is not None and handle.pid == 123 and handle.start_time == 456
    assert store.load().waves[1].tests.results == [("make", 0)]  # type: ignore[union-attr]
    assert not list((tmp_path / ".wavedeck").glob("*.tmp"))


# What wavedeck wrote before states became facts (version 1): the wave's state stored beside its
# facts, ``needs`` as text, ``handle`` and ``denials`` as plain objects.
VERSION_1 = {
    "version": 1,
    "plan_path": "plan.md",
    "waves": {"1": {"state": "tested", "base_commit": "abc", "accepted": {}}},
    "agents": {
        "w1-a1": {
            "state": "needs_you",
            "needs": "refused: Write not-mine.txt",
            "denials": [{"tool": "Write", "path": "not-mine.txt"}],
            "handle": {
                "agent_id": "w1-a1",
                "pid": 123,
                "start_time": 456,
                "pgid": 123,
                "log_path": "/r/.wavedeck/logs/w1-a1.log",
                "exit_path": "/r/.wavedeck/run/w1-a1.exit",
                "host": None,
            },
        },
        "w1-a2": {"state": "needs_you", "needs": "asks: keep the code?"},
        "w1-a3": {"state": "succeeded", "needs": ""},
    },
}


def test_a_state_written_by_version_1_loads_as_facts(tmp_path: Path) -> None:
    store = StateStore(tmp_path / ".wavedeck")
    store.wavedeck_dir.mkdir()
    store.path.write_text(json.dumps(VERSION_1), "utf-8")
    state = store.load()
    assert state.waves[1].base_commit == "abc"  # its state is derived from the facts now
    a1, a2, a3 = (state.agents[f"w1-a{i}"] for i in (1, 2, 3))
    assert a1.needs == ToolRefused("Write", "not-mine.txt")
    assert a1.denials == [ToolRefused("Write", "not-mine.txt")]
    assert a1.handle == AgentHandle(
        "w1-a1", 123, 456, 123, "/r/.wavedeck/logs/w1-a1.log", "/r/.wavedeck/run/w1-a1.exit"
    )
    assert a2.needs == AsksQuestion("keep the code?") and a3.needs is None
    store.save(state)  # written back as the current version, the same facts
    data = json.loads(store.path.read_text("utf-8"))
    assert data["version"] == STATE_VERSION and "state" not in data["waves"]["1"]
    assert data["agents"]["w1-a1"]["needs"] == {
        "tool": "Write",
        "path": "not-mine.txt",
        "kind": "refused",
        "by": "cli",
    }
    assert store.load() == state


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"", "corrupt"),
        (b'{"version": 1, "agents": {', "corrupt"),
        (b"\xff\xfe\x00garbage", "corrupt"),
        (b"[]", "invalid"),
        (b'{"version": 1, "surprise": true}', "invalid at surprise"),
        (b'{"agents": {"w1-a1": {"offset": "many"}}}', "invalid at agents.w1-a1.offset"),
        (b'{"agents": {"w1-a1": {"handle": {"pid": 1}}}}', "invalid at agents.w1-a1.handle"),
        (b'{"agents": {"w1-a1": {"needs": "hungry"}}}', "invalid at agents.w1-a1.needs"),
        (b'{"waves": {"one": {}}}', "invalid at waves.one"),
        (b'{"version": 99}', "newer wavedeck"),
    ],
)
def test_b13_corrupt_state_is_refused_never_reset(
    tmp_path: Path, content: bytes, needle: str
) -> None:
    store = StateStore(tmp_path / ".wavedeck")
    store.wavedeck_dir.mkdir()
    store.path.write_bytes(content)
    with pytest.raises(StateCorrupt) as caught:
        store.load()
    message = str(caught.value)
    assert str(store.path) in message and needle in message
    assert "move it aside" in message or "upgrade" in message
    assert store.path.read_bytes() == content  # left for the operator to inspect


SAVE_LOOP = """
import sys
from pathlib import Path
from wavedeck.agents.state import AgentRecord, RunState, StateStore
store = StateStore(Path(sys.argv[1]))
n = 0
while True:
    n += 1
    # A few KB per save, so a kill often lands inside a write.
    agents = {f"w1-a{i}": AgentRecord(offset=n, reason="x" * 200) for i in range(20)}
    store.save(RunState(plan_path=str(n), agents=agents))
    if n == 1:
        print("saved", flush=True)
"""


@pytest.mark.slow
def test_b13_kill_during_saves_leaves_old_or_new(tmp_path: Path) -> None:
    wdir = tmp_path / ".wavedeck"
    store = StateStore(wdir)
    last = 0
    for _ in range(5):
        proc = subprocess.Popen(
            [sys.executable, "-c", SAVE_LOOP, str(wdir)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline() == "saved\n"
            deadline = time.monotonic() + 0.3
            while time.monotonic() < deadline:  # read while it writes: always a whole state
                state = store.load()
                assert len(state.agents) == 20
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            proc.kill()
            proc.wait()
        state = store.load()
        offsets = {record.offset for record in state.agents.values()}
        assert len(offsets) == 1 and state.plan_path == str(offsets.pop())
        assert int(state.plan_path or 0) >= 1
        last = int(state.plan_path or 0)
    assert last > 0


@pytest.mark.slow
def test_b12_second_control_room_is_refused(tmp_path: Path) -> None:
    wdir = tmp_path / ".wavedeck"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(wdir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(AlreadyRunning) as caught:
            StateStore(wdir).lock()
        assert str(caught.value) == (
            f"another wavedeck control room is running on this repository (pid {holder.pid})"
        )
        # A second process is refused the same way.
        other = subprocess.run(
            [sys.executable, "-c", HOLD_LOCK, str(wdir)], capture_output=True, text=True, timeout=30
        )
        assert other.returncode == 3 and f"(pid {holder.pid})" in other.stdout
        # kill -9 the holder: the kernel releases the lock, no stale lock file blocks us.
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        mine = StateStore(wdir)
        mine.lock()
        assert mine.locked
        assert (wdir / "lock").read_text().strip() == str(os.getpid())
        mine.unlock()
    finally:
        holder.kill()
        holder.wait()


def test_b12_lock_is_held_by_this_process_until_unlock(tmp_path: Path) -> None:
    wdir = tmp_path / ".wavedeck"
    first = StateStore(wdir)
    first.lock()
    first.lock()  # idempotent
    result = subprocess.run(
        [sys.executable, "-c", HOLD_LOCK, str(wdir)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 3 and f"(pid {os.getpid()})" in result.stdout
    first.unlock()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(wdir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    finally:
        holder.kill()
        holder.wait()


def test_state_json_is_plain_and_readable(tmp_path: Path) -> None:
    store = StateStore(tmp_path / ".wavedeck")
    store.save(sample_state())
    data = json.loads(store.path.read_text())
    assert data["agents"]["w1-a1"]["handle"]["start_time"] == 456
    assert data["waves"]["1"]["tests"]["results"] == [["make", 0]]
    wait_until(lambda: store.path.exists(), 1, "state file")
    assert ExitStatus(code=0).ok
