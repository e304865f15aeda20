"""Facts about local processes read from ``/proc``: start times, liveness, process groups, and
the wrapper of an agent nobody recorded (``group_leader_with``).

A pid alone is reused by the kernel, so wavedeck identifies a process by its pid *and* its start
time (``/proc/PID/stat`` field 22, clock ticks since boot). A zombie (state ``Z``) or a dead task
(``X``) counts as gone: it can no longer do anything, and signalling its group would be wrong.
The same start time gives how long a process has run without reading the wall clock (B14).
"""

from __future__ import annotations

import os
import time

_GONE_STATES = ("Z", "X", "x")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` from field 3 (state) on, or None if there is no such pid.

    The command name (field 2) is in parentheses and may itself contain spaces or ``)``, so the
    fields are split after the *last* ``)``.
    """
    if pid <= 0:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    close = raw.rfind(b")")
    if close < 0:
        return None
    return raw[close + 1 :].decode("ascii", "replace").split()


def start_time(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot (field 22), or None if it does not exist."""
    fields = _stat_fields(pid)
    # After the ')' the list starts at field 3, so field 22 is index 19.
    if fields is None or len(fields) < 20:
        return None
    try:
        return int(fields[19])
    except ValueError:
        return None


def running_for(start: int) -> float:
    """Seconds since a process of *this* machine started at ``start`` (clock ticks since boot).

    Both ends are read on the boot clock, never the wall clock, so a wall-clock jump cannot
    change the answer (B14); it holds across a control-room restart, unlike a monotonic reading
    taken in the previous one. Meaningless for a start time read on another host.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - start / ticks)


def state(pid: int) -> str | None:
    """The one-letter scheduler state of ``pid`` (``R``, ``S``, ``Z``, …), or None if it is gone."""
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def pgid_of(pid: int) -> int | None:
    """The process group of ``pid`` (field 5), or None if it is gone."""
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 3:
        return None
    try:
        return int(fields[2])
    except ValueError:
        return None


def is_same_process(pid: int, start: int) -> bool:
    """True if ``pid`` is alive (not a zombie) and is the process that started at ``start``."""
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 20 or fields[0] in _GONE_STATES:
        return False
    try:
        return int(fields[19]) == start
    except ValueError:
        return False


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) pids whose process group is ``pgid``."""
    members: list[int] = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return members
    for name in names:
        if not name.isdigit():
            continue
        fields = _stat_fields(int(name))
        if fields is None or len(fields) < 3 or fields[0] in _GONE_STATES:
            continue
        if fields[2] == str(pgid):
            members.append(int(name))
    return members


def group_leader_with(arg: bytes, before: bytes) -> tuple[int, int] | None:
    """``(pid, start time)`` of a live process-group leader whose command line holds ``arg``
    before the argument ``before`` (a wrapper's exit file, before the agent's own argv), if any.

    Finds an agent a control room started but died before it could record: the wrapper always
    carries the agent's exit file path in its command line, ahead of ``--``.
    """
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if arg not in argv or before not in argv or argv.index(arg) > argv.index(before):
            continue
        pid = int(name)
        start = start_time(pid)
        if start is None or pgid_of(pid) != pid:
            continue
        if not is_same_process(pid, start):
            continue  # a zombie: it has ended, nothing to adopt
        return pid, start
    return None
