"""wavedeck's marks, written one way (``wavedeck.agents.markers``): log separator lines and a
wave's marker files."""

from __future__ import annotations

import os
from pathlib import Path

from wavedeck.agents.lines import decode_all
from wavedeck.agents.markers import append_marker, marker_line, read_marker, write_marker


def test_a_marker_is_a_line_of_its_own_even_after_a_partial_line(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "w1-a1.log"  # the folder is made when missing
    append_marker(log, "restart 1 of 3 after 1 s (exit 3)")
    with open(log, "ab") as handle:
        handle.write(b"progress 50%")  # the run died mid-line
    append_marker(log, "follow-up 1: go on")
    assert decode_all(log.read_bytes()) == [
        "── wavedeck: restart 1 of 3 after 1 s (exit 3) ──",
        "progress 50%",
        marker_line("follow-up 1: go on"),
    ]


def test_a_log_that_cannot_be_written_is_left_alone(tmp_path: Path) -> None:
    log = tmp_path / "w1-a1.log"
    log.mkdir()  # not a file: the mark is skipped, the caller goes on
    append_marker(log, "restart by the operator")
    assert log.is_dir() and list(log.iterdir()) == []


def test_marker_files_are_whole_or_absent(tmp_path: Path) -> None:
    path = tmp_path / "run" / "wave-1.collected.json"
    assert read_marker(path) is None
    write_marker(path, {"a.py": "w1-a1"})
    assert read_marker(path) == {"a.py": "w1-a1"}
    write_marker(path, {"b.py": "w1-a2"})  # replaced in one step, no temporary left behind
    assert read_marker(path) == {"b.py": "w1-a2"}
    assert os.listdir(path.parent) == ["wave-1.collected.json"]
    path.write_text("{not json", encoding="utf-8")
    assert read_marker(path) is None
