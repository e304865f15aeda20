"""Where each agent runs: ``Runners``, the supervisor's runners by agent.

An agent a ``[hosts.NAME]`` section of the config assigns to an SSH host (by id or by package)
runs through that host's ``wavedeck.agents.remote.runner.RemoteRunner`` (one per host: one
connection pool); every other agent through the one ``wavedeck.agents.local.runner.LocalRunner``.
Callers see only the ``wavedeck.agents.runtypes.Runner`` protocol (its ``host``, its
``find_unrecorded``); what a remote runner brought back into the local tree is asked here
(``applied_by``).
"""

from __future__ import annotations

import contextlib

from wavedeck.agents.local.runner import LocalRunner
from wavedeck.agents.remote.runner import RemoteRunner, runner_for
from wavedeck.agents.remote.touched import TouchedSink
from wavedeck.agents.remote.transport import HostTransport
from wavedeck.agents.runtypes import Runner
from wavedeck.agents.wave.context import WaveContext


class Runners:
    """The runner of every agent of one supervisor (see the module docstring)."""

    def __init__(self, ctx: WaveContext, *, on_touched: TouchedSink) -> None:
        """``on_touched``: told of each path a remote agent changed on its host."""
        self.ctx = ctx
        self.on_touched = on_touched
        self._local: LocalRunner | None = None
        self._remote: dict[str, RemoteRunner] = {}  # host name -> its runner

    def runner(self, agent_id: str) -> Runner:
        """The runner of an agent: its host's when the config assigns it to one, else local."""
        ctx = self.ctx
        package = ctx.plan.agent(agent_id).package if ctx.in_plan(agent_id) else None
        remote = runner_for(
            agent_id,
            ctx.config,
            self._remote,
            package=package,
            repo=ctx.repo,
            on_event=ctx.emit,
            on_touched=self.on_touched,
        )
        if remote is not None:
            return remote
        if self._local is None:
            self._local = LocalRunner(
                ctx.wavedeck_dir,
                on_event=ctx.emit,
                log_max_bytes=ctx.config.agent.log_max_bytes,
                log_keep=ctx.config.agent.log_keep,
                log_min_free=ctx.config.agent.log_min_free_bytes,
            )
        return self._local

    def host_of(self, agent_id: str) -> str | None:
        """The SSH host the agent runs on (its ``[hosts.NAME]``), None when it runs here."""
        return self.runner(agent_id).host

    def transport_of(self, agent_id: str) -> HostTransport:
        """The pooled connection to the agent's host (an agent on a host only)."""
        runner = self.runner(agent_id)
        if not isinstance(runner, RemoteRunner):
            raise ValueError(f"{agent_id} runs on this machine, not on an SSH host")
        return runner.transport

    def is_remote(self, agent_id: str) -> bool:
        return self.host_of(agent_id) is not None

    @property
    def hosts_open(self) -> tuple[str, ...]:
        """The hosts whose runner (and connection pool) is open now."""
        return tuple(sorted(self._remote))

    def applied_by(self, path: str) -> str | None:
        """The remote agent whose patch brought ``path`` into the local tree, if any."""
        for runner in self._remote.values():
            for agent_id, paths in runner.applied.items():
                if path in paths:
                    return agent_id
        return None

    async def close(self) -> None:
        """Close every host's connections (its agents keep running, detached, on the host)."""
        runners, self._remote = list(self._remote.values()), {}
        for runner in runners:
            with contextlib.suppress(Exception):
                await runner.close()
