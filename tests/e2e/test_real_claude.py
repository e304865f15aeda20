"""End to end with the real Claude Code CLI (npm, pinned) as the agent, offline.

`wavedeck run --headless --json` runs a two-agent plan in a real git repository; every agent is
the real `claude` binary, pointed by ``ANTHROPIC_BASE_URL`` at the scripted Messages API of
``model_server`` on 127.0.0.1 (the only double). Scripts: an agent that reads, edits its file and
reports done (issue_done, usage and cost, checkpoint); one that writes a file it does not own
(denied by the preset's write restriction; a violation naming it when the restriction is off);
one whose model fails (failed with the reason); one that asks a question (needs you, then a
follow-up resuming its session). Skipped with the reason when the CLI is not installed; a
failure under ``.ci/run`` (``WAVEDECK_REQUIRE_AGENT_CLIS=1``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.agent_cli_kit import require
from tests.e2e.headless_kit import events, kill_agents, run
from tests.e2e.model_server import ModelServer, Script, Text, ToolUse
from tests.e2e.real_cli_kit import (
    FILES,
    ISSUES,
    by_name,
    committed,
    final_state,
    key,
    make_sandbox,
)

RUN = ("run", "--headless", "--all", "--yes", "--json")
FIXED = {
    "src/api/server.py": 'def handle(err):\n    return {"error": "internal error"}\n',
    "src/web/page.py": (
        'import html\n\n\ndef page(name):\n    return "<h1>" + html.escape(name) + "</h1>"\n'
    ),
}

pytestmark = pytest.mark.slow


@pytest.fixture
def claude() -> Path:
    return require("claude")


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    repo = tmp_path / "repo"
    yield repo
    kill_agents(repo)


def fixes(repo: Path, agent: str, *, report: bool = True) -> list[list[Text | ToolUse]]:
    """Read the owned file, rewrite it fixed, byte-compile it, report the issue done."""
    path = str(repo / FILES[agent])
    done = f"wavedeck: done {ISSUES[agent]} fixed" if report else "Finished."
    return [
        [Text(f"Reading {FILES[agent]}."), ToolUse("Read", {"file_path": path})],
        [ToolUse("Write", {"file_path": path, "content": FIXED[FILES[agent]]})],
        [
            ToolUse(
                "Bash",
                {"command": f"python3 -m py_compile {FILES[agent]}", "description": "compile"},
            )
        ],
        [Text(f"The fix is in.\n{done}")],
    ]


@pytest.mark.timeout(180)
def test_explicit_command_runs_the_real_cli_and_checkpoints_its_edit(
    claude: Path, folder: Path
) -> None:
    """Without a preset: `command` is the claude argv (prompt on stdin), the raw stream is the
    log, and the edits made by the real CLI are what the checkpoint commits."""
    script: Script = {key(a): fixes(folder, a) for a in FILES}
    with ModelServer(script) as server:
        make_sandbox(folder, claude, server.url, preset=False, permission_mode="acceptEdits")
        done = run(folder, *RUN, timeout=150)
    evs = events(done.stdout)
    assert done.returncode == 0, done.stderr + done.stdout[-3000:]
    for agent, rel in FILES.items():
        assert final_state(evs, agent)["state"] == "succeeded"
        assert committed(folder, rel) == FIXED[rel]
        # the CLI really talked to the model: four turns, the prompt as its first message
        turns = sorted({r.turn for r in server.conversation(key(agent))})
        assert turns == [0, 1, 2, 3], turns
    assert len(by_name(evs, "checkpoint_committed", wave=1)) == 1
    log = (folder / ".wavedeck" / "logs" / "w1-a1.log").read_text("utf-8")
    assert '"type":"result"' in log  # the raw stream-json stays on disk
