"""Copies of ``.git``'s hooks and ``info/attributes`` as a wave found them, so undo can put back
a hook an agent changed or removed.

``keep`` stores each such file of a tamper snapshot (``wavedeck.agents.git.tamper``) under its
SHA-256 in a folder of wavedeck's (``.wavedeck/tamper-copies/``): content-addressed, so a hook
unchanged across waves is stored once, and a copy someone altered since is known by its digest
and never put back. ``put_back`` writes a kept copy over the file (the current one, if any, is
moved to the quarantine first: nothing is deleted) with the mode the snapshot recorded. A file
larger than ``MAX_COPY`` is not kept: its undo says so, as it did before copies existed.
Neither runs a program.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from wavedeck.agents.git.content import file_sha256

MAX_COPY = 1 << 20  # a hook is a script: a larger one is not copied (its undo says so)


def _digest_and_mode(fingerprint: str) -> tuple[str, bool | None]:
    """A snapshot's fingerprint: a hook's is its SHA-256 then ``+x``/``-x``; a file's the SHA."""
    if fingerprint.endswith(("+x", "-x")):
        return fingerprint[:-2], fingerprint.endswith("+x")
    return fingerprint, None


def keep(files: dict[Path, str], store: Path) -> None:
    """Copy each file (path -> its snapshot fingerprint) into ``store`` under its digest,
    unless a copy is there already, the file is too large, or it no longer has that digest (it
    changed since the snapshot: that content is not the wave's start). Errors leave no copy."""
    for path, fingerprint in files.items():
        digest, _ = _digest_and_mode(fingerprint)
        target = store / digest
        if target.exists():
            continue
        try:
            if os.lstat(path).st_size > MAX_COPY:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if hashlib.sha256(data).hexdigest() != digest:
            continue
        try:
            store.mkdir(parents=True, exist_ok=True)
            partial = store / f".{digest}.part"
            partial.write_bytes(data)
            partial.replace(target)
        except OSError:
            continue


def put_back(path: Path, fingerprint: str, store: Path, quarantine: Path) -> str | None:
    """Write the kept copy whose digest ``fingerprint`` names over ``path``; None when done,
    else why not. The file there now is moved into ``quarantine`` first."""
    digest, executable = _digest_and_mode(fingerprint)
    copy = store / digest
    if file_sha256(copy) != digest:
        return (
            f"wavedeck has no intact copy of {path.name} as it was (none is kept of a file over "
            f"{MAX_COPY} bytes or one changed while the wave started, and a copy altered since "
            "is never used): look at it, put it back yourself, then confirm it"
        )
    try:
        data = copy.read_bytes()
        if os.path.lexists(path):
            why = quarantine_file(path, quarantine)
            if why is not None:
                return why
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.wavedeck-restore")
        partial.write_bytes(data)
        if executable is not None:
            partial.chmod(0o755 if executable else 0o644)
        partial.replace(path)
    except OSError as exc:
        return f"cannot put {path} back: {exc.strerror or exc}"
    return None


def quarantine_file(path: Path, quarantine: Path) -> str | None:
    """Move ``path`` into ``quarantine`` (never deleted: the operator may want to read it)."""
    try:
        quarantine.mkdir(parents=True, exist_ok=True)
        target = quarantine / path.name
        n = 1
        while os.path.lexists(target):
            n += 1
            target = quarantine / f"{path.name}.{n}"
        path.rename(target)
    except OSError as exc:
        return f"cannot move {path} aside: {exc.strerror or exc}"
    return None
