"""Crash-safe writes of the operator's files: ``replace_file``.

Used where wavedeck rewrites a file of the working tree that holds the operator's or an agent's
work (a review's hunk revert and its undo). Writing in place would leave a half-written file if
wavedeck is killed or the disk fills mid-write; here the new content goes to a temporary file in
the same folder (so the rename stays on one file system), is flushed to disk, given the mode the
file is to have, and only then renamed over the file: at any moment the file holds its old
content or its new, whole.

The temporary is named ``<name>.tmp.<pid>.<hex>``, the atomic-write shape the watcher already
passes over (``wavedeck.agents.watch.ignores.EDITOR_TEMP``): only the rename is reported, under
the file's own name.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def temporary_for(target: Path) -> Path:
    """A fresh temporary's path beside ``target``."""
    return target.with_name(f"{target.name}.tmp.{os.getpid()}.{secrets.token_hex(4)}")


def replace_file(target: Path, data: bytes, *, mode: int) -> None:
    """Make ``target`` hold ``data`` with permission bits ``mode``, atomically.

    Raises ``OSError`` (the temporary removed, ``target`` untouched) when it cannot be done: the
    folder is not writable, the disk is full, a file size limit is reached.
    """
    tmp = temporary_for(target)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, mode)  # not the umask's: the mode the file had (or is to have)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        # A half-written temporary holds space (a full disk) and is nobody's: it goes.
        tmp.unlink(missing_ok=True)
        raise
    # Make the rename itself durable, so a power cut cannot bring the old content back.
    dir_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
