"""What the supervisor needs around one agent: its launch spec, its progress lines, its log offset.

- ``build_spec`` renders the prompt, writes it to ``.wavedeck/prompts/<id>.md`` and builds the
  argv from the ``[agent] preset`` (``wavedeck.agents.presets``), or from ``agent.command`` when it is set
  or the preset is generic (+ ``agent.extra_args[id]``), with placeholders substituted inside
  each argument; the argv is never given to a shell. A follow-up (``follow_up``) resumes the
  agent's session with the message as its prompt.
- ``parse_done`` reads the progress protocol: ``wavedeck: done <issue-id> [outcome]``.
- ``OffsetJournal`` remembers, per agent, the byte offset just after the last log line the
  consumer of the event stream has handled. It is written right after each handled chunk with a
  single ``pwrite`` (no fsync: it only has to survive the control room's own death, not a power
  cut), so a control room killed at any moment resumes each log without a gap or a repeat.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from wavedeck.agents.config import Config, substitute
from wavedeck.agents.presets import PRESETS, LaunchContext, program_for
from wavedeck.agents.runtypes import LaunchSpec
from wavedeck.agents.wave.prompt import load_template, render_prompt, write_prompt
from wavedeck.plan.checking.api import RepoView
from wavedeck.plan.models import Plan

DONE_RE = re.compile(r"^\s*wavedeck: done\s+([A-Za-z0-9][A-Za-z0-9._-]*)(?:\s+(.*?))?\s*$")
_WIDTH = 20  # the journal holds one zero-padded decimal offset


def parse_done(line: str) -> tuple[str, str] | None:
    """``(issue id, outcome)`` for a progress line, else None."""
    match = DONE_RE.match(line)
    if match is None:
        return None
    return match.group(1), (match.group(2) or "").strip()


def build_spec(
    repo: Path,
    wavedeck_dir: Path,
    plan: Plan,
    config: Config,
    agent_id: str,
    cwd: Path,
    *,
    view: RepoView | None = None,
    session_id: str | None = None,
    follow_up: tuple[str, str] | None = None,
    local: bool = True,
) -> LaunchSpec:
    """Write the agent's prompt and return what the runner launches (blocking: file I/O, and
    a listing of the repository unless ``view`` is given; the supervisor runs it in a thread).

    ``session_id``: the new session a preset that takes one starts (claude); ``follow_up``:
    ``(session to resume, message)``, the message being the prompt; ``local``: the program is
    looked up on this machine's PATH (a remote agent's is found on its host).
    Raises ``wavedeck.agents.presets.PresetError`` naming the agent and the key when the preset's program
    is missing.
    """
    agent = plan.agent(agent_id)
    if follow_up is None:
        template = load_template(repo, config.agent.prompt_template)
        text = render_prompt(plan, agent_id, cwd, template, view=view)
        prompt_path = write_prompt(wavedeck_dir, agent_id, text)
    else:
        prompt_path = write_prompt(wavedeck_dir, f"{agent_id}.follow-up", follow_up[1] + "\n")
    values = {
        "prompt_file": str(prompt_path),
        "agent_id": agent_id,
        "wave": str(agent.wave),
        "package": agent.package,
        "repo": str(cwd),
    }
    extra = substitute(config.agent.extra_args.get(agent_id, []), values)
    preset = PRESETS[config.agent.preset]
    prompt_mode: str = config.agent.prompt
    if preset.name == "generic" or "command" in config.agent.model_fields_set:
        argv = [*substitute(config.agent.command, values), *extra]
    else:
        program = config.agent.program or preset.program
        if local:
            program = program_for(preset, config.agent.program, agent_id)
        ctx = LaunchContext(
            agent_id=agent_id,
            program=program,
            prompt_file=prompt_path,
            cwd=cwd,
            wavedeck_dir=wavedeck_dir,
            owned=agent.paths,
            session_id=session_id,
            resume=follow_up[0] if follow_up else None,
            restrict_writes=config.agent.restrict_writes,
            max_cost_usd=config.agent.max_cost_usd,
            extra=tuple(extra),
        )
        argv = preset.argv(ctx)
        prompt_mode = preset.prompt
    env = {
        **config.agent.env,
        "WAVEDECK_AGENT_ID": agent_id,
        "WAVEDECK_WAVE": str(agent.wave),
        "WAVEDECK_PACKAGE": agent.package,
        "WAVEDECK_REPO": str(cwd),
        "WAVEDECK_PROMPT_FILE": str(prompt_path),
        # Agents written in Python flush each line, so the log follows them live.
        "PYTHONUNBUFFERED": "1",
    }
    stdin = prompt_path if prompt_mode in ("stdin", "both") else None
    return LaunchSpec(agent_id=agent_id, argv=tuple(argv), cwd=cwd, env=env, stdin_file=stdin)


class OffsetJournal:
    """Per-agent consumed log offsets under ``.wavedeck/offsets/``."""

    def __init__(self, wavedeck_dir: Path) -> None:
        self.folder = wavedeck_dir / "offsets"
        self._fds: dict[str, int] = {}

    def _fd(self, agent_id: str) -> int:
        fd = self._fds.get(agent_id)
        if fd is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.folder / agent_id, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            self._fds[agent_id] = fd
        return fd

    def write(self, agent_id: str, offset: int) -> None:
        # One pwrite of a fixed width: a process killed around it leaves the old or new value.
        # On a full disk the offset is still in the state (saved when it can be): a restart at
        # worst shows a few lines again, which beats stopping the consumer.
        with contextlib.suppress(OSError):
            os.pwrite(self._fd(agent_id), f"{offset:0{_WIDTH}d}\n".encode("ascii"), 0)

    def read(self, agent_id: str) -> int | None:
        try:
            with (self.folder / agent_id).open("rb") as handle:
                raw = handle.read(_WIDTH)  # the record's width, whatever the file grew to
        except OSError:
            return None
        return int(raw) if raw.isdigit() else None

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
