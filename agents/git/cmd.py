"""Running git safely: one command at a time per repository, no configured program run, bounded.

Every command goes through GitPython's command wrapper (``Git.execute``), never its object
database or index API (not thread-safe, leaks ``cat-file`` processes). Each command gets:

- the settings of ``wavedeck.agents.git.guard``, in ``GIT_CONFIG_PARAMETERS`` (read after every
  configuration file): hooks, fsmonitor, pagers, editors, transports and every filter, diff and
  merge driver that any configuration defines (read again just before the command) run
  nothing, and patch-producing commands get ``--no-ext-diff --no-textconv``; a program planted
  in ``.git/config`` or ``~/.gitconfig`` by an agent is never run by wavedeck (git runs them
  otherwise, even for a plain ``status``). Hooks run only through ``run_hook`` when the team
  opted in, filters only as ``[git.filters]`` in ``wavedeck.toml`` names them;
- ``GIT_LITERAL_PATHSPECS=1`` (a file named ``:(exclude)x`` is that file, not "everything but x"),
  ``GIT_TERMINAL_PROMPT=0`` (nothing waits for a password), and ``GIT_OPTIONAL_LOCKS=0`` for
  read-only commands (a refresh never writes the index, so the watcher sees no self-made events);
- a timeout after which git and its children (a hanging ``gpg.program``) are killed.

A held ``*.lock`` (another git process is writing) is waited for with a bounded, jittered retry,
then reported by name; wavedeck never deletes a lock (``wavedeck.agents.git.locks``, which also
holds the per-repository lock). What a command returned is a ``wavedeck.agents.git.result.Result``.

This is the only place in ``agents/`` that starts git (a test checks it). Callers without a
``GitRepo`` use ``run_git`` (a blocking call under the repository's lock, ``arun_git`` from the
event loop; ``lock=False`` before the repository exists, as for ``git init``) and ``git_process``
(a command whose output is streamed, such as ``pack-objects`` into an SSH channel).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import selectors
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from git import Git
from git.exc import GitCommandNotFound

from wavedeck.agents.git import guard
from wavedeck.agents.git.errors import GitError
from wavedeck.agents.git.guard import NO_PROGRAMS, RunPolicy, policy_for, safe_environment
from wavedeck.agents.git.locks import LOCK_HELD, backoff, lock_message, repo_lock
from wavedeck.agents.git.result import Result, describe, failure_message

__all__ = ["GitCmd", "arun_git", "git_process", "lock_key", "run_git"]
# The command that lists every configuration scope's settings (it runs no program itself).
_LIST_CONFIG = ("config", "--list", "-z")


class GitCmd:
    """Runs git commands in one working tree with the safety settings above.

    ``policy``: the programs the operator enabled (``[git.filters]``); default: the policy
    registered for the repository with ``set_policy``, else none.
    """

    def __init__(
        self,
        root: Path,
        *,
        timeout_s: float = 120.0,
        lock_wait_s: float = 10.0,
        on_lock_wait: Callable[[str], None] | None = None,
        policy: RunPolicy | None = None,
    ) -> None:
        self.root = root
        self.timeout_s = timeout_s
        self.lock_wait_s = lock_wait_s
        self.on_lock_wait = on_lock_wait
        self.policy = policy
        # The hooks folder pinned when hooks were opted in (a core.hooksPath planted later is
        # not followed); None: whatever git resolves.
        self.hooks_dir: str | None = None
        self._git = Git(str(root))

    def drivers(self) -> guard.Drivers:
        """The filter, diff and merge drivers git's configuration defines now (every scope,
        includes followed), read by a command that runs no program."""
        env = safe_environment(guard.Drivers(), NO_PROGRAMS, read_only=True)
        result = self._execute(["git", *_LIST_CONFIG], env, None, self.timeout_s)
        if result.rc != 0:
            # The command itself would fail on the same configuration: say why, run nothing.
            raise GitError(f"cannot read git's configuration in {self.root}: {result.err.strip()}")
        return guard.parse_drivers(result.out)

    def environment(
        self, *, read_only: bool, hooks: bool = False, extra: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The environment for one command (the configuration is read again for it)."""
        policy = self.policy if self.policy is not None else NO_PROGRAMS
        try:
            return safe_environment(
                self.drivers(), policy, read_only=read_only, hooks=hooks, extra=extra
            )
        except guard.DriverConflict as exc:
            raise GitError(f"{self.root}: {exc}") from None

    def run(
        self,
        args: Sequence[str],
        *,
        read_only: bool = True,
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
        timeout_s: float | None = None,
        check: bool = True,
        allow_hooks: bool = False,
    ) -> Result:
        """Run ``git <args>``; retry while a lock is held (writes only); raise ``GitError``.

        Args:
            args: the arguments after ``git``; paths must come after ``--``.
            read_only: the command writes nothing (adds ``GIT_OPTIONAL_LOCKS=0``).
            env: extra environment (``GIT_INDEX_FILE`` for a temporary index).
            stdin: bytes fed on standard input.
            timeout_s: kill git (and its children) after this long; default the runner's.
            check: raise ``GitError`` on a non-zero exit status.
            allow_hooks: run hooks from ``hooks_dir`` (only for ``git hook run`` when the team
                opted in); fsmonitor stays off regardless.
        """
        pinned = allow_hooks and self.hooks_dir is not None
        hooks_option = ["-c", f"core.hooksPath={self.hooks_dir}"] if pinned else []
        argv = ["git", "--no-pager", *hooks_option, *guard.with_diff_flags(args)]
        deadline = time.monotonic() + self.lock_wait_s
        attempt = 0
        while True:
            full_env = self.environment(read_only=read_only, hooks=allow_hooks, extra=env)
            result = self._execute(argv, full_env, stdin, timeout_s or self.timeout_s)
            held = LOCK_HELD.search(result.err) if result.rc else None
            if held is None or read_only:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GitError(lock_message(held.group(1), self.lock_wait_s))
            if self.on_lock_wait is not None:
                self.on_lock_wait(held.group(1))
            time.sleep(min(backoff(attempt), remaining))
            attempt += 1
        if result.timed_out and check:
            raise GitError(
                f"{describe(args)} did not finish within {timeout_s or self.timeout_s:g} s "
                "and was stopped"
            )
        if check and result.rc != 0:
            raise GitError(failure_message(args, result))
        return result

    def spawn(self, args: Sequence[str]) -> Callable[[], Result]:
        """Start a read-only ``git <args>`` now; the returned function waits for its result.

        Lets two read-only commands (which take no lock) overlap, inside the caller's repository
        lock: the listing of untracked files runs while the diff is computed.
        """
        env = self.environment(read_only=True)
        argv = ["git", "--no-pager", *guard.with_diff_flags(args)]
        try:
            handle = self._git.execute(argv, as_process=True, env=env)
        except GitCommandNotFound as exc:
            raise GitError(f"git is not installed or not on PATH ({exc})") from None

        def wait() -> Result:
            # ``handle`` is read here so the closure keeps it alive until git exits: dropping
            # GitPython's AutoInterrupt terminates the process.
            proc = handle.proc
            if proc is None:
                raise GitError(f"{describe(args)} could not be started")
            try:
                out, err = proc.communicate(timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                raise GitError(
                    f"{describe(args)} did not finish within {self.timeout_s:g} s and was stopped"
                ) from None
            result = Result(proc.returncode, out, err.decode("utf-8", "replace"))
            if result.rc != 0:
                raise GitError(failure_message(args, result))
            return result

        return wait

    def run_capped(self, args: Sequence[str], limit: int) -> tuple[Result, bool]:
        """A read-only ``git <args>`` whose output is read up to ``limit`` bytes only: git is
        stopped there, so a diff of a huge file costs ``limit`` of memory, not the file's size.

        Returns the result (``rc`` is git's, or 0 when it was stopped at the limit) and whether
        the output was cut. Raises ``GitError`` when git cannot start or runs past the timeout.
        """
        env = {**os.environ, **self.environment(read_only=True)}
        argv = ["git", "--no-pager", *guard.with_diff_flags(args)]
        try:
            proc = subprocess.Popen(
                argv,
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # stopped with its children (a filter would be one)
            )
        except OSError as exc:
            raise GitError(f"could not run git in {self.root}: {exc}") from None
        assert proc.stdout is not None and proc.stderr is not None
        chunks: list[bytes] = []
        size, cut = 0, False
        deadline = time.monotonic() + self.timeout_s
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(proc.stdout, selectors.EVENT_READ)
                sel.register(proc.stderr, selectors.EVENT_READ)
                err = bytearray()
                open_streams = 2
                while open_streams:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise GitError(
                            f"{describe(args)} did not finish within {self.timeout_s:g} s "
                            "and was stopped"
                        )
                    for key, _ in sel.select(left):
                        data = os.read(key.fd, 65536)
                        if not data:
                            sel.unregister(key.fileobj)
                            open_streams -= 1
                        elif key.fileobj is proc.stderr:
                            err += data[: max(0, 65536 - len(err))]
                        else:
                            chunks.append(data)
                            size += len(data)
                    if size > limit:
                        cut = True
                        break
        finally:
            if proc.poll() is None:
                _kill_process_group(proc.pid)
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        out = b"".join(chunks)
        rc = 0 if cut else proc.returncode
        return Result(rc, out[: limit + 1], err.decode("utf-8", "replace")), cut

    def _execute(
        self, argv: list[str], env: dict[str, str], stdin: bytes | None, timeout_s: float
    ) -> Result:
        kwargs: dict[str, Any] = {
            "with_extended_output": True,
            "with_exceptions": False,
            "stdout_as_string": False,
            "strip_newline_in_stdout": False,
            "kill_after_timeout": timeout_s,
            "env": env,
        }
        try:
            if stdin is None:
                rc, out, err = self._git.execute(argv, **kwargs)
            else:
                # Git.execute takes stdin as a real file, not bytes.
                with tempfile.TemporaryFile() as feed:
                    feed.write(stdin)
                    feed.seek(0)
                    rc, out, err = self._git.execute(argv, istream=feed, **kwargs)
        except GitCommandNotFound as exc:
            raise GitError(f"git is not installed or not on PATH ({exc})") from None
        except OSError as exc:
            raise GitError(f"could not run git in {self.root}: {exc}") from None
        err_text = err if isinstance(err, str) else err.decode("utf-8", "replace")
        out_bytes = out if isinstance(out, bytes) else str(out).encode()
        timed_out = rc != 0 and err_text.startswith("Timeout: the command")
        return Result(rc, out_bytes, err_text, timed_out)


# The lock key (common git dir) of each folder run_git was called in; a folder that is no
# repository (yet) is its own key.
_KEYS: dict[str, str] = {}
_KEYS_GUARD = threading.Lock()


def lock_key(cwd: Path) -> str:
    """The key of ``cwd``'s repository for ``repo_lock``: its common git dir, as ``GitRepo``'s."""
    folder = str(Path(cwd).resolve())
    with _KEYS_GUARD:
        known = _KEYS.get(folder)
    if known is not None:
        return known
    found = GitCmd(Path(folder)).run(
        ["rev-parse", "--path-format=absolute", "--git-common-dir"], check=False
    )
    key = found.text.strip() if found.rc == 0 and found.text.strip() else folder
    if found.rc == 0:
        with _KEYS_GUARD:
            _KEYS[folder] = key
    return key


def run_git(
    cwd: Path,
    args: Sequence[str],
    *,
    read_only: bool = True,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    timeout_s: float = 120.0,
    check: bool = True,
    lock: bool = True,
) -> Result:
    """Run ``git <args>`` in ``cwd`` with the safety settings, one command at a time per
    repository (``lock=False`` only where no repository exists yet: ``git init``).

    Blocks: from the event loop use ``arun_git``. Raises ``GitError`` as ``GitCmd.run`` does.
    """
    if not Path(cwd).is_dir():  # GitPython would quietly run git in our own folder instead
        raise GitError(f"cannot run git in {cwd}: not a folder")
    options: dict[str, Any] = {"read_only": read_only, "env": env, "stdin": stdin, "check": check}
    if not lock:
        return GitCmd(Path(cwd), timeout_s=timeout_s).run(args, **options)
    key = lock_key(Path(cwd))
    with repo_lock(key):
        return GitCmd(Path(cwd), timeout_s=timeout_s, policy=policy_for(key)).run(args, **options)


async def arun_git(cwd: Path, args: Sequence[str], **options: Any) -> Result:
    """``run_git`` in a worker thread, for callers on the event loop."""
    return await asyncio.to_thread(run_git, cwd, args, **options)


def _read_only_environment(cwd: Path) -> dict[str, str]:
    cmd = GitCmd(cwd, policy=policy_for(lock_key(cwd)))
    return cmd.environment(read_only=True)


@contextlib.asynccontextmanager
async def git_process(
    cwd: Path, args: Sequence[str], *, timeout_s: float = 600.0
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A read-only ``git <args>`` with pipes on stdin, stdout and stderr, for output that is
    streamed rather than held in memory (``pack-objects`` into an SSH channel).

    It takes no repository lock: it writes nothing, and a long transfer must not hold back the
    checkpoint. Safety settings as above; git runs in its own process group, which is killed
    when the block ends with git still running (an error, a cancellation) or after
    ``timeout_s``.
    """
    env = {**os.environ, **await asyncio.to_thread(_read_only_environment, Path(cwd))}
    try:
        proc = await asyncio.create_subprocess_exec(
            "git",
            "--no-pager",
            *guard.with_diff_flags(args),
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise GitError(f"could not run git in {cwd}: {exc}") from None
    loop = asyncio.get_running_loop()
    deadline = loop.call_later(timeout_s, _kill_group, proc)
    try:
        yield proc
    finally:
        deadline.cancel()
        if proc.returncode is None:
            _kill_group(proc)
            with contextlib.suppress(ProcessLookupError):
                await proc.wait()


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    _kill_process_group(proc.pid)


def _kill_process_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
