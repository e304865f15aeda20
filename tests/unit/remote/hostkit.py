"""An agent of the demo plan on the loopback SSH host, as an operator configures it: the set-up
the remote engine tests share.

- ``add_host``: a ``[hosts.loop]`` (or another name's) section in ``wavedeck.toml``, committed;
- ``agent_on_host``: a clone for the host, ``agent`` sent there, every agent killed on the way out;
- ``settled``: wave 1's agents ended and their events drained (after a start, a restart or a
  follow-up).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.unit.remote.sshkit import Sshd, git, make_clone
from tests.unit.wave.enginekit import kill_agents, wait_agents
from wavedeck.agents.config import HostConfig
from wavedeck.agents.wave.supervisor import Supervisor


def add_host(root: Path, cfg: HostConfig, name: str = "loop") -> None:
    """A ``[hosts.NAME]`` section as an operator writes it, committed."""
    section = f"\n[hosts.{name}]\n" + "".join(
        f"{key} = {json.dumps(value)}\n"
        for key, value in cfg.model_dump().items()
        if value is not None and value != []
    )
    config = root / "wavedeck.toml"
    config.write_text(config.read_text("utf-8") + section, "utf-8")
    git(root, "commit", "-q", "-m", "a loopback host", "--", "wavedeck.toml")


@contextmanager
def agent_on_host(root: Path, tmp_path: Path, sshd: Sshd, agent: str) -> Iterator[Path]:
    """``agent`` of the sandbox at ``root`` runs on ``sshd`` in a clone at
    ``tmp_path/host-clone`` (yielded); every agent started from ``root`` is killed afterwards,
    whatever the test did."""
    clone = make_clone(tmp_path / "host-clone")
    add_host(root, sshd.cfg(clone, agents=[agent]))
    try:
        yield clone
    finally:
        kill_agents(root)


async def settled(sup: Supervisor) -> None:
    """Wave 1's agents have ended and their events are drained."""
    await wait_agents(sup, 1, timeout=60)
    await sup.drain()
