"""What one agent may write: a sandbox *spec* resolved into the rules of its Landlock domain.

The spec (JSON, built by the control room from the plan: ``wavedeck.agents.local.sandbox``) is
resolved here, where the files are, against the agent's working tree (its cwd) and environment
(``HOME``, ``CODEX_HOME``...); ``resolve`` gives a ``Policy``: the ``Rule``s, and what could not
be granted and why. The kernel side (``landlock.py``, ``Ruleset``) turns the rules into a domain:

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

Standard library only, like ``landlock.py``, which loads it by path beside itself: it runs in
the local wrapper (``python3 -I`` in the user's repository) and on SSH hosts, where nothing of
wavedeck is installed. The control room imports it for the pre-wave checks (``create=False``:
nothing is written).
"""

from __future__ import annotations

import binascii
import os
import stat
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

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


class SpecError(ValueError):
    """The spec cannot be resolved here: an unknown version, a TMPDIR that is not private
    (``code``: ``bad-spec``, as the kernel side's ``LandlockError`` codes; ``detail``: why)."""

    code = "bad-spec"

    def __init__(self, detail: str) -> None:
        super().__init__(f"{self.code}: {detail}")
        self.detail = detail


class Rule(NamedTuple):
    """Writes ``kind`` allows beneath ``path`` (a file: on that file)."""

    path: str
    kind: str  # file | folder | tree | dev: what each grants is ``landlock.KINDS``
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
        raise SpecError(f"{top} is not a private folder of this user")


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
        raise SpecError(f"unknown spec version {spec.get('v')!r}")
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
