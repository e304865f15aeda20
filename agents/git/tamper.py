"""Tamper evidence for the parts of ``.git`` that make git run programs.

An agent can plant ``core.fsmonitor``, ``core.sshCommand``, a filter, or a hook, and git would run
it for whoever uses the repository next. wavedeck's own commands never run them (see
``wavedeck.agents.git.cmd``), but the operator must know: a snapshot taken when a wave starts is compared
before the checkpoint, and every added, changed or removed setting or hook is reported by name.

A snapshot maps keys to fingerprints: ``file:<name>`` (a SHA-256 of ``config``,
``config.worktree``, ``info/attributes``), ``config:<file>:<key>`` (the setting's values, read by
``git config --file``, which runs nothing), ``hook:<folder>/<name>`` (SHA-256 plus ``+x``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from wavedeck.agents.git.cmd import GitCmd
from wavedeck.agents.git.content import file_sha256
from wavedeck.agents.git.tamper_copies import put_back, quarantine_file
from wavedeck.plan.safetext import neutralize

_FILES = ("config", "config.worktree", "info/attributes")
# Settings whose value is a program git may run (or a file that can define more settings), as
# lowercased ``section[.subsection].key`` names. Public: the live watcher's tamper detail
# (``wavedeck.agents.watch.rules``) names the same keys, so the two reports cannot drift apart.
RUNS_PROGRAM_KEYS = re.compile(
    r"^(core\.(fsmonitor|sshcommand|hookspath|pager|editor|askpass|gitproxy|alternaterefscommand)"
    r"|diff\.external|gpg\.(.+\.)?program|gpg\.ssh\.defaultkeycommand|include\.path"
    r"|includeif\..+\.path|sequence\.editor|credential\..*helper|uploadpack\.packobjectshook"
    r"|pager\..+|alias\..+|filter\..+\.(clean|smudge|process)|diff\..+\.(command|textconv)"
    r"|merge\..+\.driver)$"
)
_SHOWN_VALUE = 120


def _digest(path: Path) -> str | None:
    return file_sha256(path)  # a chunk at a time: an agent can make .git/config huge


def _config_entries(cmd: GitCmd, file: Path) -> dict[str, list[str]]:
    result = cmd.run(["config", "--file", str(file), "--list", "-z"], check=False)
    if result.rc != 0:
        return {"(unreadable)": [result.err.strip()]}
    entries: dict[str, list[str]] = {}
    for record in result.out.split(b"\0"):
        if not record:
            continue
        key, _, value = record.decode("utf-8", "replace").partition("\n")
        entries.setdefault(key, []).append(value)
    return entries


def _hook_dirs(common_dir: Path, configured: str | None, root: Path) -> list[Path]:
    dirs = [common_dir / "hooks"]
    if configured and configured != "/dev/null":
        folder = Path(os.path.expanduser(configured))
        dirs.append(folder if folder.is_absolute() else root / folder)
    return dirs


def snapshot(cmd: GitCmd, root: Path, git_dir: Path, common_dir: Path) -> dict[str, str]:
    """Fingerprints of everything in ``.git`` that can make git run a program."""
    found: dict[str, str] = {}
    hooks_path: str | None = None
    for name in _FILES:
        base = git_dir if name == "config.worktree" else common_dir
        file = base / name
        digest = _digest(file)
        if digest is None:
            continue
        found[f"file:{name}"] = digest
        if name.startswith("config"):
            for key, values in _config_entries(cmd, file).items():
                found[f"config:{name}:{key}"] = "\n".join(values)
                if key == "core.hookspath":
                    hooks_path = values[-1]
    for folder in _hook_dirs(common_dir, hooks_path, root):
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.name.endswith(".sample") or not entry.is_file():
                continue  # samples are inert until renamed; a rename shows up as an addition
            executable = "+x" if os.access(entry, os.X_OK) else "-x"
            try:
                shown = entry.relative_to(root).as_posix()
            except ValueError:
                shown = str(entry)
            found[f"hook:{shown}"] = f"{_digest(entry)}{executable}"
    return found


def _shown(value: str) -> str:
    flat = value.replace("\n", " | ")
    if len(flat) > _SHOWN_VALUE:
        flat = flat[:_SHOWN_VALUE] + "…"
    return neutralize(flat)


@dataclass(frozen=True)
class TamperFinding:
    """One setting, hook or file of ``.git`` that differs between two snapshots, as a fact.

    ``key``: the setting's ``section[.subsection].key``, the hook's path, or the file's name
    under ``.git``; ``where``: ``.git/<file>`` for a setting, ``hook`` or ``file``; ``value``:
    the new value of a setting (neutralised, shortened), else None; ``program``: git can run it
    as a program (a hook, or a setting named by ``RUNS_PROGRAM_KEYS``); ``text``: one readable
    line for the operator.
    """

    key: str
    where: str
    change: Literal["added", "changed", "removed"]
    value: str | None
    program: bool
    text: str
    entry: str = ""  # the snapshot's key for it (``config:config:core.fsmonitor``)


def _change(old: str | None, new: str | None) -> Literal["added", "changed", "removed"]:
    return "added" if old is None else "removed" if new is None else "changed"


def findings(before: dict[str, str], after: dict[str, str]) -> list[TamperFinding]:
    """Every setting, hook or file that differs between two snapshots, in a stable order."""
    found: list[TamperFinding] = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old == new or key.startswith("file:"):
            continue
        kind, _, rest = key.partition(":")
        change = _change(old, new)
        if kind == "config":
            file, _, name = rest.partition(":")
            program = bool(RUNS_PROGRAM_KEYS.match(name))
            risk = " (git can run this as a program)" if program else ""
            value = _shown(new) if new is not None else None
            if change == "added":
                text = f".git/{file}: {name} added = {_shown(new or '')}{risk}"
            elif change == "removed":
                text = f".git/{file}: {name} removed{risk}"
            else:
                text = f".git/{file}: {name} changed to {value}{risk}"
            found.append(
                TamperFinding(name, f".git/{file}", change, value, program, text, entry=key)
            )
        elif kind == "hook":
            shown = neutralize(rest)
            executable = " (executable)" if change == "added" and new and new.endswith("+x") else ""
            text = f"hook {shown} {change}{executable}"
            found.append(TamperFinding(shown, "hook", change, None, True, text, entry=key))
    for key in sorted(before.keys() | after.keys()):
        if not key.startswith("file:") or before.get(key) == after.get(key):
            continue
        name = key.removeprefix("file:")
        if name.startswith("config"):
            # A configuration means its settings, compared one by one above: a comment, an
            # empty section left by `git config --unset` or a reordering runs nothing.
            continue
        change = _change(before.get(key), after.get(key))
        text = f".git/{name} {change}"
        found.append(TamperFinding(name, "file", change, None, False, text, entry=key))
    return found


def entry_path(root: Path, git_dir: Path, common_dir: Path, entry: str) -> Path | None:
    """Where a snapshot's hook or file entry (``hook:...``, ``file:...``) lives; None for a
    setting."""
    kind, _, rest = entry.partition(":")
    if kind == "hook":
        return Path(rest) if Path(rest).is_absolute() else root / rest
    if kind == "file":
        return (git_dir if rest == "config.worktree" else common_dir) / rest
    return None


def copied_files(
    snapshot: dict[str, str], root: Path, git_dir: Path, common_dir: Path
) -> dict[Path, str]:
    """The files of a snapshot worth a copy (hooks, ``info/attributes``; a configuration is
    restored setting by setting), each with its fingerprint."""
    found: dict[Path, str] = {}
    for entry, fingerprint in snapshot.items():
        if entry.startswith("file:config"):
            continue
        path = entry_path(root, git_dir, common_dir, entry)
        if path is not None:
            found[path] = fingerprint
    return found


def restore(
    cmd: GitCmd,
    root: Path,
    git_dir: Path,
    common_dir: Path,
    finding: TamperFinding,
    old: str | None,
    quarantine: Path,
    copies: Path | None = None,
) -> str | None:
    """Undo one finding: a setting gets back the values it had in the snapshot (``old``, or
    none); an added hook or file is moved to ``quarantine``; a changed or removed one is put
    back from the copy kept in ``copies`` (``wavedeck.agents.git.tamper_copies``), the current
    one quarantined. Returns None when undone, else why it cannot be. Runs no program
    (``git config --file`` only reads and writes that file)."""
    kind, _, rest = finding.entry.partition(":")
    if kind == "config":
        file, _, key = rest.partition(":")
        if key == "(unreadable)":
            return f".git/{file} cannot be read by git: fix it by hand"
        path = (git_dir if file == "config.worktree" else common_dir) / file
        unset = cmd.run(["config", "--file", str(path), "--unset-all", key], check=False)
        if unset.rc not in (0, 5):  # 5: it was not set
            return f"git config --unset-all {key} failed: {unset.err.strip()}"
        for value in old.split("\n") if old is not None else []:
            added = cmd.run(["config", "--file", str(path), "--add", key, value], check=False)
            if added.rc != 0:
                return f"git config --add {key} failed: {added.err.strip()}"
        return None
    target = entry_path(root, git_dir, common_dir, finding.entry)
    if target is None:
        return f"{finding.entry}: not a setting, hook or file of .git"
    if finding.change == "added":
        return quarantine_file(target, quarantine)
    if old is None or copies is None or (kind == "file" and rest.startswith("config")):
        what = "hook" if kind == "hook" else f".git/{rest}"
        return (
            f"wavedeck keeps no copy of the {what} as it was: look at it, put it back yourself, "
            "then confirm it"
        )
    return put_back(target, old, copies, quarantine)
