"""``gemini.session_recorded``: when a Gemini session file would survive another start's clean-up;
and where Gemini's state folder is for an agent (``statedirs``, resolved as the sandbox does)."""

from __future__ import annotations

import json
from pathlib import Path

from wavedeck.agents.local.writepolicy import state_paths
from wavedeck.agents.presets.gemini import session_recorded
from wavedeck.agents.presets.statedirs import state_entries

SESSION = "12661ba0-8600-4d38-b887-462f9c3faca3"


def write_session(state: Path, *records: dict[str, object], session: str = SESSION) -> Path:
    chats = state / "tmp" / "repo" / "chats"
    chats.mkdir(parents=True, exist_ok=True)
    path = chats / f"session-2026-12-07T11-17-{session[:8]}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    return path


def test_a_session_is_recorded_once_it_holds_a_message(tmp_path: Path) -> None:
    state = [tmp_path / ".gemini"]
    assert not session_recorded(state, SESSION)  # no file yet
    meta = {"sessionId": SESSION, "projectHash": "0" * 64, "startTime": "2026-12-07T11:17:09Z"}
    write_session(state[0], meta)
    assert not session_recorded(state, SESSION)  # metadata only: Gemini's clean-up deletes it
    write_session(state[0], meta, {"id": "m1", "type": "user", "content": [{"text": "hi"}]})
    assert session_recorded(state, SESSION)


def test_another_session_or_another_folder_is_not_this_one(tmp_path: Path) -> None:
    other = "12661ba0-0000-4000-8000-000000000000"  # same first 8 characters, another session
    meta = {"sessionId": other, "projectHash": "0" * 64}
    state = tmp_path / ".gemini"
    write_session(state, meta, {"id": "m1", "type": "gemini", "content": "x"}, session=other)
    assert not session_recorded([state], SESSION)
    assert session_recorded([state], other)
    assert not session_recorded([tmp_path / "elsewhere" / ".gemini"], other)


def test_geminis_folder_follows_gemini_cli_home_as_gemini_does(tmp_path: Path) -> None:
    entries = state_entries("gemini")
    assert state_paths(entries, {"HOME": "/home/u"}) == [("/home/u/.gemini", "dir")]
    moved = {"HOME": "/home/u", "GEMINI_CLI_HOME": str(tmp_path)}
    assert state_paths(entries, moved) == [(str(tmp_path / ".gemini"), "dir")]
