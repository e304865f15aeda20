"""``RemoteRunner``: the ``Runner`` for agents on an SSH host (see ``wavedeck.agents.runtypes``).

An agent on a host runs exactly like a local one, only over SSH:

- ``launch`` brings the host's clone to the base commit (this repo's HEAD, see
  ``wavedeck.agents.remote.sync``), uploads the prompt over the channel's stdin (never argv), and starts
  the agent **detached** with ``setsid`` under a small POSIX-sh wrapper that records
  ``PID START`` and, when it ends, ``rc N`` on the host. A live copy is never launched twice;
  the launch id the control room recorded is written there first, so ``find_unrecorded`` finds
  a run a killed control room started, running or ended, instead of launching it again. A
  confined agent runs under the host's Landlock (``wavedeck.agents.remote.hostsandbox``).
- ``follow`` streams the host's log by byte offset (what is there with ``dd bs=1M``, a long
  backlog zstd- or gzip-compressed on the way, then ``tail -c +N -f --pid``). If the connection
  drops it reconnects (capped backoff) and resumes at the offset of the last complete line it
  yielded: nothing lost, nothing repeated. When the agent has ended it drains the log, and brings
  the agent's changes back as a patch applied to the local tree (once; recorded on the host).
  While it runs, what it changes on the host is told as it happens
  (``wavedeck.agents.remote.touched``).
- ``stop`` sends TERM to the process group over its own channel, and KILL after the grace.
- Quitting the control room leaves remote agents running; a new ``RemoteRunner`` given the saved
  ``AgentHandle`` re-attaches (``is_alive``, ``follow(handle, saved_offset)``).

Lines follow the one rule of ``wavedeck.agents.lines`` (as the local tailer and the history views do).
Log rotation (``[agent] log_max_bytes``) is local only: a remote agent's log on its host is
one file that grows. Every run appends to it (as the local wrapper appends to its log), so a
restart's or a follow-up's output follows the last run's and the offset the control room
consumed to (its journal too) stays right: nothing shown twice, nothing skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from wavedeck.agents.config import Config, HostConfig
from wavedeck.agents.events import Event, Notice, SandboxStatus
from wavedeck.agents.lines import LineDecoder
from wavedeck.agents.remote.answers import read_found, read_status
from wavedeck.agents.remote.commands import (
    CommandError,
    RemotePaths,
    check_agent_id,
    found_script,
    host_forms,
    launch_script,
    local_prompt_file,
    log_size_script,
    sh_c,
    status_script,
    stop_script,
    translate_paths,
)
from wavedeck.agents.remote.hostsandbox import HostSandbox
from wavedeck.agents.remote.logstream import Codec, Unframer, read_stream
from wavedeck.agents.remote.sync import (
    SyncError,
    apply_patch,
    collected_patch,
    local_changes,
    local_head,
    mark_applied,
    push_base,
    recorded_base,
    send_seed,
    worktree_body,
)
from wavedeck.agents.remote.tailscript import tail_script
from wavedeck.agents.remote.touched import TouchedReporter, TouchedSink
from wavedeck.agents.remote.transport import ConnectionLostError, HostTransport, TransportError
from wavedeck.agents.runtypes import ENDED_START, AgentHandle, ExitStatus, LaunchSpec, LogChunk
from wavedeck.agents.tasks import stop_task

__all__ = ["RemoteRunner", "runner_for"]


class RemoteRunner:
    """Starts, observes and stops detached agents on one SSH host."""

    def __init__(
        self,
        host_name: str,
        host_cfg: HostConfig,
        *,
        repo: Path | None = None,
        on_event: Callable[[Event], None] | None = None,
        on_touched: TouchedSink | None = None,
        bring_back: bool = True,
        transport: HostTransport | None = None,
    ) -> None:
        self.host = host_name
        self.cfg = host_cfg
        self.repo = repo
        self.bring_back = bring_back
        self.on_event = on_event
        self.transport = transport or HostTransport(host_name, host_cfg, on_event)
        self.touched = TouchedReporter(self.transport, on_touched)
        self._sync_lock = asyncio.Lock()
        self._bases_sent: set[str] = set()
        self.applied: dict[str, list[str]] = {}  # agent id -> paths brought back
        self._apply_to: dict[str, Path] = {}  # agent id -> local tree its changes go to
        self._host_workdir: str | None = None
        # [agent] sandbox: the host's Landlock, probed once; and how each agent's last launch
        # was confined (read by the supervisor).
        self._landlock = HostSandbox(host_name, self.transport)
        self.sandboxed: dict[str, SandboxStatus] = {}
        # Catch-up compression of a long backlog (tailscript.tail_script): auto (zstd, or gzip
        # unless the host is this machine), always (zstd or gzip), never. How each agent's
        # latest follow attempt got its backlog: plain, zstd or gzip.
        self.compress = "auto"
        self.backlog_codec: dict[str, Codec] = {}

    def _notice(self, message: str) -> None:
        self._emit(Notice("error", message))

    def _emit(self, notice: Notice) -> None:
        if self.on_event is not None:
            self.on_event(notice)

    async def find_unrecorded(self, agent_id: str, launch_id: str = "") -> AgentHandle | None:
        """The run launched as ``launch_id`` on the host (``Runner.find_unrecorded``): running,
        or ended (its exit file there; a handle with ``ENDED_START``, never signalled). Without
        a launch id, None: ``launch`` itself finds a copy already running there and returns it.
        An unreachable host raises ``TransportError``: whether the run started cannot be told."""
        if not launch_id:
            return None
        res = await self.transport.run(sh_c(found_script(self.paths(agent_id), launch_id)))
        found = read_found(res.text) if res.returncode == 0 else None
        if found is None:
            return None
        start = found.start_time if found.state == "running" else ENDED_START
        return self._handle(agent_id, found.pid, start)

    def paths(self, agent_id: str) -> RemotePaths:
        return RemotePaths(check_agent_id(agent_id), self.cfg.workdir)

    async def close(self) -> None:
        await self.transport.close()

    # -- launch -------------------------------------------------------------------------------

    def _handle(self, agent_id: str, pid: int, start: int) -> AgentHandle:
        p = self.paths(agent_id)
        return AgentHandle(agent_id, pid, start, pid, p.log, p.exit, host=self.host)

    async def log_size(self, agent_id: str) -> int:
        """The size of the agent's log on the host (0: none). Raises ``TransportError``."""
        res = await self.transport.run(sh_c(log_size_script(self.paths(agent_id))))
        text = res.text.strip()
        if res.returncode != 0 or not text.isdigit():
            raise TransportError(f"{self.host}: cannot read the size of {agent_id}'s log")
        return int(text)

    async def launch(self, spec: LaunchSpec) -> AgentHandle:
        """Start the agent on the host, or return the handle of the copy already running there."""
        paths = self.paths(spec.agent_id)
        repo = spec.cwd  # the tree the changes come back to (the repo, or the agent's worktree)
        self.repo = self.repo or repo
        self._apply_to[spec.agent_id] = repo
        base = await local_head(repo)
        async with self._sync_lock:
            if base not in self._bases_sent:
                await push_base(self.transport, self.cfg.workdir, repo, base)
                self._bases_sent.add(base)
        if await recorded_base(self.transport, paths) is not None:
            # A relaunch (follow-up, restart): the agent resumes on the tree it left, which
            # is now the local one (its changes came back, maybe reviewed or edited since).
            # A fresh worktree at the base would lose them and its answer would not apply.
            await send_seed(self.transport, paths, await local_changes(repo, base))
        # Local paths in argv and env that mean something else on the host: the prompt file
        # (uploaded over stdin, never argv) and the working tree (the agent's host worktree).
        prompt_src = spec.stdin_file or local_prompt_file(spec)
        host_paths: dict[str, str] = {}
        prompt = None
        if prompt_src is not None:
            # The prompt names the local tree ("wavedeck-repo: /local/repo"); on the host the
            # agent works in its worktree: the path is translated like argv and env are.
            prompt = translate_paths(
                Path(prompt_src).read_bytes(), spec.cwd, await self._host_tree(paths)
            )
            host_paths.update(dict.fromkeys(host_forms(Path(prompt_src), spec.cwd), '"$prompt"'))
        host_paths.update(dict.fromkeys(host_forms(spec.cwd, None), '"$wt"'))
        env = {"PYTHONUNBUFFERED": "1", **spec.env}
        argv = [*await self._sandbox_prefix(spec, paths), *spec.argv]
        try:
            script = launch_script(
                paths,
                argv,
                env,
                with_prompt=spec.stdin_file is not None,
                prepare=worktree_body(paths, base),
                store_prompt=prompt is not None,
                argv_exprs={i: host_paths[a] for i, a in enumerate(argv) if a in host_paths},
                env_exprs={k: host_paths[v] for k, v in env.items() if v in host_paths},
                launch_id=spec.launch_id,
            )
        except CommandError as exc:
            raise SyncError(f"{self.host}: cannot start {spec.agent_id}: {exc}") from None
        res = await self.transport.run(sh_c(script), input=prompt, timeout=300)
        words = res.text.split()
        if res.returncode != 0 or len(words) != 3:
            detail = res.stderr.decode("utf-8", "replace").strip()
            raise SyncError(
                f"{self.host}: cannot start {spec.agent_id} (exit {res.returncode}): {detail}"
            )
        if words[0] == "started":
            self.touched.started_from(spec.agent_id, base)
        return self._handle(spec.agent_id, int(words[1]), int(words[2]))

    async def _sandbox_prefix(self, spec: LaunchSpec, paths: RemotePaths) -> list[str]:
        """What confines the agent when it is to be confined and the host can
        (``wavedeck.agents.remote.hostsandbox``); else nothing, and ``sandboxed`` says why."""
        if spec.sandbox is None:
            self.sandboxed.pop(spec.agent_id, None)
            return []
        prefix, self.sandboxed[spec.agent_id] = await self._landlock.confine(
            spec.agent_id, spec.sandbox, paths, await self._workdir(paths)
        )
        return prefix

    async def host_tree(self, agent_id: str) -> str:
        """The absolute path of the agent's worktree on the host."""
        return await self._host_tree(self.paths(agent_id))

    async def sandbox_prefix(self, spec: LaunchSpec) -> list[str]:
        """What confines ``spec`` on the host (as for its runs; empty when the host cannot:
        ``sandboxed`` says why)."""
        return await self._sandbox_prefix(spec, self.paths(spec.agent_id))

    async def _host_tree(self, paths: RemotePaths) -> str:
        """The absolute path of the agent's worktree on the host."""
        return f"{await self._workdir(paths)}/.wavedeck/worktrees/{paths.agent_id}"

    async def _workdir(self, paths: RemotePaths) -> str:
        """The host's workdir, absolute (asked once). Raises ``SyncError`` when it is missing."""
        if self._host_workdir is None:
            res = await self.transport.run(sh_c(paths.prelude() + 'cd "$wd" && pwd -P'))
            if res.returncode != 0 or not res.text.strip().startswith("/"):
                raise SyncError(f"{self.host}: workdir {self.cfg.workdir} does not exist there")
            self._host_workdir = res.text.strip()
        return self._host_workdir

    # -- observe ------------------------------------------------------------------------------

    async def _status(
        self, handle: AgentHandle, retry: bool = True
    ) -> tuple[bool, ExitStatus | None]:
        paths = self.paths(handle.agent_id)
        script = status_script(paths, handle.pid, handle.start_time)
        res = await self.transport.run(sh_c(script), retry=retry)
        return read_status(res.text)

    async def is_alive(self, handle: AgentHandle) -> bool:
        """Whether the agent still runs. An unreachable host answers True after one attempt:
        the agent is detached and presumed running; ``follow`` reconnects when it is back."""
        try:
            return (await self._status(handle, retry=False))[0]
        except TransportError as exc:
            if not exc.retry:
                raise
            return True

    def ran_for(self, handle: AgentHandle) -> None:
        """None: a run's length on a host is read there (its boot clock), a round trip the
        caller, deciding as the agent's end is recorded, does not wait for; and by then the
        host's ``/proc`` no longer has the process. The record's ``started_at`` stands in."""
        return None

    async def exit_status(self, handle: AgentHandle) -> ExitStatus | None:
        """How the agent ended; None while it runs (or when it vanished without a status)."""
        alive, status = await self._status(handle)
        return None if alive else status

    async def stop(self, handle: AgentHandle, grace_s: float) -> str:
        """TERM the agent's group, KILL after ``grace_s``: ``terminated``/``killed``/``not running``."""
        paths = self.paths(handle.agent_id)
        script = stop_script(paths, handle.pgid, handle.start_time, grace_s)
        res = await self.transport.run(sh_c(script), timeout=grace_s + 30)
        return res.text.strip() or "not running"

    async def follow(self, handle: AgentHandle, offset: int) -> AsyncIterator[LogChunk]:
        """Yield log lines from ``offset`` until the agent has ended and its log is drained.

        One channel per attempt: ``tail --pid`` ends by itself once the agent's wrapper is gone,
        and on the host with the channel when the follow is cancelled or its connection drops
        (``tailscript.tail_script``'s keep-alive).
        A dropped connection is reconnected (with backoff) and the log re-read from ``offset``.
        """
        paths = self.paths(handle.agent_id)
        # The one line rule (wavedeck.agents.lines): ``feed`` returns the lines and the bytes
        # they used, which advance the offset a reconnect resumes from.
        splitter = LineDecoder()
        watcher = self.touched.start_watch(paths) if self.touched.sink else None
        compress, failed = self.compress, 0  # failed: compressed attempts in a row that failed
        command = sh_c(tail_script(paths, offset, handle.pid, handle.start_time, compress))
        try:
            while True:
                splitter.pending = b""  # bytes after `offset` are read again
                unframe = Unframer()
                codec_told = False  # this attempt's codec, recorded once (its first byte)
                try:
                    async for data in read_stream(self.transport, command):
                        # Offsets count log bytes: a compressed backlog cut short by a drop
                        # yields the bytes it carried, and the next attempt resumes after them.
                        pieces = unframe.feed(data)
                        if not codec_told and unframe.codec is not None:
                            self.backlog_codec[handle.agent_id] = unframe.codec
                            codec_told = True
                        for piece in pieces:
                            lines, used = splitter.feed(piece)
                            offset += used
                            if lines:
                                yield LogChunk(tuple(lines), offset)
                    unframe.finish()
                except TransportError as exc:
                    if not exc.retry:
                        raise  # a changed host key or refused login: retrying cannot help
                    lost = isinstance(exc, ConnectionLostError)  # the link's fault, not the host's
                    if not lost:
                        failed = failed + 1 if unframe.codec in ("zstd", "gzip") else 0
                    if failed >= 2 and compress != "never":
                        # The host's compressor fails every time: plain, rather than never.
                        compress = "never"
                        said = (
                            f"{handle.agent_id}: the {unframe.codec} catch-up on {self.host}"
                            f" failed twice ({exc}); reading its log uncompressed"
                        )
                        self._emit(Notice("warning", said, agent=handle.agent_id, error=str(exc)))
                    elif not lost:
                        # Unreachable after a full backoff round: the agent is detached and
                        # keeps running; try again (a new round) after the longest delay.
                        await asyncio.sleep(self.cfg.reconnect_cap_s)
                    command = sh_c(
                        tail_script(paths, offset, handle.pid, handle.start_time, compress)
                    )
                    continue  # reconnect (with backoff) and resume at the offset
                break
            lines, used = splitter.flush()
            if lines:
                yield LogChunk(tuple(lines), offset + used)
            if watcher is not None:  # a last look, so no change goes unreported
                # Ended even when a cancel is swallowed (agents.tasks): else this follow, which
                # awaits it, would never record its agent's end.
                await stop_task(watcher, failures=True)
                watcher = None
                await self.touched.report(paths)
            if self.bring_back:
                try:
                    await self.bring_back_changes(handle)
                except (SyncError, TransportError) as exc:
                    self._notice(
                        f"{handle.agent_id}: its changes stay on {self.host} "
                        f"({self.cfg.workdir}/.wavedeck/worktrees/{handle.agent_id}): {exc}"
                    )
        finally:
            if watcher is not None:
                await stop_task(watcher, failures=True)

    # -- bring back ---------------------------------------------------------------------------

    async def bring_back_changes(self, handle: AgentHandle) -> list[str]:
        """Apply the agent's changes to the local tree once (a marker on the host says so)."""
        if self.repo is None:
            raise SyncError("RemoteRunner needs repo= to bring changes back")
        paths = self.paths(handle.agent_id)
        async with collected_patch(self.transport, paths) as patch:
            if patch is None:
                return self.applied.get(handle.agent_id, [])
            changed = await apply_patch(self._apply_to.get(handle.agent_id, self.repo), patch)
            size = patch.stat().st_size
        await mark_applied(self.transport, paths, size)
        self.applied[handle.agent_id] = changed
        return changed


def runner_for(
    agent_id: str,
    config: Config,
    runners: dict[str, RemoteRunner] | None = None,
    *,
    package: str | None = None,
    **kwargs: Any,
) -> RemoteRunner | None:
    """The remote runner for ``agent_id`` when a host in ``config.hosts`` lists it in ``agents``
    (or lists its ``package`` in ``packages``), else None (run it locally).

    ``runners`` caches one runner (one connection pool) per host: pass the same dict every time.
    ``kwargs`` go to ``RemoteRunner``: ``repo``, ``on_event`` (any event sink), ``on_touched``.
    """
    for name, host in sorted(config.hosts.items()):
        wanted = agent_id in host.agents or (
            package is not None and package.strip("/") in [p.strip("/") for p in host.packages]
        )
        if wanted:
            cache = runners if runners is not None else {}
            if name not in cache:
                cache[name] = RemoteRunner(name, host, **kwargs)
            return cache[name]
    return None
