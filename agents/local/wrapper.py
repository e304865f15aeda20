"""The wrapper every local agent runs under: records how the agent ended in its exit file.

Run as a *script by path* (``python3 -I .../agents/local/wrapper.py EXIT_FILE -- ARGV...``), never with
``-m``: the agent's working directory is a user's repository, which may well have its own
``agents`` package. So this module imports nothing but the standard library.

The runner starts the wrapper in a new session (its own process group) with stdout and stderr on
the agent's log. The wrapper:

1. ignores SIGTERM/SIGINT/SIGHUP with a no-op *handler* (not ``SIG_IGN``, which the agent would
   inherit across ``exec``), so that when the group is told to stop, the agent gets the signal and
   the wrapper lives on to record it;
2. runs the agent (argv as given, never through a shell) and waits for it by pid, not for its
   output, so a grandchild holding the log open cannot delay completion (B8);
3. writes ``{"code", "signal", "pid", "ended_at"}`` to the exit file atomically (tmp, fsync,
   rename), so a reader sees no file or a whole one;
4. terminates whatever the agent left behind in its process group, and any orphaned descendant
   it adopted as child subreaper (``PR_SET_CHILD_SUBREAPER``: even ones that escaped the group
   with ``setsid``), with SIGTERM, then SIGKILL after ``LEFTOVER_GRACE_S``, repeated until none
   is left (bounded: a leftover may still be forking, B15); then it exits. The exit file is
   written first, so a SIGKILL during this cleanup cannot lose the agent's status.

The agent is started with ``PR_SET_PDEATHSIG`` = SIGKILL: if the wrapper dies, however it dies,
the agent dies with it, so "the wrapper is gone" always means "the agent is gone". If the wrapper
is SIGKILLed by the runner's stop escalation, the runner writes the exit file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from types import FrameType

LEFTOVER_GRACE_S = 2.0
LEFTOVER_KILL_S = 2.0  # SIGKILL rounds for leftovers end after this, even if some survive
PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1


def _ignore(signum: int, frame: FrameType | None) -> None:
    """Stay alive while the agent handles the signal; the group already delivered it."""


def write_exit_file(path: str, code: int | None, sig: str | None, pid: int | None) -> None:
    """Write the exit status atomically: readers see the old state (no file) or the whole file."""
    record = {"code": code, "signal": sig, "pid": pid, "ended_at": time.time()}
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(record, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _say(text: str) -> None:
    """A line to the agent's log; a log that cannot be written (disk full) is not fatal (E4)."""
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except OSError:
        pass


def _record(path: str, code: int | None, sig: str | None, pid: int | None) -> None:
    try:
        write_exit_file(path, code, sig, pid)
    except OSError as error:
        # The runner will report the agent as lost; say why in its log.
        _say(f"wavedeck: cannot write exit status to {path}: {error.strerror}")


def _signal_name(n: int) -> str:
    try:
        return signal.Signals(n).name
    except ValueError:
        return f"SIG{n}"


def _leftovers(pgid: int) -> list[int]:
    """Live pids, other than ourselves, in our process group or adopted by us as subreaper."""
    me = os.getpid()
    mine = (str(pgid).encode(), str(me).encode())
    found: list[int] = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                raw = handle.read()
        except OSError:
            continue
        fields = raw[raw.rfind(b")") + 1 :].split()
        # fields[0] is the state, fields[1] the parent pid, fields[2] the process group.
        if (
            len(fields) > 2
            and fields[0] not in (b"Z", b"X")
            and (fields[2] == mine[0] or fields[1] == mine[1])
        ):
            found.append(int(name))
    return found


def _prctl(option: int, value: int) -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux, or no prctl: the process group handling still applies


def _become_subreaper() -> None:
    """Adopt orphaned descendants (even ones that left the group with setsid, B4) so they are
    reaped here and cleaned up at the end, instead of lingering under init."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)


def _die_with(parent: int) -> None:
    """In the agent, before exec: die if the wrapper dies (even by SIGKILL), so an agent never
    runs on unrecorded. Safe as a ``preexec_fn``: the wrapper has a single thread."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the wrapper died before the request took effect
        os._exit(1)


def _reap_orphans() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _clean_group() -> None:
    """Terminate what the agent left running: its process group and orphans we adopted (B8)."""
    pgid = os.getpgrp()
    if pgid != os.getpid():
        return  # not started as a group leader: the group is not ours to clean
    leftovers = _leftovers(pgid)
    _kill_all(leftovers, signal.SIGTERM)
    deadline = time.monotonic() + LEFTOVER_GRACE_S
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.02)
        _reap_orphans()
        leftovers = _leftovers(pgid)
    # SIGKILL round after round until none is left: a leftover may fork between being listed
    # and being killed (a fork storm, B15), and its new child is only in the next listing.
    deadline = time.monotonic() + LEFTOVER_KILL_S
    while leftovers and time.monotonic() < deadline:
        _kill_all(leftovers, signal.SIGKILL)
        time.sleep(0.02)
        _reap_orphans()
        leftovers = _leftovers(pgid)
    _reap_orphans()


def _kill_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except OSError:
            pass


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        _say("usage: wrapper.py EXIT_FILE -- ARGV...")
        return 2
    exit_path, command = argv[0], argv[2:]
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _ignore)
    _become_subreaper()
    try:
        me = os.getpid()
        child = subprocess.Popen(command, preexec_fn=lambda: _die_with(me))
    except OSError as error:
        # The agent never started: say so in its log and record a shell-like status.
        _say(f"wavedeck: cannot start agent {command[0]!r}: {error.strerror}")
        failed = 127 if isinstance(error, FileNotFoundError) else 126
        _record(exit_path, failed, None, None)
        return failed
    # Wait for any child: as subreaper we also reap adopted orphans as they die. waitpid retries
    # on EINTR (PEP 475), so the no-op handlers do not interrupt the wait.
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == child.pid:
            break
    child.returncode = 0  # tell Popen it is reaped, so it never waits on a recycled pid
    code: int | None
    sig: str | None
    if os.WIFSIGNALED(status):
        code, sig = None, _signal_name(os.WTERMSIG(status))
    else:
        code, sig = os.waitstatus_to_exitcode(status), None
    _record(exit_path, code, sig, child.pid)
    _clean_group()
    return code if code is not None else 128 + os.WTERMSIG(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
