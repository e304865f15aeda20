"""``wavedeck attach AGENT [--stop | --wait] [--repo DIR]``: take over an agent's CLI session.

The agent's CLI resumes its session interactively in this terminal (``claude --resume``,
``codex resume``...), in the agent's folder, with its environment, ownership rules and kernel
sandbox, or over ``ssh -t`` in its worktree on its host (``wavedeck.agents.tools.attach``).
Leaving the CLI hands the session back: the record goes into the agent's log and its usage and
files into the run state, and the command exits with the CLI's status (ssh's 255 when the
connection failed or dropped).

It needs no control room and does not take the control room's lock: beside a running control
room it holds only the agent's take-over lock (the control room launches nothing for that agent
meanwhile) and leaves its report for the control room to apply; with none running, it records
the report itself. Never while the agent's headless run is going (two writers of one session):
``--stop`` stops that run first (its progress is kept), ``--wait`` waits for it to end. Exit 2
when it cannot start (not in the plan, no session to resume, the run going...).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from wavedeck.plan.safetext import neutralize
from wavedeck.tui.cli.common import fail, load_run_inputs

if TYPE_CHECKING:
    from wavedeck.agents.state import AgentRecord
    from wavedeck.agents.wave.supervisor import Supervisor
    from wavedeck.agents.wave.takeover import TakeoverReport

WAIT_POLL_S = 0.5  # another process's agent: nothing to await, its liveness is looked at


def _say(text: str) -> None:
    click.echo(f"wavedeck: {neutralize(text)}", err=True)


async def _alive(sup: Supervisor, agent_id: str, rec: AgentRecord) -> bool:
    """The agent's headless run is going (its process checked, not only its record)."""
    from wavedeck.agents.local import procinfo

    handle = rec.handle
    if rec.state != "running" or handle is None:
        return False
    if handle.host is None:
        return procinfo.is_same_process(handle.pid, handle.start_time)
    return await sup.runners.runner(agent_id).is_alive(handle)


async def _attach(sup: Supervisor, agent_id: str, stop: bool, wait: bool) -> int:
    try:
        return await _take_over(sup, agent_id, stop, wait)
    finally:
        await sup.runners.close()


async def _take_over(sup: Supervisor, agent_id: str, stop: bool, wait: bool) -> int:
    from wavedeck.agents.local.foreground import quiet_signals
    from wavedeck.agents.presets import PresetError
    from wavedeck.agents.state import StateError
    from wavedeck.agents.tools.attach import Takeover, TakeoverError
    from wavedeck.agents.wave import takeover

    told = False
    terminal_checked = False
    try:
        while True:
            sup.peek()
            rec = sup.state.agents.get(agent_id)
            running = rec is not None and await _alive(sup, agent_id, rec)
            wave_open = rec is not None and sup.ctx.open_wave() == rec.wave
            refusal = takeover.check(
                sup.plan, sup.config, agent_id, rec, wave_open=wave_open, running=running
            )
            if refusal is not None and (refusal.code != "agent-running" or not (stop or wait)):
                return _refused(takeover.words(refusal))
            if not terminal_checked:  # before anything is stopped
                terminal_checked = True
                if not sys.stdin.isatty():
                    return _refused(
                        f"{agent_id}'s CLI runs interactively: wavedeck attach needs a terminal "
                        "(its stdin is not one)"
                    )
            if refusal is None:
                break
            assert rec is not None and rec.handle is not None
            if stop:
                grace = sup.config.agent.stop_grace_s
                how = await sup.runners.runner(agent_id).stop(rec.handle, grace)
                _say(f"{agent_id}'s headless run: {how} (its progress is kept)")
                stop = False
                continue
            if not told:
                _say(f"waiting for {agent_id}'s headless run to end…")
                told = True
            await asyncio.sleep(WAIT_POLL_S)
    except StateError as exc:
        return _refused(str(exc))
    assert rec is not None and rec.session_id is not None
    lock = takeover.TakeoverLock(sup.wavedeck_dir, agent_id)
    if not lock.acquire(note="wavedeck attach"):
        taken = takeover.TakeoverRefusal("taken-over", agent_id, lock.holder())
        return _refused(takeover.words(taken))
    try:
        try:
            spec = sup.takeover_spec(agent_id)
        except PresetError as exc:
            return _refused(str(exc))
        if spec is None:
            return _refused(f"{agent_id}: its preset has no session to resume")
        host = sup.host_of(agent_id)
        job = Takeover(
            repo=sup.repo, plan=sup.plan, config=sup.config, spec=spec,
            session_id=rec.session_id, host=host,
        )  # fmt: skip
        try:
            await job.begin()
        except TakeoverError as exc:
            return _refused(str(exc))
        where = f"on {host} over ssh" if host else f"in {spec.cwd}"
        _say(
            f"taking over {agent_id}'s {sup.config.agent.preset} session {rec.session_id} "
            f"{where}, {job.sandboxed}; leave the CLI to hand it back"
        )
        with quiet_signals():
            status = await asyncio.to_thread(job.run)
        report = await job.end(status)
        _record(sup, report)
    finally:
        lock.release()
    for line in takeover.marker_lines(report):
        click.echo(neutralize(line), err=True)
    if report.dropped:
        _say(f"the connection to {host} failed or dropped (ssh exit 255): back in this shell")
    if status.code is not None:
        return status.code
    return 128 + signal.Signals[status.signal or "SIGTERM"].value


def _record(sup: Supervisor, report: TakeoverReport) -> None:
    """The report into the run state: by this command when no control room holds the state's
    lock, else left for that control room (it applies it within a second)."""
    from wavedeck.agents.state import AlreadyRunning
    from wavedeck.agents.wave import takeover

    store = sup.ctx.store
    try:
        store.lock()
    except AlreadyRunning:
        takeover.write_report(sup.wavedeck_dir, report)
        _say("recorded by the control room running on this repository")
        return
    try:
        state = store.load()
        rec = state.agents.get(report.agent)
        if rec is not None:
            _, _, offset = takeover.settle(report.agent, rec, report)
            if offset is not None:
                rec.offset = offset
            store.save(state)
    finally:
        store.unlock()


def _refused(message: str) -> int:
    _say(message)
    return 2


@click.command("attach")
@click.argument("agent")
@click.option(
    "--stop", "stop", is_flag=True, help="Stop its headless run first (its progress is kept)."
)
@click.option("--wait", "wait", is_flag=True, help="Wait for its headless run to end, then attach.")
@click.option(
    "--repo",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=".",
    help="The repository (default: the current folder).",
)
def attach_cmd(agent: str, stop: bool, wait: bool, repo: Path) -> None:
    """Take over AGENT's CLI session in this terminal, then hand it back.

    Resumes the agent's session interactively (Claude Code, Codex, Gemini CLI, opencode, Qwen
    Code), in its folder or over ssh on its host, under its ownership rules and kernel sandbox.
    Leaving the CLI records what happened in the agent's log; the exit status is the CLI's.
    Works beside a running control room.
    """
    from wavedeck.agents.git.errors import GitError
    from wavedeck.agents.wave.supervisor import Supervisor, SupervisorError

    if stop and wait:
        fail("--stop and --wait cannot be combined")
    root = repo.absolute()
    if not (root / ".wavedeck" / "state.json").exists():
        fail(f"no run recorded in {root} (no .wavedeck/state.json): nothing to attach to")
    config, plan, plan_path = load_run_inputs(root, None, False)
    try:
        sup = Supervisor(root, plan, config, plan_path=plan_path)
    except (SupervisorError, GitError, OSError) as exc:
        fail(str(exc))
    sys.exit(asyncio.run(_attach(sup, agent, stop, wait)))


COMMANDS: list[click.Command] = [attach_cmd]
