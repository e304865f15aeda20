"""What the workspace watcher reports, and how: globs, attribution, watched paths, config diffs.

The rules behind ``wavedeck.agents.watch.watcher.WorkspaceWatcher``, kept apart from its event loop:

- ``glob_matcher``: repo-relative gitignore-like globs (ignores, accepted paths).
- ``Attribution``, and ``ownership_attributor`` / ``worktree_attributor``: path -> agent,
  violation kind, names, why, with the plan's ownership model and the ``[policy]``.
- ``PathFilter``: which raw OS events are worth looking at (.git/ only for its tamper targets;
  never what ``wavedeck.agents.watch.ignores.Ignores`` ignores).
- ``config_detail``: the changed keys of a rewritten ``.git/config`` for a tamper report, naming
  those that make git run a program with ``wavedeck.agents.git.tamper.RUNS_PROGRAM_KEYS``, the list the
  checkpoint's tamper check uses.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import watchfiles

from wavedeck.agents.git.tamper import RUNS_PROGRAM_KEYS
from wavedeck.agents.kinds import AttributionBasis, ViolationKind
from wavedeck.agents.watch.ignores import Ignores
from wavedeck.plan.models import Plan
from wavedeck.plan.ownership import OwnershipIndex, apply_policy


@dataclass(frozen=True)
class Attribution:
    """What an attributor says about a path: who it is attributed to, how that is known, and
    what is wrong with it."""

    agent: str | None  # the agent it is attributed to (None: no agent)
    kind: ViolationKind | None = None  # None: the path is fine
    names: tuple[str, ...] = ()  # candidate or owner agents worth naming
    why: str = ""  # a sentence explaining it ("": said from the kind, ``describe``)
    how: AttributionBasis = "inferred"  # exact: the writer is known; inferred: a guess
    # An inferred attribution a tool event may still correct within this many seconds: the
    # watcher waits that long before it reports a violation (0: settled).
    settle_s: float = 0.0


Attributor = Callable[[str], Attribution]

MAX_CONFIG_BYTES = 1 << 20

# Watched inside .git/ during a wave: files that make git run programs or rewrite content.
GIT_CONFIGS = (".git/config", ".git/config.worktree")
GIT_FILES = (*GIT_CONFIGS, ".git/info/attributes")
GIT_HOOKS = ".git/hooks/"

_SECTION_RE = re.compile(r'^\s*\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]\s*(.*)$')
_KEY_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*?))?\s*$")


def ownership_attributor(
    plan: Plan,
    wave: int,
    *,
    writer_of: Callable[[str], str | None] | None = None,
    accept: Sequence[str] = (),
    accept_undeclared: bool = False,
) -> Attributor:
    """Attribute paths with the plan's ownership model for one wave.

    Args:
        plan: the plan.
        wave: the running wave.
        writer_of: who wrote a path, when known exactly (worktree mode, remote patches); ``None``
            = unknown (the shared tree's attribution is ``wavedeck.agents.watch.attribution``).
        accept: globs of paths accepted for any agent (tests, lockfiles): never a violation.
        accept_undeclared: accept ``undeclared`` paths (attributable to exactly one agent).

    Returns:
        ``path -> Attribution`` (agent, violation kind or None, candidates, why), with the policy of
        ``wavedeck.plan.ownership.apply_policy`` (a glob never accepts a ``foreign`` path).
    """
    index = OwnershipIndex(plan, wave)
    accept_globs = tuple(accept)

    def attribute(path: str) -> Attribution:
        writer = writer_of(path) if writer_of is not None else None
        own = index.classify(path, writer)
        agent = own.agent if own.agent is not None else writer
        how: AttributionBasis = "exact" if writer is not None else "inferred"
        accepted, why = apply_policy(own, path, accept_globs, accept_undeclared)
        if accepted:
            return Attribution(agent, None, (), why, how)
        kind: ViolationKind = "unowned" if own.kind == "owned" else own.kind  # owned is accepted
        return Attribution(agent, kind, own.candidates or own.owners, own.describe(), how)

    return attribute


def worktree_attributor(
    plan: Plan,
    wave: int,
    agent: str,
    *,
    accept: Sequence[str] = (),
    accept_undeclared: bool = False,
) -> Attributor:
    """Exact attribution for a watcher on ``agent``'s own worktree: every path is its write."""
    return ownership_attributor(
        plan, wave, writer_of=lambda _p: agent, accept=accept, accept_undeclared=accept_undeclared
    )


def describe(kind: ViolationKind, agent: str | None, names: tuple[str, ...]) -> str:
    who = agent or "an unknown agent"
    listed = ", ".join(names)
    if kind == "undeclared":
        return f"not declared in the plan; attributed to {who}"
    if kind == "foreign":
        return f"written by {who} but declared by {listed}"
    if kind == "other-wave":
        return (
            f"declared only in another wave (by {listed})" if listed else "declared in another wave"
        )
    if kind == "unowned":
        return (
            f"no agent of this wave owns it (candidates: {listed})"
            if listed
            else "no agent owns it"
        )
    return kind


def config_entries(text: str) -> dict[str, str]:
    """``section[.subsection].key -> value`` of a git config file (enough to name changed keys)."""
    entries: dict[str, str] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        match = _SECTION_RE.match(line)
        if match:
            name, sub, rest = match.groups()
            section = name.lower() + (f".{sub}" if sub is not None else "")
            line = rest.strip()
            if not line:
                continue
        key = _KEY_RE.match(line)
        if key:
            entries[f"{section}.{key.group(1).lower()}"] = key.group(2) or "true"
    return entries


def config_detail(rel: str, old: str | None, new: str | None) -> str:
    if new is None:
        return f"{rel} was removed"
    before, after = config_entries(old or ""), config_entries(new)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    risky = [k for k in changed if RUNS_PROGRAM_KEYS.match(k)]
    if not changed:
        return f"{rel} was rewritten (no key changed)"
    text = (
        f"{rel}: changed keys: " + ", ".join(changed[:20]) + (" ..." if len(changed) > 20 else "")
    )
    if risky:
        text += "; runs programs: " + ", ".join(risky[:10])
    return text


def read_config(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            return fh.read(MAX_CONFIG_BYTES).decode("utf-8", "replace")
    except OSError:
        return None


class PathFilter:
    """The watchfiles filter: drops .git/ (but the tamper targets), and what ``Ignores.static``
    ignores (.wavedeck/, editor temp files, the configured ignores and the agent CLI's own
    paths). Cheap on purpose: it runs on every raw OS event; what git ignores is asked per
    batch (``Ignores.git_ignored``)."""

    def __init__(self, root: str, ignores: Ignores, watch_git: bool) -> None:
        self._prefix = root + os.sep
        self._cut = len(self._prefix)
        self._static = ignores.static
        self._watch_git = watch_git

    def __call__(self, _change: watchfiles.Change, path: str) -> bool:
        if not path.startswith(self._prefix):
            return False
        rel = path[self._cut :]
        if rel.startswith(".git/") or rel == ".git":
            return self._watch_git and (rel in GIT_FILES or rel.startswith(GIT_HOOKS))
        return not self._static(rel)

    def descend(self, path: str) -> bool:
        """Whether the folder ``path`` needs a watch: the root; ``.git`` and its hooks and
        info (the tamper targets, when watched); any other folder unless everything under it
        is left out (``.wavedeck/``, a nested repository's ``.git``, ``node_modules/**``)."""
        if path == self._prefix[:-1]:
            return True
        if not path.startswith(self._prefix):
            return False
        rel = path[self._cut :]
        if rel == ".git" or rel.startswith(".git/"):
            return self._watch_git and (
                rel in (".git", ".git/info", GIT_HOOKS[:-1]) or rel.startswith(GIT_HOOKS)
            )
        if rel == ".wavedeck" or rel.startswith(".wavedeck/") or rel.endswith("/.git"):
            return False
        if "/.git/" in rel:
            return False
        # Left out only when a file two levels down is ignored too ("docs/*" keeps docs/sub/).
        return not (self._static(rel + "/\0") and self._static(rel + "/\0/\0"))


def changed_since(root: str, keep: PathFilter, since_ns: int) -> tuple[list[str], int]:
    """After lost events: the files under ``root`` the filter keeps whose content or metadata
    changed at or after ``since_ns`` (``st_ctime``, which a write always moves and no tool can
    set back), and how many folders changed then (a deletion there cannot be named)."""
    files: list[str] = []
    folders = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if keep.descend(os.path.join(folder, d))]
        for name in names:
            path = os.path.join(folder, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if info.st_ctime_ns >= since_ns and keep(watchfiles.Change.modified, path):
                files.append(path)
        try:
            if os.lstat(folder).st_ctime_ns >= since_ns:
                folders += 1
        except OSError:
            pass
    return files, folders
