"""A stand-in for an agent CLI whose starts at once go wrong (the one-at-a-time start tests).

It takes opencode's argv (``PROGRAM run --format json``, ignored) and prints its JSON events; it
notes when it started (``<agent>.start``; one line a start in ``<agent>.starts``; its last argv)
and, after ``delay``, says its session on its stream and notes when (``<agent>.session``): the
window in which a second start would race. The notes are files under one folder, so the same
stand-in works for an agent here and on the loopback SSH host (the same machine).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.unit.wave.scriptkit import script_repo

__all__ = ["note_time", "stand_in_repo"]

# opencode's argv is `PROGRAM run --format json`; the stand-in ignores it.
STAND_IN = """#!{python}
import json, os, sys, time
from pathlib import Path
agent = os.environ["WAVEDECK_AGENT_ID"]
sid = "ses_" + agent.replace("-", "")
notes = Path({notes!r})
(notes / (agent + ".start")).write_text(repr(time.time()))
with open(notes / (agent + ".starts"), "a") as starts:  # one line a start
    starts.write("started\\n")
(notes / (agent + ".argv")).write_text(json.dumps(sys.argv[1:]))  # the last start's
time.sleep({delay})
if {says_session}:
    (notes / (agent + ".session")).write_text(repr(time.time()))
    print(json.dumps({{"type": "step_start", "sessionID": sid}}), flush=True)
issue = {{"w1-a1": "api-1", "w1-a2": "web-1"}}[agent]
part = {{"type": "text", "text": "wavedeck: done " + issue + " nothing to change"}}
print(json.dumps({{"type": "text", "sessionID": sid, "part": part}}), flush=True)
"""


def stand_in_repo(
    tmp_path: Path,
    preset: str,
    *,
    delay: float = 0.6,
    says_session: bool = True,
    database: bool = False,
) -> Path:
    """The sandbox (``tmp_path/repo``), its agents the stand-in; the folder of its notes.
    opencode's data folder is the test's own (``database``: as after its first run)."""
    data = tmp_path / "data"
    (data / "opencode").mkdir(parents=True)
    if database:
        (data / "opencode" / "opencode.db").write_bytes(b"")
    notes = tmp_path / "notes"
    notes.mkdir()
    program = tmp_path / "opencode-stand-in"
    program.write_text(
        STAND_IN.format(python=sys.executable, notes=str(notes), delay=delay,
                        says_session=says_session),
        "utf-8",
    )  # fmt: skip
    program.chmod(0o755)
    repo = script_repo(tmp_path / "repo", {})
    config = (repo / "wavedeck.toml").read_text("utf-8")
    agent = f'preset = "{preset}"\nprogram = "{program}"\nenv = {{ XDG_DATA_HOME = "{data}" }}\n'
    if preset == "generic":
        agent = f'command = ["{program}"]\n'
    lines = [line for line in config.splitlines() if not line.startswith("command = ")]
    text = "\n".join(lines).replace("[agent]\n", "[agent]\n" + agent, 1) + "\n"
    (repo / "wavedeck.toml").write_text(text, "utf-8")
    return notes


def note_time(notes: Path, name: str) -> float:
    return float((notes / name).read_text())
