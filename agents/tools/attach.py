"""One take-over of an agent's CLI session, start to end (``wavedeck attach``, ``a``).

``Takeover`` does what both surfaces share; they hold the agent's take-over lock around it
(``wavedeck.agents.wave.takeover.TakeoverLock``) and decide who records the report:

1. ``begin`` (async): what the agent's folder, its CLI's transcript and, on an SSH host, its
   worktree look like now; the command to run (the preset's interactive resume, under the
   agent's wrapper and sandbox here, or ``ssh -t`` to its worktree on its host);
2. ``run`` (blocking, in this terminal): the CLI, until the operator leaves it; its exit status
   (ssh's 255: the connection failed or dropped). A CLI that must start alone (Gemini:
   its start-up deletes the sessions not recorded yet) first waits for the agents starting
   now on its machine (here, or its host), and holds their starts there while it runs
   (``wavedeck.agents.wave.startlane.StartLock``);
3. ``end`` (async): what happened, read back: the transcript's new entries (usage, the
   operator's words, the CLI's last answer, the files its tools wrote), the files that changed
   (here: in the agent's folder, not another agent's; on a host: the patch from the worktree as
   it was, applied to the local tree like a remote run's changes, its paths told to
   ``on_host_change`` first), the record appended to the agent's log; the ``TakeoverReport``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from wavedeck.agents.config import Config
from wavedeck.agents.git.cmd import run_git
from wavedeck.agents.git.errors import GitError
from wavedeck.agents.local import foreground
from wavedeck.agents.local.logfiles import logical_size
from wavedeck.agents.markers import append_marker
from wavedeck.agents.presets.transcripts import TRANSCRIPTS, SessionFacts, cost_before
from wavedeck.agents.remote.commands import CommandError, host_forms
from wavedeck.agents.remote.runner import RemoteRunner
from wavedeck.agents.remote.sync import SyncError, apply_patch
from wavedeck.agents.remote.takeover import HostSide, ssh_argv, takeover_script, tree_forms
from wavedeck.agents.remote.transport import TransportError
from wavedeck.agents.runtypes import ExitStatus, LaunchSpec
from wavedeck.agents.wave.startlane import SESSION_WAIT_S, StartLock, one_at_a_time, starts_alone
from wavedeck.agents.wave.takeover import TakeoverReport, marker_lines, record
from wavedeck.plan.errors import WavedeckError
from wavedeck.plan.models import Plan

HostChange = Callable[[str, str, str], None]  # (agent, path, change)
DROPPED = 255  # ssh's status when it could not connect or the connection dropped
TURN_WAIT_S = SESSION_WAIT_S * 6  # how long a take-over waits for the agents starting now


class TakeoverError(WavedeckError):
    """The take-over could not start (its host unreachable, its worktree missing...)."""


class Takeover:
    """One take-over (see the module docstring)."""

    def __init__(
        self,
        *,
        repo: Path,
        plan: Plan,
        config: Config,
        spec: LaunchSpec,
        session_id: str,
        host: str | None = None,
        on_host_change: HostChange | None = None,
    ) -> None:
        self.repo, self.plan, self.config, self.spec = Path(repo), plan, config, spec
        self.agent = spec.agent_id
        self.session_id, self.host = session_id, host
        self.on_host_change = on_host_change
        self.wavedeck_dir = self.repo / ".wavedeck"
        self.preset = config.agent.preset
        self.started_at = 0.0
        self._began = 0.0  # time.monotonic() when the CLI was about to start
        self.notes: list[str] = []
        self._job: foreground.Foreground | None = None
        self._ssh: list[str] | None = None
        self._runner: RemoteRunner | None = None
        self._side: HostSide | None = None
        self._tree = ""  # the host worktree before
        self._host_cwd = ""
        self._transcript: str | None = None  # here: its path; on a host: its shell words
        self._size = -1  # the transcript's size before (-1: there was none)
        self._cost: float | None = None
        self._dirty: dict[str, tuple[int, int]] = {}

    @property
    def command(self) -> list[str]:
        """What ``run`` runs (after ``begin``)."""
        if self._ssh is not None:
            return list(self._ssh)
        assert self._job is not None, "begin() first"
        return list(self._job.argv)

    @property
    def sandboxed(self) -> str:
        """How the CLI is confined, in words (for the line printed before it starts)."""
        status = (
            self._job.sandbox
            if self._job is not None
            else self._runner.sandboxed.get(self.agent)
            if self._runner is not None
            else None
        )
        if status is None:
            return 'no kernel sandbox ([agent] sandbox = "off")'
        if status.state == "landlock":
            return f"in its kernel sandbox (Landlock ABI {status.abi})"
        return f"unsandboxed ({status.reason}): the watcher judges its writes"

    # -- 1. before ----------------------------------------------------------------------------

    async def begin(self) -> None:
        self.started_at = time.time()
        if self.host is None:
            self._begin_local()
        else:
            try:
                await self._begin_remote(self.host)
            except (SyncError, TransportError, CommandError, OSError) as exc:
                await self.close()
                raise TakeoverError(f"{self.agent} on {self.host}: {exc}") from None
        self.started_at, self._began = time.time(), time.monotonic()

    def _begin_local(self) -> None:
        job = self._job = foreground.prepare(self.spec, self.wavedeck_dir)
        found = TRANSCRIPTS.get(self.preset)
        if found is not None:
            path = found[0].local(job.env, str(self.spec.cwd), self.session_id)
            if path is not None:
                self._transcript = path
                self._size = os.path.getsize(path)
                with open(path, "rb") as handle:
                    handle.seek(max(0, self._size - (1 << 20)))
                    self._cost = cost_before(self.preset, handle.read())
        self._dirty = self._status()

    async def _begin_remote(self, host: str) -> None:
        cfg = self.config.hosts[host]
        runner = self._runner = RemoteRunner(host, cfg, repo=self.repo, bring_back=False)
        paths = runner.paths(self.agent)
        self._host_cwd = await runner.host_tree(self.agent)
        argv = [*await runner.sandbox_prefix(self.spec), *self.spec.argv]
        local = tree_forms(self.spec.cwd) | host_forms(self.spec.cwd, None)
        prompt = self.spec.env.get("WAVEDECK_PROMPT_FILE")
        exprs = {form: '"$wt"' for form in local}
        if prompt:
            exprs[prompt] = '"$prompt"'
        script = takeover_script(
            paths,
            argv,
            self.spec.env,
            argv_exprs={i: exprs[a] for i, a in enumerate(argv) if a in exprs},
            env_exprs={k: exprs[v] for k, v in self.spec.env.items() if v in exprs},
        )
        self._ssh = ssh_argv(cfg, script)
        side = self._side = HostSide(runner.transport, paths)
        self._tree = await side.tree()
        found = TRANSCRIPTS.get(self.preset)
        if found is not None:
            self._transcript = found[0].shell(self._host_cwd, self.session_id)
            self._size, tail = await side.transcript_state(self.spec.env, self._transcript)
            self._cost = cost_before(self.preset, tail)

    # -- 2. the CLI, in this terminal -----------------------------------------------------------

    def run(self) -> ExitStatus:
        """Run the CLI on this terminal until the operator leaves it (blocking)."""
        if self._ssh is not None:
            try:
                done = subprocess.run(self._ssh, check=False)
            except OSError as exc:
                raise TakeoverError(f"cannot run ssh: {exc.strerror}") from None
            return ExitStatus(done.returncode)
        assert self._job is not None, "begin() first"
        with self._alone():
            return foreground.run(self._job)

    @contextlib.contextmanager
    def _alone(self) -> Iterator[None]:
        """One start at a time (``wavedeck.agents.wave.starts``): a CLI whose start-up deletes
        the sessions not recorded yet (Gemini) starts once the agents starting on its machine
        (here, or its host) have theirs recorded, and none starts there while it runs (that
        place's ``StartLock``, held by the control room's starts there); bounded, then refused.
        On a host, whether a start there races is not asked (a blocking step): it waits its
        turn whenever its CLI's starts can race, which costs only the wait."""
        agent = self.config.agent
        if not (starts_alone(agent) if self.host is None else one_at_a_time(agent)):
            yield
            return
        lock = StartLock(self.wavedeck_dir, self.config.login_of(self.host))
        deadline = time.monotonic() + TURN_WAIT_S
        told = False
        while not lock.acquire(note=f"the take-over of {self.agent}"):
            if time.monotonic() > deadline:
                raise TakeoverError(
                    f"other agents of its CLI are still starting ({lock.holder()}): its start "
                    "could delete their sessions; try again once they have started"
                )
            if not told:
                sys.stderr.write(
                    f"wavedeck: {self.agent}: waiting for the agents of its CLI starting now to "
                    "record their sessions (its start-up would delete them)…\n"
                )
                sys.stderr.flush()
                told = True
            time.sleep(0.2)  # a lock another task or process holds: nothing to await here
        try:
            yield
        finally:
            lock.release()

    # -- 3. after -----------------------------------------------------------------------------

    async def end(self, status: ExitStatus) -> TakeoverReport:
        """What happened (see the module docstring); the record is in the agent's log."""
        ended_at, seconds = time.time(), time.monotonic() - self._began
        dropped = self.host is not None and status.code == DROPPED
        if self.host is None:
            facts, reported = self._facts_local()
            changed = self._changed_local()
        else:
            facts, reported, changed = await self._after_remote()
        touched = list(dict.fromkeys([*facts.edited, *changed]))
        report = TakeoverReport(
            agent=self.agent,
            session_id=self.session_id,
            started_at=self.started_at,
            ended_at=ended_at,
            seconds=seconds,
            exit_code=status.code,
            signal=status.signal,
            host=self.host,
            dropped=dropped,
            reported=reported,
            cli=self.preset,
            input_tokens=facts.input_tokens,
            output_tokens=facts.output_tokens,
            cost_usd=facts.cost_usd,
            turns=facts.turns,
            touched=tuple(touched),
            said=facts.said,
            answer=facts.answer,
            notes=tuple(self.notes),
        )
        before, after = await self._append_record(report)
        # With the record's own trouble (it could not be appended to the log), if any.
        report = report.model_copy(
            update={"log_before": before, "log_after": after, "notes": tuple(self.notes)}
        )
        await self.close()
        return report

    def _facts_local(self) -> tuple[SessionFacts, bool]:
        found = TRANSCRIPTS.get(self.preset)
        if found is None:
            return SessionFacts(), False
        place, read = found
        path = self._transcript or place.local(
            self._job.env if self._job else {}, str(self.spec.cwd), self.session_id
        )
        if path is None:
            self.notes.append(
                f"the {self.preset} transcript of session {self.session_id} was not found"
            )
            return SessionFacts(), False
        try:
            with open(path, "rb") as handle:
                handle.seek(max(0, self._size))
                data = handle.read()
        except OSError as exc:
            self.notes.append(f"cannot read the {self.preset} transcript: {exc.strerror}")
            return SessionFacts(), False
        return read(data, str(self.spec.cwd), self._cost), True

    def _status(self) -> dict[str, tuple[int, int]]:
        """The agent folder's changed files (git's view) with their size and change time."""
        cwd = self.spec.cwd
        try:
            out = run_git(
                cwd, ["status", "--porcelain=v1", "-z", "--untracked-files=all"], read_only=True
            ).out
        except GitError as exc:
            self.notes.append(f"cannot list the changed files: {exc}")
            return {}
        found: dict[str, tuple[int, int]] = {}
        parts = out.split(b"\0")
        i = 0
        while i < len(parts):
            entry, i = parts[i], i + 1
            if len(entry) < 4:
                continue
            if entry[:1] in (b"R", b"C"):
                i += 1  # the source of a rename follows
            path = entry[3:].decode("utf-8", "surrogateescape")
            try:
                st = os.stat(cwd / path)
                found[path] = (st.st_mtime_ns, st.st_size)
            except OSError:
                found[path] = (-1, -1)  # deleted
        return found

    def _changed_local(self) -> list[str]:
        """Files changed during the take-over in the agent's folder, none another agent owns
        (those are the other agent's writes, judged by the watcher)."""
        others = {
            p
            for a in self.plan.agents
            if a.id != self.agent
            for p in a.paths
            if not p.endswith("/")
        }
        after = self._status()
        return [p for p, seen in after.items() if self._dirty.get(p) != seen and p not in others]

    async def _after_remote(self) -> tuple[SessionFacts, bool, list[str]]:
        side, runner = self._side, self._runner
        assert side is not None and runner is not None
        facts, reported, changed = SessionFacts(), False, []
        found = TRANSCRIPTS.get(self.preset)
        try:
            if found is not None and self._transcript is not None:
                data = await side.transcript_since(self.spec.env, self._transcript, self._size)
                facts, reported = found[1](data, self._host_cwd, self._cost), True
        except (SyncError, TransportError) as exc:
            self.notes.append(f"cannot read the {self.preset} transcript on {self.host}: {exc}")
        try:
            patch = await side.changes_since(self._tree)
            changed = await apply_patch(self.spec.cwd, patch, before=self._tell_host_changes)
        except (SyncError, TransportError, CommandError) as exc:
            where = f"{runner.cfg.workdir}/.wavedeck/worktrees/{self.agent}"
            self.notes.append(f"its changes stay on {self.host} ({where}): {exc}")
        return facts, reported, changed

    def _tell_host_changes(self, paths: list[str]) -> None:
        if self.on_host_change is not None:
            for path in paths:
                self.on_host_change(self.agent, path, "modified")

    async def _append_record(self, report: TakeoverReport) -> tuple[int | None, int | None]:
        """Append the record to the agent's log (here, or on its host); its place there."""
        if self._side is not None:
            try:
                return await self._side.append_log(marker_lines(report))
            except (SyncError, TransportError, ValueError) as exc:
                self.notes.append(f"the record could not be added to its log on {self.host}: {exc}")
                return None, None
        log = self.wavedeck_dir / "logs" / f"{self.agent}.log"
        before = logical_size(log) if log.exists() else 0
        append_marker(log, *record(report))
        return before, logical_size(log)

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.close()
