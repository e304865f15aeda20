"""The wrapper every local agent runs under: records how the agent ended in its exit file.

Run as a *script by path* (``python3 -I .../agents/local/wrapper.py EXIT_FILE -- ARGV...``), never with
``-m``: the agent's working directory is a user's repository, which may well have its own
``agents`` package. So this module imports nothing but the standard library.

The runner starts the wrapper in a new session (its own process group) with stdout and stderr on
the agent's log. Given ``--log PATH`` (as the runner does), the agent writes into a pipe instead
and the wrapper copies it into the log, rotating by size (``--log-max-bytes``, ``--log-keep``):
see ``segments.SegmentWriter``. Given ``--facts PATH --facts-of PRESET`` too, every chunk is
first shown to ``factscan.FactScanner``, which appends the lines carrying facts (progress,
session, usage, tool calls, refusals) to a record that never rotates: a reader that falls
behind the rotation loses display lines, never facts. The modules named here (``segments``,
``factscan``, ``procgroup``, ``landlock``) are the ones beside this file, loaded by path. The
wrapper:

1. ignores SIGTERM/SIGINT/SIGHUP with a no-op *handler* (not ``SIG_IGN``, which the agent would
   inherit across ``exec``), so that when the group is told to stop, the agent gets the signal and
   the wrapper lives on to record it;
2. runs the agent (argv as given, never through a shell) and waits for it by pid, not for its
   output, so a grandchild holding the log open cannot delay completion (B8);
3. writes ``{"code", "signal", "pid", "ended_at"}`` to the exit file atomically (into space
   reserved before it started, ``<exit>.pending``, then renamed: a disk an agent filled cannot
   lose it), so a reader sees no file or a whole one; given ``--launch-id ID`` (the id the
   control room recorded before starting it), ``"launch": ID`` too, so a run that ended before
   a killed control room could record it is recognised as that launch;
4. terminates whatever the agent left behind in its process group, and any orphaned descendant
   it adopted as child subreaper (``PR_SET_CHILD_SUBREAPER``: even ones that escaped the group
   with ``setsid``), with SIGTERM, then SIGKILL, repeated until none is left (bounded: a
   leftover may still be forking, B15; ``procgroup``, without which the agent is not started);
   then it exits. The exit file is written first, so a SIGKILL during this cleanup cannot lose
   the agent's status.

The agent is started with ``PR_SET_PDEATHSIG`` = SIGKILL: if the wrapper dies, however it dies,
the agent dies with it, so "the wrapper is gone" always means "the agent is gone". If the wrapper
is SIGKILLed by the runner's stop escalation, the runner writes the exit file.

Given ``--sandbox SPEC_FILE``, the agent runs in a Landlock domain (``landlock``): the rules are
resolved and the ruleset built here, before the fork, so a failure is reported in the log with
its path and the agent is not started (126); the child enters the domain right before it execs
the agent, with ``TMPDIR`` set to its private folder. The wrapper itself stays outside the
domain: it writes the log and the exit file.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

EXIT_RESERVE = 4096  # bytes set aside for the exit record (one is about 80)
PIPE_BYTES = 1024 * 1024
COPY_DRAIN_S = 5.0  # after the cleanup, how long the copier may take to drain the pipe


_WRITER: Any = None  # segments.SegmentWriter, given --log
_LAUNCH: str | None = None  # --launch-id: this run's id, named in the exit file


def _copy(read_end: int, writer: Any) -> None:
    """Copy the agent's output from the pipe into the log until every writer has closed it."""
    told = False
    while True:
        try:
            data = os.read(read_end, 256 * 1024)
        except InterruptedError:
            continue
        except OSError:
            break
        if not data:
            break
        writer.write(data)
        if writer.facts_error is not None and not told:
            told = True
            _say(f"wavedeck: the fact record stopped: {writer.facts_error}")
    os.close(read_end)
    writer.close_facts()


def _ignore(signum: int, frame: FrameType | None) -> None:
    """Stay alive while the agent handles the signal; the group already delivered it."""


def write_exit_file(
    path: str, code: int | None, sig: str | None, pid: int | None, launch: str | None = None
) -> None:
    """Write the exit status atomically: readers see the old state (no file) or the whole file.

    The record goes into the space ``reserve_exit_file`` set aside when the agent started, if
    it did (overwriting allocated bytes needs no free space: a full disk cannot lose it);
    else into a new file."""
    fields: dict[str, object] = {"code": code, "signal": sig, "pid": pid, "ended_at": time.time()}
    if launch:
        fields["launch"] = launch
    record = json.dumps(fields)
    data = record.encode("utf-8")
    pending = f"{path}.pending"
    try:
        fd = os.open(pending, os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        fd = -1
    if fd >= 0 and len(data) <= EXIT_RESERVE:
        try:
            os.pwrite(fd, data, 0)
            os.ftruncate(fd, len(data))  # shrinking needs no space
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(pending, path)
        return
    if fd >= 0:
        os.close(fd)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(record)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def reserve_exit_file(path: str) -> None:
    """Set aside ``EXIT_RESERVE`` bytes on disk for the exit record (``<path>.pending``), while
    there is room: the agent may fill the disk before it ends. Raises ``OSError`` (ENOSPC: no
    room) and leaves nothing behind.

    The runner reserves before it starts the wrapper (another agent may fill the disk while this
    one is starting up); the wrapper's own call then keeps that reservation as it is, never
    truncating it (freed, its blocks could go to a flooding agent before they are written
    again)."""
    pending = f"{path}.pending"
    try:
        found = os.lstat(pending)
        if stat.S_ISREG(found.st_mode) and found.st_size >= EXIT_RESERVE:
            return  # set aside already (by the runner, or by a run that was killed)
    except FileNotFoundError:
        pass
    fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        if os.write(fd, b" " * EXIT_RESERVE) < EXIT_RESERVE:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), pending)
        os.fsync(fd)
    except OSError:
        os.close(fd)
        os.unlink(pending)
        raise
    os.close(fd)


def _say(text: str) -> None:
    """A line to the agent's log; a log that cannot be written (disk full) is not fatal (E4)."""
    if _WRITER is not None:
        _WRITER.write((text + "\n").encode("utf-8", "replace"))
        return
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except OSError:
        pass


def _record(path: str, code: int | None, sig: str | None, pid: int | None) -> None:
    try:
        write_exit_file(path, code, sig, pid, _LAUNCH)
    except OSError as error:
        # The runner will report the agent as lost; say why in its log.
        _say(f"wavedeck: cannot write exit status to {path}: {error.strerror}")


def _signal_name(n: int) -> str:
    try:
        return signal.Signals(n).name
    except ValueError:
        return f"SIG{n}"


def _load(name: str) -> Any:
    """``<name>.py`` beside this file, by path (``-I``: this folder is not on sys.path)."""
    import importlib.util

    where = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"_wavedeck_{name}", where)
    if spec is None or spec.loader is None:
        raise OSError(f"cannot load {where}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def _sandbox(spec_file: str) -> tuple[Any, dict[str, str]]:
    """The ruleset for the agent (built, not applied) and the agent's environment with its
    private ``TMPDIR``; raises ``OSError``/``ValueError`` (or the module's error) with a why."""
    landlock = _load("landlock")
    with open(spec_file, encoding="utf-8") as handle:
        spec = json.load(handle)
    ruleset, policy = landlock.prepare(spec, os.getcwd(), os.environ)
    return ruleset, {**os.environ, "TMPDIR": policy.tmpdir}


def _fact_scanner(options: dict[str, str]) -> tuple[Any, str | None]:
    """The ``factscan.FactScanner`` asked for with ``--facts``, or None and why not."""
    if "--facts" not in options:
        return None, None
    try:
        scanner = _load("factscan").FactScanner(
            options["--facts"], options.get("--facts-of", "generic")
        )
    except Exception as error:  # a missing or broken module, an unwritable record
        return None, f"cannot open {options['--facts']}: {error}"
    return scanner, None


def _options(argv: list[str]) -> tuple[str, dict[str, str], list[str]] | None:
    """``EXIT_FILE [--log PATH --log-max-bytes N --log-keep K --log-min-free F
    [--facts PATH --facts-of KIND]]
    [--sandbox SPEC] [--launch-id ID] -- ARGV...``, or None."""
    if "--" not in argv[1:]:
        return None
    split = argv.index("--", 1)
    head, command = argv[:split], argv[split + 1 :]
    if not command or len(head) % 2 != 1:
        return None
    options = dict(zip(head[1::2], head[2::2], strict=True))
    known = {"--log", "--log-max-bytes", "--log-keep", "--log-min-free", "--sandbox"}
    known |= {"--facts", "--facts-of"}
    if set(options) - known - {"--launch-id"}:
        return None
    return head[0], options, command


def main(argv: list[str]) -> int:
    global _WRITER, _LAUNCH
    parsed = _options(argv)
    if parsed is None:
        _say(
            "usage: wrapper.py EXIT_FILE [--log PATH --log-max-bytes N --log-keep K"
            " --log-min-free F [--facts PATH --facts-of KIND]] [--sandbox SPEC] [--launch-id ID]"
            " -- ARGV..."
        )
        return 2
    exit_path, options, command = parsed
    _LAUNCH = options.get("--launch-id")
    try:  # the runner did already; best effort here: else the record is written as usual
        reserve_exit_file(exit_path)
    except OSError:
        pass
    copier: threading.Thread | None = None
    out: int | None = None
    if "--log" in options:
        facts, why = _fact_scanner(options)
        try:
            _WRITER = _load("segments").SegmentWriter(
                options["--log"],
                int(options.get("--log-max-bytes", "0")),
                int(options.get("--log-keep", "1")),
                int(options.get("--log-min-free", "0")),
                facts,
            )
        except (OSError, ValueError) as error:
            _say(f"wavedeck: cannot open the log {options['--log']}: {error}")
            _record(exit_path, 126, None, None)
            return 126
        if why is not None:  # the agent runs on: only a log read too late would lose facts
            _say(f"wavedeck: no fact record, {why}")
        read_end, out = os.pipe2(os.O_CLOEXEC)
        try:  # a larger pipe: a flooding agent blocks less often waiting for the copier
            fcntl.fcntl(read_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        except (OSError, AttributeError):
            pass  # capped by /proc/sys/fs/pipe-max-size, or not Linux: the default will do
        # Started after the agent: forking while a second thread runs is not safe.
        copier = threading.Thread(target=_copy, args=(read_end, _WRITER), daemon=True)
    try:
        group = _load("procgroup")
    except Exception as error:  # never run an agent whose leftovers could not be cleaned up
        _say(f"wavedeck: cannot load procgroup.py, the agent is not started: {error}")
        if out is not None:
            os.close(out)
        _record(exit_path, 126, None, None)
        return 126
    ruleset: Any = None
    env: dict[str, str] | None = None
    if "--sandbox" in options:
        try:
            ruleset, env = _sandbox(options["--sandbox"])
        except Exception as error:  # any failure: the agent must not run unsandboxed
            _say(f"wavedeck: cannot apply the sandbox, the agent is not started: {error}")
            if out is not None:
                os.close(out)
            _record(exit_path, 126, None, None)
            return 126
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _ignore)
    group.become_subreaper()
    try:
        me = os.getpid()

        def before_exec() -> None:
            group.die_with(me)
            if ruleset is not None:
                ruleset.restrict()  # after fork, before exec: only the agent is confined

        child = subprocess.Popen(command, stdout=out, stderr=out, env=env, preexec_fn=before_exec)
    except subprocess.SubprocessError as error:
        # preexec_fn raised: the domain could not be entered; never run the agent without it.
        _say(f"wavedeck: cannot enter the sandbox, the agent is not started: {error}")
        _record(exit_path, 126, None, None)
        return 126
    except OSError as error:
        # The agent never started: say so in its log and record a shell-like status.
        _say(f"wavedeck: cannot start agent {command[0]!r}: {error.strerror}")
        failed = 127 if isinstance(error, FileNotFoundError) else 126
        _record(exit_path, failed, None, None)
        return failed
    finally:
        if out is not None:
            os.close(out)  # the agent holds the only write end: its end (and its group's) is EOF
        if copier is not None:
            copier.start()
        if ruleset is not None:
            ruleset.close()
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
    group.clean_group()
    if copier is not None:
        # Every writer of the pipe is gone now: the copier drains what is left and ends. The
        # runner sees the agent end only when we exit, so the log is whole by then.
        copier.join(COPY_DRAIN_S)
    if _WRITER is not None:
        _WRITER.finish()
    return code if code is not None else 128 + os.WTERMSIG(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
