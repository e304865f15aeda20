"""Where each agent CLI keeps its state: the paths outside the repository its sandbox lets it write.

One table, by ``[agent] preset`` name, read by ``wavedeck.agents.local.sandbox`` when it builds an
agent's Landlock spec. An entry is ``(kind, default, variable, suffix)``: ``kind`` is ``dir``
(everything beneath it is writable; created 0700 when missing, as the CLI would) or ``file``
(written in place only, when it exists); the path is ``$variable`` + ``suffix`` when the
agent's environment sets ``variable``, else ``default`` (``~`` is the agent's ``HOME``).

Kept apart from the presets' argv and parsers so that adding a CLI's state is one line here. A
preset missing from the table (``generic``: ``[agent] command``) gets no state path: only its
files, its ``TMPDIR`` and ``/dev``.
"""

from __future__ import annotations

StateEntry = tuple[str, str, str, str]


def _dir(default: str, variable: str = "", suffix: str = "") -> StateEntry:
    return ("dir", default, variable, suffix)


def _file(default: str, variable: str = "", suffix: str = "") -> StateEntry:
    return ("file", default, variable, suffix)


STATE: dict[str, tuple[StateEntry, ...]] = {
    # Claude Code: settings, sessions, todos, shell snapshots (CLAUDE_CONFIG_DIR moves them and
    # the global config with them); the global config ~/.claude.json otherwise.
    "claude": (
        _dir("~/.claude", "CLAUDE_CONFIG_DIR"),
        _file("~/.claude.json"),
        _dir("~/.cache/claude-cli-nodejs", "XDG_CACHE_HOME", "/claude-cli-nodejs"),
    ),
    # Codex: config, auth, sessions, logs (CODEX_HOME).
    "codex": (_dir("~/.codex", "CODEX_HOME"),),
    # Gemini CLI: settings, sessions, its project registry (GEMINI_CLI_HOME stands for HOME).
    "gemini": (_dir("~/.gemini", "GEMINI_CLI_HOME", "/.gemini"),),
    # opencode follows the XDG base directories.
    "opencode": (
        _dir("~/.config/opencode", "XDG_CONFIG_HOME", "/opencode"),
        _dir("~/.local/share/opencode", "XDG_DATA_HOME", "/opencode"),
        _dir("~/.cache/opencode", "XDG_CACHE_HOME", "/opencode"),
        _dir("~/.local/state/opencode", "XDG_STATE_HOME", "/opencode"),
    ),
    "qwen": (_dir("~/.qwen"),),
    # aider: its analytics and caches. Its chat, input history, index and objects are in the
    # agent's own folder under .wavedeck/aider/ (the preset's own_state, opened per agent).
    "aider": (_dir("~/.aider"), _dir("~/.cache/aider", "XDG_CACHE_HOME", "/aider")),
}


def state_entries(preset: str) -> tuple[StateEntry, ...]:
    """The state paths of ``preset`` (none for a preset the table does not know)."""
    return STATE.get(preset, ())
