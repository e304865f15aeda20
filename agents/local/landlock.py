"""Linux Landlock for agents: what one agent may write, and the kernel domain that enforces it.

Standard library only, because it runs in three places: imported by the control room (the ABI
probe and the pre-wave checks), loaded by path by the local wrapper (``wrapper.py`` runs with
``python3 -I`` in the user's repository, so it cannot import a package), and run as a script on
an SSH host (``python3 -I landlock.py --spec JSON -- ARGV...``), where nothing of wavedeck is
installed. A PyPI binding would not be there; three syscalls through ctypes are.

What an agent may write is described by a *spec* (JSON, built by the control room from the
plan: ``wavedeck.agents.local.sandbox``) and resolved here, where the files are, against the
agent's working tree (its cwd) and environment (``HOME``, ``CODEX_HOME``...):

- each owned file that exists: write and truncate it in place (a rule on the file itself);
- the folder holding an owned file is *opened* (create, remove, rename, write beneath it:
  atomic saves, ``sed -i``, new files) unless that would hand the agent something it must not
  write: a folder at or above the tree's root (``.git/`` and ``.wavedeck/`` would open), or one
  beneath which another agent of the plan declares a path. A folder that stays *closed* still
  lets the agent edit its own files there, in place. An owned file that does not exist yet can
  only be made through its folder, so its folder is opened even when shared (what that exposes
  is listed); missing folders of owned files are created first (rules name existing paths);
- a private ``TMPDIR`` outside the repository, the CLI's state folders and files, the devices
  CLIs open (``/dev/null``, ``/dev/tty``, ``/dev/pts``...: write and ioctl, never a disk),
  ``/dev/shm``, and the files of ``/proc`` (a CLI that sandboxes its tools in a user namespace
  writes ``/proc/PID/uid_map``).

Everything else may be read and executed but not written: reads are never restricted. The
rights restricted are every filesystem write Landlock knows at the kernel's ABI (write,
truncate from ABI 3, create and remove of every kind, rename and link across folders from
ABI 2, device ioctl from ABI 5). Below ``MIN_ABI`` (3: truncate) the domain is not applied and
the caller falls back to the watcher. Network, signals and abstract sockets are not restricted.
"""

from __future__ import annotations

import binascii
import ctypes
import errno
import json
import os
import stat
import struct
import sys
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

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
    "dev": WRITE_FILE | TRUNCATE | IOCTL_DEV,  # devices (DEVICES): no new nodes
}
SPEC_VERSION = 1
# The devices CLIs open for writing (never all of /dev: a raw disk is a device too).
DEVICES = (
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/pts",
    "/dev/console",
)


class LandlockError(Exception):
    """The domain cannot be built or applied; ``code`` says why (``no-landlock``,
    ``abi-too-old``, ``bad-spec``, ``rule``, ``restrict``)."""

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


class Rule(NamedTuple):
    """Writes ``kind`` allows beneath ``path`` (a file: on that file)."""

    path: str
    kind: str
    why: str  # owned | folder | tmpdir | state | dev | proc


class Policy(NamedTuple):
    """A spec resolved against a working tree and an environment.

    ``closed``: folders holding owned files that stay closed, with the reason (``root``: at or
    above the tree's root; ``shared``: another agent declares a path beneath). ``exposed``:
    paths another agent declares beneath a folder opened anyway (an owned file must be created
    there). ``unprotected``: ``(writable path, protected path)`` when the tree or its git data
    lies beneath a path the agent may write. ``missing``: owned files that cannot be created
    (their folder stays closed). ``skipped``: paths left out, with why (a symlink, missing).
    """

    tree: str
    tmpdir: str
    rules: tuple[Rule, ...]
    opened: tuple[str, ...] = ()
    closed: tuple[tuple[str, str], ...] = ()
    exposed: tuple[str, ...] = ()
    unprotected: tuple[tuple[str, str], ...] = ()
    missing: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    created: tuple[str, ...] = ()


def _beneath(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _expand(raw: str, environ: Mapping[str, str]) -> str | None:
    """``~/x`` with the agent's HOME; None when HOME is unknown."""
    if raw == "~" or raw.startswith("~/"):
        home = environ.get("HOME")
        if not home:
            return None
        return os.path.normpath(home + raw[1:])
    return os.path.normpath(raw) if os.path.isabs(raw) else None


def state_paths(
    entries: Sequence[Sequence[str]], environ: Mapping[str, str]
) -> list[tuple[str, str]]:
    """``[(absolute path, "dir"|"file")]`` of a preset's state entries ``[kind, path, env?,
    suffix?]``: ``path`` (``~/...`` or absolute) unless the variable ``env`` is set, in which
    case ``$env`` + ``suffix``."""
    out: list[tuple[str, str]] = []
    for entry in entries:
        kind, raw = entry[0], entry[1]
        env = entry[2] if len(entry) > 2 else ""
        suffix = entry[3] if len(entry) > 3 else ""
        value = environ.get(env) if env else None
        path = _expand(value + suffix if value else raw, environ)
        if path is not None and kind in ("dir", "file"):
            out.append((path, kind))
    return out


def tmpdir_for(tree: str, agent: str, environ: Mapping[str, str]) -> str:
    """The agent's private temporary folder: beneath the system's, never the repository."""
    base = environ.get("TMPDIR") or "/tmp"
    if not os.path.isabs(base) or _beneath(os.path.normpath(tree), os.path.normpath(base)):
        base = "/tmp"
    real = os.path.realpath(tree)
    key = f"{os.path.basename(real)[:40]}-{binascii.crc32(real.encode()):08x}"
    return os.path.join(base, f"wavedeck-{os.getuid()}", key, agent)


def _private_dir(path: str) -> None:
    """Create ``path`` (0700, each new level) and make sure our top folder is ours alone: a
    shared /tmp lets anyone pre-create a name."""
    top = os.path.dirname(os.path.dirname(path))
    for folder in (top, os.path.dirname(path), path):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
    info = os.lstat(top)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise LandlockError("bad-spec", f"{top} is not a private folder of this user")


def _protected(tree: str) -> list[str]:
    """What must never be beneath an opened or writable folder: the tree, its git data (a
    worktree's ``.git`` file names its git dir) and ``.wavedeck``."""
    out = [tree, os.path.join(tree, ".git"), os.path.join(tree, ".wavedeck")]
    gitfile = os.path.join(tree, ".git")
    if os.path.isfile(gitfile):
        try:
            with open(gitfile, encoding="utf-8") as handle:
                first = handle.readline().strip()
        except OSError:
            first = ""
        if first.startswith("gitdir:"):
            gitdir = os.path.normpath(os.path.join(tree, first[7:].strip()))
            out.append(gitdir)
            common = os.path.dirname(os.path.dirname(gitdir))  # <repo>/.git/worktrees/<id>
            if os.path.basename(common) == ".git":
                out += [common, os.path.dirname(common)]
    return out


def resolve(
    spec: Mapping[str, Any], tree: str, environ: Mapping[str, str], *, create: bool
) -> Policy:
    """The rules ``spec`` gives an agent working in ``tree`` with ``environ``. With ``create``,
    missing folders of owned files, the TMPDIR and missing state folders are made (the wrapper,
    right before it applies the rules); without, nothing is written (the pre-wave check)."""
    if spec.get("v") != SPEC_VERSION:
        raise LandlockError("bad-spec", f"unknown spec version {spec.get('v')!r}")
    tree = os.path.normpath(os.path.abspath(tree))
    protected = _protected(tree) + [os.path.normpath(p) for p in spec.get("protect", ())]
    owned = [str(p) for p in spec.get("owned", ())]
    others = {str(p) for p in spec.get("others", ())} - set(owned)
    rules: list[Rule] = []
    opened: list[str] = []
    closed: dict[str, str] = {}
    exposed: set[str] = set()
    missing: list[str] = []
    skipped: list[tuple[str, str]] = []
    created: list[str] = []
    folders: dict[str, list[str]] = {}  # holding folder (relative) -> its owned files
    for rel in owned:
        folders.setdefault(os.path.dirname(rel), []).append(rel)
    for folder_rel, files in sorted(folders.items()):
        folder = os.path.join(tree, folder_rel) if folder_rel else tree
        new = [f for f in files if not os.path.lexists(os.path.join(tree, f))]
        for rel in files:
            path = os.path.join(tree, rel)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode):
                skipped.append((rel, "symlink"))
            elif stat.S_ISREG(info.st_mode):
                rules.append(Rule(path, "file", "owned"))
            elif stat.S_ISDIR(info.st_mode):
                # A folder the plan gives the agent: everything beneath it, unless it holds
                # what must stay protected.
                if any(_beneath(p, path) for p in protected):
                    closed[rel] = "root"
                else:
                    rules.append(Rule(path, "tree", "owned"))
                    opened.append(rel)
        if any(_beneath(p, folder) for p in protected):
            closed[folder_rel or "."] = "root"
            missing += new
            continue
        prefix = folder_rel + "/" if folder_rel else ""
        theirs = sorted(o for o in others if o.startswith(prefix))
        if theirs and not new:
            closed[folder_rel] = "shared"
            continue
        exposed.update(theirs)
        if not os.path.isdir(folder):
            if not create:
                opened.append(folder_rel)
                continue
            try:
                os.makedirs(folder, exist_ok=True)
                created.append(folder_rel)
            except OSError as exc:
                skipped.append((folder_rel, exc.strerror or "cannot create"))
                missing += new
                continue
        if os.path.islink(folder):
            skipped.append((folder_rel, "symlink"))
            continue
        rules.append(Rule(folder, "folder", "folder"))
        opened.append(folder_rel)
    agent = str(spec.get("agent") or "agent")
    tmpdir = tmpdir_for(tree, agent, environ)
    if create:
        _private_dir(tmpdir)
    rules.append(Rule(tmpdir, "tree", "tmpdir"))
    for path, kind in state_paths(spec.get("state", ()), environ):
        if kind == "dir":
            if create and not os.path.lexists(path):
                try:
                    os.makedirs(path, 0o700, exist_ok=True)
                    created.append(path)
                except OSError as exc:
                    skipped.append((path, exc.strerror or "cannot create"))
                    continue
            if os.path.isdir(path) or not create:
                rules.append(Rule(path, "tree", "state"))
        elif os.path.isfile(path):
            rules.append(Rule(path, "file", "state"))
        else:
            skipped.append((path, "missing"))
    if spec.get("devices", True):
        rules += [Rule(path, "dev", "dev") for path in DEVICES if os.path.exists(path)]
        rules.append(Rule("/dev/shm", "tree", "dev"))
        # A CLI that sandboxes its own tools in a user namespace (Codex) writes its children's
        # /proc/PID/uid_map: /proc's files are writable (paths reached through /proc/PID/root
        # or /fd are judged at their real place). For root, /proc/sys is then writable too.
        rules.append(Rule("/proc", "file", "proc"))
    unprotected = [
        (rule.path, p)
        for rule in rules
        if rule.kind == "tree" and rule.why != "owned"
        for p in protected[:1]
        if _beneath(p, os.path.normpath(rule.path))
    ]
    return Policy(
        tree=tree,
        tmpdir=tmpdir,
        rules=tuple(rules),
        opened=tuple(opened),
        closed=tuple(sorted(closed.items())),
        exposed=tuple(sorted(exposed)),
        unprotected=tuple(unprotected),
        missing=tuple(missing),
        skipped=tuple(skipped),
        created=tuple(created),
    )


class Ruleset:
    """A Landlock ruleset built from ``rules`` at the kernel's ABI; ``restrict()`` puts the
    calling process (and everything it execs or forks from then on) in its domain.

    Built before ``fork`` (errors are reported with a path, in the parent), restricted in the
    child: ``restrict`` does two syscalls and touches no Python object but ints, so it is safe
    as a ``preexec_fn``.
    """

    def __init__(self, rules: Sequence[Rule], abi_version: int | None = None) -> None:
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

    def _add(self, libc: Any, rule: Rule) -> None:
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


def prepare(
    spec: Mapping[str, Any], tree: str, environ: Mapping[str, str]
) -> tuple[Ruleset, Policy]:
    """Resolve ``spec`` (creating what the rules need) and build its ruleset."""
    policy = resolve(spec, tree, environ, create=True)
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
