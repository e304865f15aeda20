"""Agent presets: the argv, prompt mode and output parser of each supported agent CLI.

``PRESETS`` maps ``[agent] preset`` names to their ``Preset``; ``program_for`` finds the
executable (``[agent] program`` or the preset's name on PATH) and names the agent and the key
when it is missing. The engine's use of a parser is in ``wavedeck.agents.presets.stream``.
"""

from __future__ import annotations

import os
import shutil

from wavedeck.agents.config import Config
from wavedeck.agents.presets import aider, claude, codex, gemini, opencode, plain, qwen, sim
from wavedeck.agents.presets.spec import LaunchContext, Preset, PresetError

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        claude.PRESET,
        codex.PRESET,
        gemini.PRESET,
        opencode.PRESET,
        aider.PRESET,
        qwen.PRESET,
        plain.GENERIC,
        sim.PRESET,
    )
}
PRESET_NAMES = tuple(PRESETS)
# The agent CLIs wavedeck has a preset for, in the order a missing ``[agent]`` suggests them.
AGENT_CLIS: tuple[str, ...] = ("claude", "codex", "gemini", "opencode", "aider", "qwen")
# Presets whose output is text shown as it comes (no rendering, no raw view).
TEXT_PRESETS: tuple[str, ...] = ("generic", "sim")

__all__ = [
    "AGENT_CLIS",
    "PRESETS",
    "PRESET_NAMES",
    "TEXT_PRESETS",
    "LaunchContext",
    "Preset",
    "PresetError",
    "agent_program",
    "clis_on_path",
    "preflight",
    "program_for",
]


def agent_program(config: Config) -> str:
    """The program an agent runs under ``config``: ``[agent] command``'s when it is in charge
    (generic preset, or set explicitly), else ``[agent] program`` or the preset's name."""
    agent = config.agent
    if agent.runs_command:
        return agent.command[0] if agent.command else ""
    return agent.program or PRESETS[agent.preset].program


def clis_on_path(path: str | None = None) -> tuple[str, ...]:
    """The agent CLIs with a preset whose program is on ``PATH`` (default: this process's),
    in ``AGENT_CLIS`` order: what a repository with no agent configured could use."""
    return tuple(name for name in AGENT_CLIS if shutil.which(PRESETS[name].program, path=path))


def preflight(config: Config, agent_ids: list[str]) -> str | None:
    """Why the wave cannot start because an agent's program is missing here, or None
    (``agent_ids``: the wave's agents that run on this machine)."""
    agent = config.agent
    if not agent_ids or agent.runs_command:
        return None
    try:
        program_for(PRESETS[agent.preset], agent.program, agent_ids[0])
    except PresetError as exc:
        return str(exc)
    return None


def program_for(preset: Preset, program: str | None, agent_id: str, path: str | None = None) -> str:
    """The executable to run: ``program`` (a path, or a name looked up on PATH) or the preset's
    name on PATH; ``PresetError`` naming the agent and the key when it cannot be found."""
    wanted = program or preset.program
    key = "agent.program" if program else f"agent.preset ({preset.name!r})"
    if os.sep in wanted:
        if os.access(wanted, os.X_OK) and os.path.isfile(wanted):
            return wanted
        raise PresetError(f"{agent_id}: {key}: {wanted} is not an executable file")
    found = shutil.which(wanted, path=path)
    if found is None:
        hint = "" if program else "; set [agent] program to its path"
        raise PresetError(f"{agent_id}: {key}: {wanted!r} not found on PATH{hint}")
    return found
