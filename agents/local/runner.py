"""``LocalRunner``: agents as detached local processes that outlive the control room.

Each agent runs under ``agents/local/wrapper.py`` in a new session (``start_new_session=True``: its own
process group, no controlling terminal), with stdin from its prompt file or ``/dev/null`` and
stdout+stderr copied by the wrapper into ``.wavedeck/logs/<id>.log``, rotated once it holds
``log_max_bytes`` (``wavedeck.agents.local.logfiles``; offsets are logical, so they span the rotations). The wrapper writes how the agent ended to
``.wavedeck/run/<id>.exit``. The control room keeps no pipe to the agent, so quitting or being
SIGKILLed does not disturb it; a fresh ``LocalRunner`` finds it again from its ``AgentHandle``
(pid + start time + pgid) and resumes its log at a saved byte offset.

While the wrapper is still our child, a daemon thread waits for it, so it never lingers as a
zombie (a zombie counts as dead anyway: see ``wavedeck.agents.local.procinfo``).

A pid is trusted only together with its start time: a recycled pid is dead to us and is never
signalled (B11). Stopping sends SIGTERM to the group, then SIGKILL after the grace period (B3, B5),
and returns only once no process of the group runs any more, however many it forked (B15).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from wavedeck.agents.events import Event, Notice, SandboxStatus
from wavedeck.agents.kinds import NoticeLevel
from wavedeck.agents.local import landlock, procinfo, tail, wrapper
from wavedeck.agents.local.logfiles import facts_path, logical_size
from wavedeck.agents.runtypes import ENDED_START, AgentHandle, ExitStatus, LaunchSpec, LogChunk

if TYPE_CHECKING:
    from wavedeck.agents.runtypes import Runner

log = logging.getLogger("wavedeck.runner")

WRAPPER = Path(__file__).with_name("wrapper.py")
POLL_S = 0.02
# After the wrapper is gone without an exit file, how long follow() waits for one (stop() writes
# it right after a SIGKILL) before it ends anyway.
LOST_EXIT_WAIT_S = 1.0
# How long stop() waits for the wrapper to go after SIGKILL, and then for the rest of the group.
KILL_WAIT_S = 5.0
STOP_RESULTS = ("terminated", "killed after grace", "not running")
DEFAULT_LOG_MAX_BYTES = 64 * 1024 * 1024  # as ``[agent] log_max_bytes``
DEFAULT_LOG_KEEP = 3


def read_exit_file(path: str | Path) -> ExitStatus | None:
    """The status in an exit file, or None if there is none (or it cannot be read)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    code = data.get("code")
    sig = data.get("signal")
    return ExitStatus(
        code=code if isinstance(code, int) else None,
        signal=sig if isinstance(sig, str) else None,
    )


def _write_exit_if_missing(path: str, status: ExitStatus) -> None:
    """Record ``status`` unless the wrapper already did (``os.link`` never overwrites)."""
    record = {"code": status.code, "signal": status.signal, "pid": None, "ended_at": time.time()}
    tmp = f"{path}.tmp.runner.{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)
    except FileExistsError:
        pass
    except OSError as error:
        log.warning("cannot write exit file %s: %s", path, error)
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


class LocalRunner:
    """Starts, observes and stops detached agents on this machine (``wavedeck.agents.runtypes.Runner``)."""

    def __init__(
        self,
        wavedeck_dir: Path,
        on_event: Callable[[Event], None] | None = None,
        *,
        log_max_bytes: int = DEFAULT_LOG_MAX_BYTES,
        log_keep: int = DEFAULT_LOG_KEEP,
        log_min_free: int = 0,
    ) -> None:
        self.wavedeck_dir = Path(wavedeck_dir)
        self.log_max_bytes = log_max_bytes
        self.log_keep = log_keep
        self.log_min_free = log_min_free
        # Told (as a Notice) of each new log read error and of the recovery, so the operator
        # hears of a log that cannot be read while its agent runs on (E4).
        self.on_event = on_event
        self.logs_dir = self.wavedeck_dir / "logs"
        self.run_dir = self.wavedeck_dir / "run"
        # The current read error of each followed log (agent id -> message); cleared on recovery.
        self.log_errors: dict[str, str] = {}
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        # How each agent's last launch was sandboxed ([agent] sandbox); read by the supervisor.
        self.sandboxed: dict[str, SandboxStatus] = {}
        self._abi: int | None = None

    def log_path(self, agent_id: str) -> Path:
        return self.logs_dir / f"{agent_id}.log"

    def facts_path(self, agent_id: str) -> Path:
        """The agent's fact record (``wavedeck.agents.local.factscan``): never rotated."""
        return facts_path(self.log_path(agent_id))

    def exit_path(self, agent_id: str) -> Path:
        return self.run_dir / f"{agent_id}.exit"

    @property
    def host(self) -> None:
        """Agents run on this machine (``Runner.host``)."""
        return None

    async def find_unrecorded(self, agent_id: str, launch_id: str = "") -> AgentHandle | None:
        """A live wrapper of this agent that no record knows (``Runner.find_unrecorded``): a
        control room killed between starting the agent and saving its state leaves one; or,
        once it has ended, the run whose exit file names ``launch_id``."""
        return await asyncio.to_thread(self._find_unrecorded, agent_id, launch_id)

    def _find_unrecorded(self, agent_id: str, launch_id: str) -> AgentHandle | None:
        """``find_unrecorded``, blocking (it reads /proc and the exit file)."""
        found = procinfo.group_leader_with(str(self.exit_path(agent_id)).encode(), b"--")
        if found is None:
            return self._ended_launch(agent_id, launch_id) if launch_id else None
        pid, start = found
        return AgentHandle(
            agent_id=agent_id,
            pid=pid,
            start_time=start,
            pgid=pid,
            log_path=str(self.log_path(agent_id)),
            exit_path=str(self.exit_path(agent_id)),
        )

    def _ended_launch(self, agent_id: str, launch_id: str) -> AgentHandle | None:
        """The run launched as ``launch_id`` if its exit file says it ended: a handle that
        never matches a process (``ENDED_START``), for its log and its exit file."""
        try:
            data = json.loads(self.exit_path(agent_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("launch") != launch_id:
            return None  # no exit file, or an earlier run's
        pid = data.get("pid")
        pid = pid if isinstance(pid, int) and pid > 0 else ENDED_START
        return AgentHandle(
            agent_id=agent_id,
            pid=pid,
            start_time=ENDED_START,
            pgid=pid,
            log_path=str(self.log_path(agent_id)),
            exit_path=str(self.exit_path(agent_id)),
        )

    def _sandbox_args(self, spec: LaunchSpec) -> list[str]:
        """``--sandbox SPEC_FILE`` for the wrapper when the agent is to be confined and this
        kernel can (else nothing: the supervisor has said once that the watcher alone judges)."""
        if spec.sandbox is None:
            self.sandboxed.pop(spec.agent_id, None)
            return []
        if self._abi is None:
            self._abi = landlock.abi()
        if self._abi < landlock.MIN_ABI:
            reason = "no-landlock" if self._abi <= 0 else "abi-too-old"
            self.sandboxed[spec.agent_id] = SandboxStatus(
                "unavailable", agent=spec.agent_id, abi=self._abi, reason=reason
            )
            return []
        path = self.run_dir / f"{spec.agent_id}.sandbox.json"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(spec.sandbox.spec, encoding="utf-8")
        tmp.replace(path)
        self.sandboxed[spec.agent_id] = SandboxStatus(
            "landlock", agent=spec.agent_id, abi=self._abi
        )
        return ["--sandbox", str(path)]

    async def log_size(self, agent_id: str) -> int:
        """The logical size of the agent's log (rotations count; 0 when there is none)."""
        return await asyncio.to_thread(logical_size, self.log_path(agent_id))

    async def launch(self, spec: LaunchSpec) -> AgentHandle:
        """Start the agent detached; its log is appended to, never truncated."""
        if not spec.argv or not spec.argv[0]:
            raise ValueError(f"{spec.agent_id}: the agent command is empty")
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_path(spec.agent_id)
        exit_path = self.exit_path(spec.agent_id)
        # A previous run's status would make the new process look finished at once.
        exit_path.unlink(missing_ok=True)
        # Room for the exit record, set aside before the wrapper starts: an agent launched
        # before this one may fill the disk while this one's wrapper is still starting up
        # (under load, its own reservation came too late and the agent ended "lost"). Without
        # the room its end could not be recorded: not started, and said why.
        try:
            await asyncio.to_thread(wrapper.reserve_exit_file, str(exit_path))
        except OSError as error:
            why = f"cannot set aside room for its exit record: {error.strerror}"
            raise OSError(error.errno, why, error.filename) from error
        argv = [
            sys.executable,
            "-I",
            str(WRAPPER),
            str(exit_path),
            "--log",
            str(log_path),
            "--log-max-bytes",
            str(self.log_max_bytes),
            "--log-keep",
            str(self.log_keep),
            "--log-min-free",
            str(self.log_min_free),
            "--facts",
            str(self.facts_path(spec.agent_id)),
            "--facts-of",
            spec.facts_of,
            *self._sandbox_args(spec),
            *(["--launch-id", spec.launch_id] if spec.launch_id else []),
            "--",
            *spec.argv,
        ]
        env = {**os.environ, **spec.env, "WAVEDECK_AGENT_ID": spec.agent_id}
        # The wrapper's own output (only a crash of the wrapper itself) goes to the log too; the
        # agent's goes through the wrapper, which rotates it.
        log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            stdin_path = spec.stdin_file if spec.stdin_file is not None else os.devnull
            stdin_fd = os.open(stdin_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                proc = subprocess.Popen(
                    argv,
                    cwd=spec.cwd,
                    env=env,
                    stdin=stdin_fd,
                    stdout=log_fd,
                    stderr=log_fd,
                    start_new_session=True,
                    close_fds=True,
                )
            finally:
                os.close(stdin_fd)
        finally:
            os.close(log_fd)
        # Read the start time before anything can reap the pid: until we wait for it, even an
        # already-exited wrapper keeps its /proc entry (as a zombie).
        start = procinfo.start_time(proc.pid)
        if start is None:  # pragma: no cover - /proc always has our unreaped child
            raise OSError(f"cannot read the start time of pid {proc.pid}")
        self._children[proc.pid] = proc
        threading.Thread(
            target=self._reap, args=(proc,), name=f"reap-{spec.agent_id}", daemon=True
        ).start()
        return AgentHandle(
            agent_id=spec.agent_id,
            pid=proc.pid,
            start_time=start,
            pgid=proc.pid,  # a session leader leads its own process group
            log_path=str(log_path),
            exit_path=str(exit_path),
        )

    def _reap(self, proc: subprocess.Popen[bytes]) -> None:
        try:
            proc.wait()
        finally:
            self._children.pop(proc.pid, None)

    async def is_alive(self, handle: AgentHandle) -> bool:
        """True while the very process we started runs (pid *and* start time match)."""
        return procinfo.is_same_process(handle.pid, handle.start_time)

    def ran_for(self, handle: AgentHandle) -> float | None:
        """Seconds since the agent's wrapper started, on this machine's boot clock
        (``procinfo.running_for``); None for a run found already ended (``ENDED_START``: its
        start time was never read)."""
        if handle.start_time == ENDED_START:
            return None
        return procinfo.running_for(handle.start_time)

    async def exit_status(self, handle: AgentHandle) -> ExitStatus | None:
        return read_exit_file(handle.exit_path)

    async def stop(self, handle: AgentHandle, grace_s: float) -> str:
        """SIGTERM the agent's group, SIGKILL it after ``grace_s``; return once none of the group
        runs any more (bounded by ``KILL_WAIT_S``), however many processes it forked.

        Returns ``"terminated"``, ``"killed after grace"``, or ``"not running"`` (nothing was
        signalled: the process had ended or its pid now belongs to another process).
        """
        if not await self.is_alive(handle):
            return "not running"
        self._signal_group(handle, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while await self.is_alive(handle):
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(POLL_S)
        else:
            # The wrapper records the agent's end; if the TERM reached it before it had set up
            # its handlers (stopped right after launch), the agent never started: say so.
            _write_exit_if_missing(handle.exit_path, ExitStatus(code=None, signal="SIGTERM"))
            await self._empty_group(handle)
            return "terminated"
        self._signal_group(handle, signal.SIGKILL)
        # SIGKILL cannot be ignored; wait (bounded) until the kernel has taken the process down.
        deadline = time.monotonic() + KILL_WAIT_S
        while await self.is_alive(handle) and time.monotonic() < deadline:
            await asyncio.sleep(POLL_S)
        _write_exit_if_missing(handle.exit_path, ExitStatus(code=None, signal="SIGKILL"))
        await self._empty_group(handle)
        return "killed after grace"

    async def _empty_group(self, handle: AgentHandle) -> None:
        """Once the wrapper is gone, SIGKILL its group until no live member is left (bounded).

        The wrapper going first does not mean the group went with it: after a SIGKILL, a storm
        of hundreds of forked children takes a while to exit (B15), and a leftover the wrapper's
        own cleanup listed may have forked again before it was killed. Signalling the group while
        it still has live members is safe: the kernel keeps a group's id from being reused while
        any process is in it.
        """
        deadline = time.monotonic() + KILL_WAIT_S
        while members := procinfo.group_members(handle.pgid):
            if time.monotonic() >= deadline:
                log.warning(
                    "%s: %d processes of its group survive SIGKILL", handle.agent_id, len(members)
                )
                return
            try:
                os.killpg(handle.pgid, signal.SIGKILL)
            except OSError:  # all gone meanwhile, or none of them ours to signal (EPERM)
                return
            await asyncio.sleep(POLL_S)

    def _signal_group(self, handle: AgentHandle, signum: signal.Signals) -> None:
        # Checked again right before the signal: never signal a group whose leader is not ours.
        if not procinfo.is_same_process(handle.pid, handle.start_time):
            return
        try:
            os.killpg(handle.pgid, signum)
        except ProcessLookupError:
            pass

    async def _finished(self, handle: AgentHandle, gone_since: list[float]) -> bool:
        if await self.is_alive(handle):
            return False
        if Path(handle.exit_path).exists():
            return True
        # Gone without an exit file: the wrapper was killed. Give stop() a moment to record it.
        if not gone_since:
            gone_since.append(time.monotonic())
        return time.monotonic() - gone_since[0] >= LOST_EXIT_WAIT_S

    def _notice(self, level: NoticeLevel, agent_id: str, text: str) -> None:
        if self.on_event is not None:
            self.on_event(Notice(level, f"{agent_id}: {text}", agent=agent_id))

    def follow(self, handle: AgentHandle, offset: int) -> AsyncIterator[LogChunk]:
        """Yield log chunks from byte ``offset`` until the agent has ended and its log is drained."""
        tailer = tail.LogTailer(handle.log_path, offset)
        gone_since: list[float] = []

        agent = handle.agent_id

        def report(message: str) -> None:
            if tailer.error_is_skip:  # not a read error: said once, nothing to recover from
                log.warning("%s: %s", agent, message)
                self._notice("warning", agent, message)
                return
            self.log_errors[agent] = message
            log.warning("%s: %s (retrying)", agent, message)
            self._notice("warning", agent, f"cannot read its log ({message}); it runs on")

        async def finished() -> bool:
            if tailer.error is None and self.log_errors.pop(agent, None) is not None:
                self._notice("info", agent, "its log reads again")
            return await self._finished(handle, gone_since)

        return tail.follow(tailer, finished, on_error=report)


if TYPE_CHECKING:
    _conforms: Runner = LocalRunner(Path())  # mypy checks LocalRunner against the protocol
