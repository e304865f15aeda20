"""The agent's process group as the wrapper keeps it: nothing outlives the agent unrecorded.

- ``become_subreaper``: the wrapper adopts orphaned descendants (``PR_SET_CHILD_SUBREAPER``), even
  ones that left the group with ``setsid`` (B4), so they are reaped and cleaned up here;
- ``die_with``: in the agent, before exec, ``PR_SET_PDEATHSIG`` = SIGKILL: if the wrapper dies,
  however it dies, the agent dies with it;
- ``clean_group``: once the agent ended, whatever it left behind in the group and every adopted
  orphan gets SIGTERM, then SIGKILL after ``LEFTOVER_GRACE_S``, repeated until none is left
  (bounded by ``LEFTOVER_KILL_S``: a leftover may still be forking, B15).

The wrapper (``wrapper.py`` beside this file) loads this module by path, so it imports nothing
but the standard library (see ``segments``).
"""

from __future__ import annotations

import os
import signal
import time

LEFTOVER_GRACE_S = 2.0
LEFTOVER_KILL_S = 2.0  # SIGKILL rounds for leftovers end after this, even if some survive
PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1


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


def become_subreaper() -> None:
    """Adopt orphaned descendants (even ones that left the group with setsid, B4) so they are
    reaped here and cleaned up at the end, instead of lingering under init."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)


def die_with(parent: int) -> None:
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


def clean_group() -> None:
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
