"""``gemini.session_recorded``: when a Gemini session file would survive another start's clean-up."""

from __future__ import annotations

import json
from pathlib import Path

from wavedeck.agents.presets.gemini import session_recorded

SESSION = "12661ba0-8600-4d38-b887-462f9c3faca3"


def write_session(home: Path, *records: dict[str, object], session: str = SESSION) -> Path:
    chats = home / ".gemini" / "tmp" / "repo" / "chats"
    chats.mkdir(parents=True, exist_ok=True)
    path = chats / f"session-2026-12-07T11-17-{session[:8]}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    return path


def test_a_session_is_recorded_once_it_holds_a_message(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    assert not session_recorded(env, SESSION)  # no file yet
    meta = {"sessionId": SESSION, "projectHash": "0" * 64, "startTime": "2026-12-07T11:17:09Z"}
    write_session(tmp_path, meta)
    assert not session_recorded(env, SESSION)  # metadata only: Gemini's clean-up deletes it
    write_session(tmp_path, meta, {"id": "m1", "type": "user", "content": [{"text": "hi"}]})
    assert session_recorded(env, SESSION)


def test_another_session_or_another_home_is_not_this_one(tmp_path: Path) -> None:
    other = "12661ba0-0000-4000-8000-000000000000"  # same first 8 characters, another session
    meta = {"sessionId": other, "projectHash": "0" * 64}
    write_session(tmp_path, meta, {"id": "m1", "type": "gemini", "content": "x"}, session=other)
    assert not session_recorded({"HOME": str(tmp_path)}, SESSION)
    assert session_recorded({"HOME": str(tmp_path)}, other)
    # GEMINI_CLI_HOME moves Gemini's folder away from HOME, as it does for Gemini itself.
    assert not session_recorded({"HOME": str(tmp_path / "x"), "GEMINI_CLI_HOME": "/nope"}, other)
    assert session_recorded({"HOME": "/nope", "GEMINI_CLI_HOME": str(tmp_path)}, other)
