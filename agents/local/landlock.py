"""Linux Landlock for agents: the kernel domain that holds an agent to what it may write.

Standard library only, because it runs in three places: imported by the control room (the ABI
probe), loaded by path by the local wrapper (``wrapper.py`` runs with ``python3 -I`` in the
user's repository, so it cannot import a package), and run as a script on an SSH host
(``python3 -I landlock.py --spec JSON -- ARGV...``), where nothing of wavedeck is installed. A
PyPI binding would not be there; three syscalls through ctypes are. What the agent may write
is resolved by ``writepolicy.py`` (the rules of a spec), which ``prepare`` loads by path beside
this file, here and on a host alike.

Everything else may be read and executed but not written: reads are never restricted. The
rights restricted are every filesystem write Landlock knows at the kernel's ABI (write,
truncate from ABI 3, create and remove of every kind, rename and link across folders from
ABI 2, device ioctl from ABI 5). Below ``MIN_ABI`` (3: truncate) the domain is not applied and
the caller falls back to the watcher. Network, signals and abstract sockets are not restricted.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import stat
import struct
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, Protocol

    class RuleLike(Protocol):
        """A rule of ``writepolicy`` (``Rule``): what ``kind`` of writes ``path`` allows."""

        @property
        def path(self) -> str: ...
        @property
        def kind(self) -> str: ...

# Only what the wrapper needs to start an agent is imported (no dataclasses, tempfile or hashlib):
# this module is loaded before every sandboxed agent starts: its import time is start-up time.

# struct landlock_ruleset_attr / landlock_path_beneath_attr (include/uapi/linux/landlock.h).
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446  # the same on every arch
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

WRITE_FILE = 1 << 1
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5

# Rights a rule on a regular file may hold (the others only make sense on a folder).
FILE_RIGHTS = WRITE_FILE | TRUNCATE | IOCTL_DEV
# Every write Landlock can restrict; reads (READ_FILE, READ_DIR) and EXECUTE stay unrestricted.
WRITES = (
    WRITE_FILE
    | REMOVE_DIR
    | REMOVE_FILE
    | MAKE_CHAR
    | MAKE_DIR
    | MAKE_REG
    | MAKE_SOCK
    | MAKE_FIFO
    | MAKE_BLOCK
    | MAKE_SYM
    | REFER
    | TRUNCATE
    | IOCTL_DEV
)
_ABI_RIGHTS = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1}
# Below ABI 3, ``open(O_TRUNC)`` and ``truncate(2)`` are not restricted at all (any file the
# agent can open could be emptied): such kernels fall back to the watcher.
MIN_ABI = 3
POLICY_FILE = "writepolicy.py"  # what prepare loads beside this file (uploaded with it to hosts)

# What a rule grants, by kind (masked to the kernel's ABI when applied).
KINDS: dict[str, int] = {
    "file": WRITE_FILE | TRUNCATE,  # an owned file, a CLI's state file, /proc: in place only
    "folder": WRITE_FILE
    | TRUNCATE
    | MAKE_REG
    | REMOVE_FILE
    | MAKE_DIR
    | REMOVE_DIR
    | MAKE_SYM
    | REFER,
    "tree": WRITES & ~(MAKE_CHAR | MAKE_BLOCK),  # TMPDIR, state folders, /dev/shm
    "dev": WRITE_FILE | TRUNCATE | IOCTL_DEV,  # writepolicy.DEVICES: no new nodes
}


class LandlockError(Exception):
    """The domain cannot be built or applied; ``code`` says why (``no-landlock``,
    ``abi-too-old``, ``rule``, ``restrict``; a spec that cannot be resolved is
    ``writepolicy.SpecError``, ``bad-spec``)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


_LIBC: Any = None


def _libc() -> Any:
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(None, use_errno=True)
        _LIBC.syscall.restype = ctypes.c_long
    return _LIBC


def abi() -> int:
    """The kernel's Landlock ABI version: 0 when Landlock is not built in or not enabled (or
    this is not Linux)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        version = _libc().syscall(SYS_CREATE_RULESET, None, 0, CREATE_RULESET_VERSION)
    except (OSError, AttributeError):
        return 0
    return int(version) if version > 0 else 0


def rights(abi_version: int) -> int:
    """The write rights the kernel at ``abi_version`` can restrict."""
    if abi_version <= 0:
        return 0
    return WRITES & _ABI_RIGHTS.get(abi_version, WRITES)


class Ruleset:
    """A Landlock ruleset built from ``rules`` at the kernel's ABI; ``restrict()`` puts the
    calling process (and everything it execs or forks from then on) in its domain.

    Built before ``fork`` (errors are reported with a path, in the parent), restricted in the
    child: ``restrict`` does two syscalls and touches no Python object but ints, so it is safe
    as a ``preexec_fn``.
    """

    def __init__(self, rules: Sequence[RuleLike], abi_version: int | None = None) -> None:
        self.abi = abi() if abi_version is None else abi_version
        if self.abi <= 0:
            raise LandlockError("no-landlock", "the kernel has no Landlock (or it is disabled)")
        if self.abi < MIN_ABI:
            raise LandlockError(
                "abi-too-old", f"Landlock ABI {self.abi} cannot restrict truncate (needs {MIN_ABI})"
            )
        self.handled = rights(self.abi)
        libc = _libc()
        attr = ctypes.create_string_buffer(struct.pack("=Q", self.handled))
        fd = libc.syscall(SYS_CREATE_RULESET, attr, ctypes.sizeof(attr), 0)
        if fd < 0:
            raise LandlockError("no-landlock", os.strerror(ctypes.get_errno()))
        self.fd = int(fd)
        try:
            for rule in rules:
                self._add(libc, rule)
        except BaseException:
            os.close(self.fd)
            raise
        self._prctl = libc.prctl
        self._syscall = libc.syscall

    def _add(self, libc: Any, rule: RuleLike) -> None:
        access = KINDS[rule.kind] & self.handled
        try:
            target = os.open(rule.path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return  # gone meanwhile (a state file, /dev/shm): nothing to allow
        try:
            if not stat.S_ISDIR(os.fstat(target).st_mode):
                access &= FILE_RIGHTS
            attr = ctypes.create_string_buffer(struct.pack("=Qi", access, target), 12)
            if libc.syscall(SYS_ADD_RULE, self.fd, RULE_PATH_BENEATH, attr, 0) != 0:
                code = ctypes.get_errno()
                raise LandlockError("rule", f"{rule.path}: {os.strerror(code)}")
        finally:
            os.close(target)

    def restrict(self) -> None:
        """Enter the domain (no_new_privs first: unprivileged Landlock requires it)."""
        if self._prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if self._syscall(SYS_RESTRICT_SELF, self.fd, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


def _writepolicy() -> Any:
    """``writepolicy.py`` beside this file, by path (the wrapper's ``-I`` and an SSH host have
    no wavedeck package to import it from; on a host it is uploaded beside this script)."""
    import importlib.util

    where = os.path.join(os.path.dirname(os.path.abspath(__file__)), POLICY_FILE)
    spec = importlib.util.spec_from_file_location("_wavedeck_writepolicy", where)
    if spec is None or spec.loader is None:
        raise OSError(f"cannot load {where}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def prepare(spec: Mapping[str, Any], tree: str, environ: Mapping[str, str]) -> tuple[Ruleset, Any]:
    """Resolve ``spec`` (creating what the rules need) and build its ruleset: the ruleset and
    the ``writepolicy.Policy``. Raises ``LandlockError``, ``writepolicy.SpecError`` (a
    ``ValueError``) or ``OSError``."""
    policy = _writepolicy().resolve(spec, tree, environ, create=True)
    return Ruleset(policy.rules), policy


def _main(argv: list[str]) -> int:
    """``--probe``: print the ABI. ``--spec JSON [--quiet] -- ARGV...``: enter the domain and
    exec ARGV with ``TMPDIR`` set (an SSH host's agents)."""
    if argv[:1] == ["--probe"]:
        print(abi())
        return 0
    if len(argv) < 4 or argv[0] != "--spec" or "--" not in argv:
        sys.stderr.write("usage: landlock.py --probe | --spec JSON -- ARGV...\n")
        return 2
    command = argv[argv.index("--") + 1 :]
    try:
        spec = json.loads(argv[1])
        ruleset, policy = prepare(spec, os.getcwd(), os.environ)
        os.environ["TMPDIR"] = policy.tmpdir
        ruleset.restrict()
    except (LandlockError, OSError, ValueError) as exc:
        sys.stderr.write(f"wavedeck: cannot apply the sandbox: {exc}\n")
        return 126
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        sys.stderr.write(f"wavedeck: cannot start agent {command[0]!r}: {exc.strerror}\n")
        return 127 if exc.errno == errno.ENOENT else 126
    return 0  # pragma: no cover - exec does not return


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
