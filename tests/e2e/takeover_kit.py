"""What the take-over end-to-end tests share: a real Claude Code session to take over (the pane
to take it over in is ``tmux_kit.Tmux``).

``claude_ready`` writes what interactive Claude Code needs to start offline in the agents'
throwaway ``CLAUDE_CONFIG_DIR`` (field notes, "Agent CLIs offline"): onboarding done, the API
key approved, the working folder trusted. ``script`` is the scripted model: the well-behaved
agent of ``claude_kit.fixes``, then, in the same conversation (the key is the agent's first
message, which a resumed session sends again), the answer to whatever the operator types: a
rewrite of its own file and a closing line, so the take-over's edits and words can be checked.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.claude_kit import FIXED, fixes
from tests.e2e.model_server import Script, Text, ToolUse
from tests.e2e.real_cli_kit import FILES, key
from tests.unit.wave.enginekit import collecting, wait_agents
from wavedeck.agents.configread import load_config
from wavedeck.agents.wave.supervisor import Supervisor
from wavedeck.plan.reading.loader import load_plan

BY_HAND = "# fixed by hand with the operator\n"  # what the take-over writes into the file
ANSWER = "Done as you asked: the file is rewritten."


def script(repo: Path, agent: str, *, home_repo: Path | None = None) -> Script:
    """The agent's headless run, then the take-over's turn (a write of its file, a last word).
    ``home_repo``: where the file lies for the CLI (an SSH host's worktree)."""
    base = home_repo if home_repo is not None else repo
    path = str(base / FILES[agent])
    return {
        key(agent): [
            *fixes(base, agent),
            [ToolUse("Write", {"file_path": path, "content": BY_HAND + FIXED[FILES[agent]]})],
            [Text(ANSWER)],
        ]
    }


def claude_ready(home: Path, *folders: Path, api_key: str = "test") -> None:
    """Interactive Claude Code starts offline with ``home`` as its HOME: onboarded, the key
    approved, each of ``folders`` trusted (written in ``$CLAUDE_CONFIG_DIR/.claude.json``)."""
    path = home / ".claude" / ".claude.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    config = json.loads(path.read_text("utf-8")) if path.exists() else {}
    config["hasCompletedOnboarding"] = True
    config["customApiKeyResponses"] = {"approved": [api_key[-20:]], "rejected": []}
    projects = config.setdefault("projects", {})
    for folder in folders:
        projects.setdefault(str(folder), {})["hasTrustDialogAccepted"] = True
    path.write_text(json.dumps(config), "utf-8")


async def run_wave(repo: Path, wave: int = 1, timeout: float = 180) -> dict[str, str]:
    """Run wave ``wave``'s agents to their end, leaving the wave open (untested, uncommitted,
    as the control room leaves it); each agent's state."""
    config = load_config(repo)
    assert config.plan is not None
    plan_path = repo / config.plan
    sup = Supervisor(repo, load_plan(plan_path).plan, config, plan_path=plan_path)
    async with collecting(sup):
        await sup.start_wave(wave)
        await wait_agents(sup, wave, timeout)
        return {a: rec.state for a, rec in sup.state.agents.items()}
