"""``HostStartCheck``: what the start queue asks an SSH host about an agent CLI's own state.

The agents of a CLI whose starts at once go wrong (``Preset.session_recorded``: Gemini CLI,
opencode) start one at a time on each machine (``wavedeck.agents.wave.starts``). On a host, the
CLI's state is there, so its two questions are asked there, over the host's pooled connection:

- ``races``: can a start there still go wrong (``Preset.race_on_host``; opencode: no database
  yet)? Unknown (no script, the host not answering, an unexpected exit) counts as yes: waiting
  one's turn is always safe, it only costs time.
- ``recorded``: has the CLI recorded a session there (``Preset.session_on_host``)? True, False,
  or None when it cannot be told (no script for the preset, the host not answering): the queue
  then never claims it was recorded.

Each is the preset's constant sh text, after ``set --`` of the CLI's state folders as the host
resolves them (``statedirs``: ``$VARIABLE`` + suffix when set there, else the default with
``~`` as the host's ``$HOME``), with the agent's ``[agent] env`` exported first (as the agent
gets it) and the session id as ``$WAVEDECK_SESSION``: every variable part is quoted by
``wavedeck.agents.remote.commands``, and the login shell sees only ``sh -c '<script>'``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from wavedeck.agents.presets.spec import Preset
from wavedeck.agents.presets.statedirs import StateEntry, state_entries
from wavedeck.agents.remote.commands import (
    CommandError,
    check_env_name,
    exports,
    quote,
    sh_c,
    workdir_word,
)
from wavedeck.agents.remote.transport import HostTransport, TransportError

__all__ = ["CHECK_TIMEOUT_S", "HostStartCheck", "check_script", "state_folders"]

CHECK_TIMEOUT_S = 15.0  # one check's answer (a few file tests on the host)


def state_folders(entries: Sequence[StateEntry]) -> str:
    """sh that sets "$@" to the CLI's state folders (the ``dir`` entries) as the host sees them."""
    lines = ["set --"]
    for kind, default, variable, suffix in entries:
        if kind != "dir":
            continue
        fallback = workdir_word(default)  # ~/x: "$HOME"/x, as the agent's HOME resolves it
        if not variable:
            lines.append(f'set -- "$@" {fallback}')
            continue
        name = check_env_name(variable)
        tail = quote(suffix) if suffix else ""
        lines.append(
            f'if [ -n "${{{name}-}}" ]; then set -- "$@" "${name}"{tail};'
            f' else set -- "$@" {fallback}; fi'
        )
    return "\n".join(lines) + "\n"


def check_script(
    preset: Preset, body: str, env: Mapping[str, str], session: str | None = None
) -> str:
    """The whole command for one check: ``sh -c`` of env, state folders and ``body``."""
    variables = dict(env)
    if session is not None:
        variables["WAVEDECK_SESSION"] = session
    return sh_c(exports(variables) + state_folders(state_entries(preset.name)) + body + "\n")


class HostStartCheck:
    """The start queue's questions about one host (see the module docstring)."""

    def __init__(
        self, host: str, transport: HostTransport, preset: Preset, env: Mapping[str, str]
    ) -> None:
        """``env``: the agent's ``[agent] env`` (exported before each check)."""
        self.name = host
        self.transport = transport
        self.preset = preset
        self.env = dict(env)
        self.why_unknown = ""  # why the last check could not tell (for the queue's notice)

    async def _ask(self, body: str | None, session: str | None = None) -> bool | None:
        """Run ``body`` on the host: exit 0 True, 1 False, else None (``why_unknown`` says)."""
        if body is None:
            self.why_unknown = f"its preset ({self.preset.name}) has no check for a host"
            return None
        try:
            command = check_script(self.preset, body, self.env, session)
            # One attempt: a check that cannot be made now is unknown (the lane then waits its
            # turn, or asks again at its next poll), never minutes of reconnecting.
            res = await self.transport.run(command, timeout=CHECK_TIMEOUT_S, retry=False)
        except CommandError as exc:
            self.why_unknown = f"cannot be asked: {exc}"
            return None
        except (TransportError, OSError) as exc:
            self.why_unknown = f"{self.name} did not answer: {exc}"
            return None
        if res.returncode in (0, 1):
            return res.returncode == 0
        detail = res.stderr.decode("utf-8", "replace").strip()[:200]
        self.why_unknown = f"the check on {self.name} failed (exit {res.returncode}): {detail}"
        return None

    async def races(self) -> bool:
        """A start there can still go wrong (unknown: yes)."""
        if self.preset.session_recorded is None:
            return False
        if self.preset.starts_race is None:
            return True  # always (Gemini CLI)
        return await self._ask(self.preset.race_on_host) is not False

    async def recorded(self, session: str) -> bool | None:
        """The CLI has recorded ``session`` there (None: cannot be told; ``why_unknown``)."""
        return await self._ask(self.preset.session_on_host, session)
