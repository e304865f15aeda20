"""``[agent] sandbox``: each agent's Landlock spec, whether this machine enforces it, and what
wavedeck says about it before a wave starts and in the checkpoint.

- ``sandbox_spec`` builds the spec of one agent from the plan (its owned paths; the paths every
  other agent of the plan declares, in any wave, which keep a shared folder closed), its
  preset's state paths (``wavedeck.agents.presets.statedirs``) and, for a preset that keeps its
  own files for the agent under ``.wavedeck/`` (aider's chat: ``Preset.own_state``), that one
  folder. ``wavedeck.agents.local.writepolicy`` resolves it where the agent runs (here, in the
  wrapper; on an SSH host, beside ``landlock.py`` run as a script).
- ``local_status``: enforced here or not, and why (``no-landlock``, ``abi-too-old``), once per run.
- ``before_wave``: per local agent, the spec resolved without writing anything: a repository
  beneath a path the agent may write (it cannot be protected), owned files that cannot be
  created, folders kept closed because they are shared, paths of other agents exposed.
- ``status_word`` / ``trailer``: the ``Wavedeck-Sandbox`` checkpoint trailer.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from wavedeck.agents.config import Config
from wavedeck.agents.events import Event, Notice, SandboxStatus
from wavedeck.agents.local import landlock, writepolicy
from wavedeck.agents.presets import PRESETS
from wavedeck.agents.presets.refusals import writable_by
from wavedeck.agents.presets.statedirs import state_entries
from wavedeck.agents.runtypes import SandboxSpec
from wavedeck.plan.models import Plan

SCRIPT = Path(landlock.__file__)
# What SCRIPT loads beside itself: uploaded with it to an SSH host.
SCRIPT_MODULES = (Path(writepolicy.__file__),)


def spec_dict(plan: Plan, agent_id: str, preset: str, wavedeck_dir: Path | None) -> dict[str, Any]:
    """The Landlock spec of ``agent_id`` (JSON-ready; see ``writepolicy.resolve``).

    ``wavedeck_dir``: the repository's ``.wavedeck`` as the agent sees it, where the preset's
    ``own_state`` folder is (None for an agent on an SSH host: the preset's paths there are not
    this machine's)."""
    agent = plan.agent(agent_id)
    owned = list(dict.fromkeys(agent.paths))
    mine = set(owned)
    others = sorted(
        {p for w in plan.waves for a in w.agents if a.id != agent_id for p in a.paths} - mine
    )
    state = [list(e) for e in state_entries(preset)]
    own_state = PRESETS[preset].own_state if preset in PRESETS else None
    if own_state is not None and wavedeck_dir is not None:
        # Only this agent's folder of the CLI's own files: the rest of .wavedeck stays closed.
        state.append(["dir", str(own_state(wavedeck_dir, agent_id))])
    return {
        "v": writepolicy.SPEC_VERSION,
        "agent": agent_id,
        "owned": owned,
        "others": others,
        "state": state,
        "devices": True,
    }


def sandbox_spec(
    plan: Plan, agent_id: str, config: Config, wavedeck_dir: Path | None
) -> SandboxSpec | None:
    """What the runner applies to ``agent_id``; None when ``[agent] sandbox = "off"``."""
    if config.agent.sandbox == "off":
        return None
    spec = spec_dict(plan, agent_id, config.agent.preset, wavedeck_dir)
    return SandboxSpec(json.dumps(spec, separators=(",", ":")), SCRIPT, SCRIPT_MODULES)


def sandboxed(config: Config, *, local: bool) -> bool:
    """Whether an agent will run inside wavedeck's domain (a remote host's is decided there:
    assumed yes when the setting asks for it)."""
    if config.agent.sandbox == "off":
        return False
    return not local or landlock.abi() >= landlock.MIN_ABI


def local_status(config: Config, abi: int | None = None) -> SandboxStatus:
    """Whether this machine holds its agents to their files, as the run's status."""
    if config.agent.sandbox == "off":
        return SandboxStatus("off", reason="off", detail='[agent] sandbox = "off"')
    version = landlock.abi() if abi is None else abi
    if version <= 0:
        return SandboxStatus(
            "unavailable",
            reason="no-landlock",
            detail="this kernel has no Landlock: the watcher alone judges writes",
        )
    if version < landlock.MIN_ABI:
        return SandboxStatus(
            "unavailable",
            abi=version,
            reason="abi-too-old",
            detail=f"Landlock ABI {version} cannot restrict truncate (needs "
            f"{landlock.MIN_ABI}): the watcher alone judges writes",
        )
    return SandboxStatus("landlock", abi=version)


def agent_environ(config: Config, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a local agent gets (the control room's, with ``[agent] env`` over it):
    where its HOME and its CLI's state folders are."""
    return {**(os.environ if environ is None else environ), **config.agent.env}


def before_wave(
    plan: Plan,
    config: Config,
    agents: list[str],
    cwd_for: Callable[[str], Path],
    wavedeck_dir: Path,
    environ: Mapping[str, str] | None = None,
) -> list[Event]:
    """What to say before the wave about each local agent's sandbox (nothing is written)."""
    env = agent_environ(config, environ)
    events: list[Event] = []
    for agent_id in agents:
        spec = spec_dict(plan, agent_id, config.agent.preset, wavedeck_dir)
        try:
            policy = writepolicy.resolve(spec, str(cwd_for(agent_id)), env, create=False)
        except writepolicy.SpecError as exc:
            events.append(Notice("error", f"{agent_id}: sandbox: {exc.detail}"))
            continue
        for writable, protected in policy.unprotected:
            events.append(
                SandboxStatus(
                    "unprotected",
                    agent=agent_id,
                    reason="beneath-writable",
                    detail=f"{protected} lies beneath {writable}, which {agent_id} may write: "
                    "the kernel cannot protect the repository from it (the watcher judges)",
                )
            )
        if policy.missing:
            events.append(
                Notice(
                    "warning",
                    f"{agent_id}: sandbox: cannot create {', '.join(policy.missing)} (its "
                    "folder is the repository root, which stays closed so .git/ does)",
                    agent=agent_id,
                    sandbox="cannot-create",
                )
            )
        shared = [f or "." for f, why in policy.closed if why == "shared"]
        if shared:
            events.append(
                Notice(
                    "info",
                    f"{agent_id}: sandbox: edits its own files in place only in "
                    f"{', '.join(shared)} (other agents declare files there)",
                    agent=agent_id,
                    sandbox="closed",
                )
            )
        if policy.exposed:
            events.append(
                Notice(
                    "warning",
                    f"{agent_id}: sandbox: creates files in a folder where other agents' "
                    f"{', '.join(policy.exposed)} lie: the kernel cannot keep it from them (the "
                    "watcher judges)",
                    agent=agent_id,
                    sandbox="exposed",
                )
            )
    return events


def writable(
    plan: Plan,
    agent_id: str,
    config: Config,
    cwd: Path,
    wavedeck_dir: Path,
    environ: Mapping[str, str] | None = None,
) -> Callable[[str], bool] | None:
    """What the sandboxed local agent may write, as a predicate over absolute paths (None when
    its spec cannot be resolved)."""
    spec = spec_dict(plan, agent_id, config.agent.preset, wavedeck_dir)
    try:
        policy = writepolicy.resolve(spec, str(cwd), agent_environ(config, environ), create=False)
    except writepolicy.SpecError:
        return None
    return writable_by((r.path, r.kind) for r in policy.rules)


def status_word(status: SandboxStatus) -> str:
    """How an agent ran, for the checkpoint trailer (``landlock ABI 7``, ``off``...)."""
    if status.state in ("landlock", "unprotected"):
        word = f"landlock ABI {status.abi}" if status.abi else "landlock"
        return word + (" (repository unprotected)" if status.state == "unprotected" else "")
    if status.state == "off":
        return "off"
    where = f" on {status.host}" if status.host else ""
    return f"{status.state}{where} ({status.reason}): watcher only"


def trailer(by_agent: Mapping[str, str]) -> str | None:
    """``Wavedeck-Sandbox``'s value: one word when every agent ran the same way, else each way
    with its agents; None when nothing was recorded."""
    if not by_agent:
        return None
    groups: dict[str, list[str]] = {}
    for agent_id, word in sorted(by_agent.items()):
        groups.setdefault(word, []).append(agent_id)
    if len(groups) == 1:
        return next(iter(groups))
    return "; ".join(f"{word}: {', '.join(ids)}" for word, ids in groups.items())
