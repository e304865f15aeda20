"""What the supervisor needs around one agent: its launch spec, its progress lines, its log offset.

- ``build_spec`` renders the prompt, writes it to ``.wavedeck/prompts/<id>.md`` and builds the
  argv from the ``[agent] preset`` (``wavedeck.agents.presets``), or from ``agent.command`` when it is set
  or the preset is generic (+ ``agent.extra_args[id]``), with placeholders substituted inside
  each argument; the argv is never given to a shell. A follow-up (``follow_up``) resumes the
  agent's session with the message as its prompt.
- ``parse_done`` reads the progress protocol: ``wavedeck: done <issue-id> [outcome]``;
  ``chunk_events`` turns a chunk of log lines into events, each ``IssueDone`` after its line.
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
from wavedeck.agents.events import AgentOutputBatch, Event, EventBatch, IssueDone
from wavedeck.agents.local.sandbox import sandbox_spec, sandboxed
from wavedeck.agents.presets import PRESETS, LaunchContext, PresetError, program_for
from wavedeck.agents.presets.interactive import takeover_argv
from wavedeck.agents.runtypes import LaunchSpec
from wavedeck.agents.state import AgentRecord
from wavedeck.agents.wave.prompt import load_template, render_prompt, write_prompt
from wavedeck.plan.checking.api import RepoView
from wavedeck.plan.models import Agent, Plan

DONE_MARK = "wavedeck: done"  # what every progress line contains (see ``DONE_RE``)
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
    if not config.agent.chosen:  # never the simulated agent by default (refused before a start)
        raise PresetError(f"{agent_id}: no agent configured: set [agent] preset in wavedeck.toml")
    agent = plan.agent(agent_id)
    if follow_up is None:
        template = load_template(repo, config.agent.prompt_template)
        text = render_prompt(plan, agent_id, cwd, template, view=view)
        prompt_path = write_prompt(wavedeck_dir, agent_id, text)
    else:
        prompt_path = write_prompt(wavedeck_dir, f"{agent_id}.follow-up", follow_up[1] + "\n")
    preset = PRESETS[config.agent.preset]
    prompt_mode: str = config.agent.prompt
    preset_env: dict[str, str] = {}
    if config.agent.runs_command:
        argv = [
            *substitute(config.agent.command, _values(agent, prompt_path, cwd)),
            *_extra(config, agent_id, agent, prompt_path, cwd),
        ]
    else:
        ctx = _context(
            config, agent_id, agent, prompt_path, cwd, wavedeck_dir, local=local,
            session_id=session_id, resume=follow_up[0] if follow_up else None,
        )  # fmt: skip
        argv = preset.argv(ctx)
        prompt_mode = preset.prompt
        if preset.env is not None:
            preset_env = preset.env(ctx)
    stdin = prompt_path if prompt_mode in ("stdin", "both") else None
    return LaunchSpec(
        agent_id=agent_id,
        argv=tuple(argv),
        cwd=cwd,
        env=_env(config, agent, cwd, prompt_path, preset_env),
        stdin_file=stdin,
        # [agent] sandbox: applied by the runner
        sandbox=sandbox_spec(plan, agent_id, config, wavedeck_dir if local else None),
        facts_of=config.agent.preset,  # its parser reads the output, whatever runs the agent
    )


def takeover_spec(
    wavedeck_dir: Path,
    plan: Plan,
    config: Config,
    agent_id: str,
    cwd: Path,
    session_id: str,
    *,
    local: bool = True,
) -> LaunchSpec | None:
    """What runs when the operator takes over the agent's session by hand: its preset's
    interactive resume of ``session_id`` in ``cwd``, with the agent's environment, ownership
    rules and sandbox (as ``build_spec`` would launch it; the terminal is its input and output,
    so no prompt). None when the preset has no session a terminal can resume, or ``[agent]
    command`` replaces its argv. ``PresetError`` when its program is missing here (``local``)."""
    preset = PRESETS[config.agent.preset]
    if config.agent.runs_command:
        return None
    agent = plan.agent(agent_id)
    prompt_path = wavedeck_dir / "prompts" / f"{agent_id}.md"  # its last prompt (named in env)
    ctx = _context(
        config, agent_id, agent, prompt_path, cwd, wavedeck_dir, local=local, resume=session_id
    )
    argv = takeover_argv(preset.name, ctx)
    if argv is None:
        return None
    preset_env = preset.env(ctx) if preset.env is not None else {}
    return LaunchSpec(
        agent_id=agent_id,
        argv=tuple(argv),
        cwd=cwd,
        env=_env(config, agent, cwd, prompt_path, preset_env),
        sandbox=sandbox_spec(plan, agent_id, config, wavedeck_dir if local else None),
    )


def _values(agent: Agent, prompt_path: Path, cwd: Path) -> dict[str, str]:
    """The placeholders of ``[agent] command`` and ``[agent.extra_args]``."""
    return {
        "prompt_file": str(prompt_path),
        "agent_id": agent.id,
        "wave": str(agent.wave),
        "package": agent.package,
        "repo": str(cwd),
    }


def _extra(config: Config, agent_id: str, agent: Agent, prompt_path: Path, cwd: Path) -> list[str]:
    return substitute(config.agent.extra_args.get(agent_id, []), _values(agent, prompt_path, cwd))


def _context(
    config: Config,
    agent_id: str,
    agent: Agent,
    prompt_path: Path,
    cwd: Path,
    wavedeck_dir: Path,
    *,
    local: bool,
    session_id: str | None = None,
    resume: str | None = None,
) -> LaunchContext:
    """What a preset builds one launch's argv from."""
    preset = PRESETS[config.agent.preset]
    program = config.agent.program or preset.program
    if local:
        program = program_for(preset, config.agent.program, agent_id)
    return LaunchContext(
        agent_id=agent_id,
        program=program,
        prompt_file=prompt_path,
        cwd=cwd,
        wavedeck_dir=wavedeck_dir,
        owned=agent.paths,
        session_id=session_id,
        resume=resume,
        restrict_writes=config.agent.restrict_writes,
        sandboxed=sandboxed(config, local=local),
        max_cost_usd=config.agent.max_cost_usd,
        extra=tuple(_extra(config, agent_id, agent, prompt_path, cwd)),
        local=local,
    )


def _env(
    config: Config, agent: Agent, cwd: Path, prompt_path: Path, preset_env: dict[str, str]
) -> dict[str, str]:
    """The variables an agent gets on top of the control room's environment."""
    return {
        **config.agent.env,
        **preset_env,
        # The agent's folder, for CLIs that take their project from $PWD rather than the
        # process's working directory (opencode): never the folder wavedeck was started in.
        "PWD": str(cwd),
        "WAVEDECK_AGENT_ID": agent.id,
        "WAVEDECK_WAVE": str(agent.wave),
        "WAVEDECK_PACKAGE": agent.package,
        "WAVEDECK_REPO": str(cwd),
        "WAVEDECK_PROMPT_FILE": str(prompt_path),
        # Agents written in Python flush each line, so the log follows them live.
        "PYTHONUNBUFFERED": "1",
    }


def chunk_events(
    rec: AgentRecord,
    issues: set[str],
    agent_id: str,
    lines: tuple[str, ...],
    facts: list[Event] | None = None,
    raw: tuple[str, ...] = (),
) -> EventBatch:
    """A chunk of log lines as events: the lines in bulk, each ``IssueDone`` right after its line
    (recorded in ``rec`` too), then ``facts`` (a preset parser's events for the chunk); ``raw``:
    the log lines ``lines`` were rendered from (carried by the first batch)."""
    # Progress lines are rare: one C-level search of the chunk instead of a test per line.
    if DONE_MARK not in "\n".join(lines):
        events = EventBatch([AgentOutputBatch(agent_id, lines, raw)] if lines or raw else [])
        events.extend(facts or ())
        return events
    events = EventBatch([AgentOutputBatch(agent_id, (), raw)] if raw else [])
    begin = 0
    for index, line in enumerate(lines):
        done = parse_done(line) if DONE_MARK in line else None
        if done is None or done[0] not in issues:
            continue
        if done[0] in rec.issues_done and rec.outcomes.get(done[0]) == done[1]:
            continue  # the same report again (a CLI echoing its answer): one issue_done
        events.append(AgentOutputBatch(agent_id, lines[begin : index + 1]))
        begin = index + 1
        if done[0] not in rec.issues_done:
            rec.issues_done.append(done[0])
        rec.outcomes[done[0]] = done[1]
        events.append(IssueDone(agent_id, done[0], done[1]))
    if begin < len(lines):
        events.append(AgentOutputBatch(agent_id, lines[begin:]))
    events.extend(facts or ())
    return events


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
