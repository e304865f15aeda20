"""``wavedeck.agents.tools.status``: what became of agents a state file still calls running (#12.7)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from wavedeck.agents.local import procinfo
from wavedeck.agents.state import AgentRecord
from wavedeck.agents.tools.status import observe_agent


def _record(tmp_path: Path, *, pid: int, start: int, log: str = "", offset: int = 0) -> AgentRecord:
    (tmp_path / "a.log").write_text(log, "utf-8")
    handle = {
        "agent_id": "w1-a1",
        "pid": pid,
        "start_time": start,
        "pgid": pid,
        "log_path": str(tmp_path / "a.log"),
        "exit_path": str(tmp_path / "a.exit"),
    }
    return AgentRecord(state="running", handle=handle, offset=offset, issues_done=["i-1"])


def _gone(tmp_path: Path, log: str = "", offset: int = 0) -> AgentRecord:
    # This process's pid with a start time it never had: a process that is gone (pid reused).
    start = procinfo.start_time(os.getpid())
    assert start is not None
    return _record(tmp_path, pid=os.getpid(), start=start + 1, log=log, offset=offset)


def test_a_live_agent_stays_running(tmp_path: Path) -> None:
    start = procinfo.start_time(os.getpid())
    assert start is not None
    seen = observe_agent("w1-a1", _record(tmp_path, pid=os.getpid(), start=start), None)
    assert (seen.state, seen.recorded) == ("running", "running")


def test_an_ended_agent_is_read_from_its_exit_file(tmp_path: Path) -> None:
    rec = _gone(tmp_path)
    (tmp_path / "a.exit").write_text(json.dumps({"code": 3, "signal": None}), "utf-8")
    seen = observe_agent("w1-a1", rec, None)
    assert (seen.state, seen.exit_code, seen.reason) == ("failed", 3, "exit code 3")
    assert seen.note == "ended while no control room was watching"
    (tmp_path / "a.exit").write_text(json.dumps({"code": 0, "signal": None}), "utf-8")
    assert observe_agent("w1-a1", rec, None).state == "succeeded"
    assert rec.state == "running"  # the record itself is not changed


def test_no_process_and_no_exit_file_is_lost(tmp_path: Path) -> None:
    assert observe_agent("w1-a1", _gone(tmp_path), None).state == "lost"


def test_progress_lines_past_the_saved_offset_are_counted_for_its_own_issues(
    tmp_path: Path,
) -> None:
    read = "wavedeck: done i-1 fixed\n"
    log = read + "wavedeck: done i-2 fixed\nwavedeck: done other-9 fixed\nnoise\n"
    rec = _gone(tmp_path, log=log, offset=len(read))
    seen = observe_agent("w1-a1", rec, ["i-1", "i-2"])
    assert seen.issues_done == ("i-1", "i-2")
    assert observe_agent("w1-a1", rec, None).issues_done == ("i-1", "i-2", "other-9")
