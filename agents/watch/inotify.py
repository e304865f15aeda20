"""Linux inotify read directly, so that a queue overflow is seen: ``inotify_batches``, and the
stream a watcher reads, inotify or else watchfiles' polling: ``open_watch``.

watchfiles (through the Rust ``notify`` crate) drops the kernel's ``IN_Q_OVERFLOW`` event: it
carries no path, and watchfiles keeps only events with one. When an agent writes files faster
than the watch thread reads them (100,000 files while that thread is starved of CPU), the
kernel queue (``fs.inotify.max_queued_events``, 16,384 by default) overflows and the events past
it are lost silently. This module reads the inotify descriptor itself, on the event loop
(``add_reader``, no thread), and yields the same batches watchfiles does (``{(Change, path)}``,
quiet for ``step`` ms or at most ``debounce`` ms long, an empty one every ``tick`` ms when idle),
plus ``OVERFLOW`` in a batch when the kernel says events were lost. After an overflow every
folder is walked again so folders created meanwhile are watched; finding the files changed
meanwhile is the watcher's part (``wavedeck.agents.watch.watcher``).

Folders the filter refuses are not watched at all (``.wavedeck/``, ``.git/`` but its hooks and
info, ignored globs such as ``node_modules/**``): fewer watches than a recursive watch of
everything. A watch limit (``ENOSPC``/``EMFILE``) raises ``OSError``, for the polling fallback.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import errno
import os
import struct
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import watchfiles

IN_MODIFY = 0x2
IN_ATTRIB = 0x4
IN_CLOSE_WRITE = 0x8
IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_EXCL_UNLINK = 0x04000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC

MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_ONLYDIR
    | IN_DONT_FOLLOW
    | IN_EXCL_UNLINK
)
_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len
READ_BYTES = 64 * 1024  # one read: ~2,000 events, parsed before the loop gets control back
# The path a batch holds when the kernel said events were lost (no real path has a NUL).
OVERFLOW = "\0inotify-queue-overflow"
QUEUE_FILE = "/proc/sys/fs/inotify/max_queued_events"

Filter = Callable[[watchfiles.Change, str], bool]

_libc: Any = None


def _lib() -> Any:
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c") or "libc.so.6"
        lib = ctypes.CDLL(name, use_errno=True)
        lib.inotify_init1.argtypes = [ctypes.c_int]
        lib.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        _libc = lib
    return _libc


def available() -> bool:
    """inotify can be used here (Linux, a C library exposing it)."""
    try:
        lib = _lib()
    except OSError:
        return False
    return hasattr(lib, "inotify_init1") and hasattr(lib, "inotify_add_watch")


def max_queued_events() -> int | None:
    """The kernel's inotify queue size, if it can be read."""
    try:
        with open(QUEUE_FILE, encoding="ascii") as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


class _Watches:
    """The folders watched, by watch descriptor, and how to add more."""

    def __init__(self, fd: int, descend: Callable[[str], bool], skip_denied: bool) -> None:
        self.fd = fd
        self.descend = descend
        self.skip_denied = skip_denied
        self.paths: dict[int, str] = {}

    def add(self, folder: str) -> None:
        wd = _lib().inotify_add_watch(self.fd, os.fsencode(folder), MASK)
        if wd >= 0:
            self.paths[wd] = folder
            return
        code = ctypes.get_errno()
        if code in (errno.ENOSPC, errno.EMFILE):
            raise OSError(code, f"inotify watch limit reached ({os.strerror(code)})")
        if code in (errno.EACCES, errno.EPERM) and not self.skip_denied:
            raise OSError(code, f"cannot watch {folder}: {os.strerror(code)}")
        # ENOENT, ENOTDIR (gone or replaced meanwhile): nothing to watch

    def add_tree(self, top: str) -> None:
        """Watch ``top`` and every folder under it the filter keeps (links not followed)."""
        if not self.descend(top):
            return
        self.add(top)
        for folder, dirs, _files in os.walk(top):
            keep = [d for d in dirs if self.descend(os.path.join(folder, d))]
            dirs[:] = keep
            for name in keep:
                self.add(os.path.join(folder, name))


def _change(mask: int) -> watchfiles.Change | None:
    if mask & (IN_CREATE | IN_MOVED_TO):
        return watchfiles.Change.added
    if mask & (IN_DELETE | IN_MOVED_FROM):
        return watchfiles.Change.deleted
    if mask & (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB):
        return watchfiles.Change.modified
    return None


def _parse(
    data: bytes, watches: _Watches, accept: Filter, out: set[tuple[watchfiles.Change, str]]
) -> tuple[bool, list[str]]:
    """Add the changes in ``data`` to ``out``; whether the queue overflowed, and the folders
    created (to watch)."""
    overflow = False
    created: list[str] = []
    offset, end = 0, len(data)
    while offset + _HEADER.size <= end:
        wd, mask, _cookie, size = _HEADER.unpack_from(data, offset)
        name = data[offset + _HEADER.size : offset + _HEADER.size + size].rstrip(b"\0")
        offset += _HEADER.size + size
        if mask & IN_Q_OVERFLOW:
            overflow = True
            continue
        if mask & IN_IGNORED:
            watches.paths.pop(wd, None)
            continue
        folder = watches.paths.get(wd)
        if folder is None or not name:
            continue  # an event on a watched folder itself (its deletion): the parent says it
        path = os.path.join(folder, os.fsdecode(name))
        if mask & IN_ISDIR and mask & (IN_CREATE | IN_MOVED_TO):
            created.append(path)
        change = _change(mask)
        if change is not None and accept(change, path):
            out.add((change, path))
    return overflow, created


async def inotify_batches(
    root: str,
    *,
    watch_filter: Filter,
    descend: Callable[[str], bool],
    step: int,
    debounce: int,
    tick: int,
    stop_event: asyncio.Event,
    ignore_permission_denied: bool = True,
) -> AsyncIterator[set[tuple[watchfiles.Change, str]]]:
    """Batches of changes under ``root`` (see the module docstring); ends at ``stop_event``."""
    fd = _lib().inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
    if fd < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"inotify is not available: {os.strerror(code)}")
    loop = asyncio.get_running_loop()
    readable = asyncio.Event()
    loop.add_reader(fd, readable.set)
    try:
        watches = _Watches(fd, descend, ignore_permission_denied)
        watches.add_tree(root)
        pending: set[tuple[watchfiles.Change, str]] = set()
        first_at: float | None = None  # when the oldest pending change arrived
        last_at = idle_mark = time.monotonic()  # the newest change; the last batch yielded
        while not stop_event.is_set():
            now = time.monotonic()
            if first_at is not None:
                deadline = min(last_at + step / 1000, first_at + debounce / 1000)
            else:
                deadline = idle_mark + tick / 1000
            if deadline > now and not readable.is_set():
                try:
                    await asyncio.wait_for(readable.wait(), deadline - now)
                except TimeoutError:
                    pass
            # Always read before deciding: the loop may have been too busy to run the reader
            # callback, and an idle tick must never be said while the kernel holds events.
            readable.clear()
            before = len(pending)
            got, overflow = await _drain(fd, watches, watch_filter, pending)
            if overflow:
                watches.add_tree(root)  # folders made while events were lost
                pending.add((watchfiles.Change.modified, OVERFLOW))
            if len(pending) > before:
                last_at = time.monotonic()
                first_at = last_at if first_at is None else first_at
            if got:
                continue
            now = time.monotonic()
            if first_at is not None and (
                now >= last_at + step / 1000 or now >= first_at + debounce / 1000
            ):
                batch, pending, first_at = pending, set(), None
                idle_mark = now
                yield batch
            elif first_at is None and now >= idle_mark + tick / 1000:
                idle_mark = now
                yield set()
    finally:
        loop.remove_reader(fd)
        os.close(fd)


async def _drain(
    fd: int, watches: _Watches, accept: Filter, pending: set[tuple[watchfiles.Change, str]]
) -> tuple[bool, bool]:
    """Read everything the kernel holds now (yielding to the loop between reads): whether
    anything was read, and whether the queue overflowed. New folders are watched here (the
    watcher scans them for files made before their watch)."""
    got = overflow = False
    while True:
        try:
            data = os.read(fd, READ_BYTES)
        except BlockingIOError:
            return got, overflow
        except InterruptedError:
            continue
        got = True
        lost, created = _parse(data, watches, accept, pending)
        overflow = overflow or lost
        for folder in created:
            watches.add_tree(folder)
        await asyncio.sleep(0)  # a storm never stalls the loop


def is_watch_limit(exc: BaseException) -> bool:
    """inotify could not be set up: out of watches (ENOSPC) or instances (EMFILE)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EMFILE):
        return True
    text = str(exc).lower()
    return "watch limit" in text or "no space left" in text or "too many open files" in text


def open_watch(root: str, **kwargs: Any) -> AsyncIterator[set[tuple[watchfiles.Change, str]]]:
    """The stream of change batches a watcher reads (tests replace it to simulate inotify
    failures): inotify read directly (``inotify_batches``: its overflow is seen), else
    ``watchfiles.awatch`` (polling, or no inotify). ``kwargs`` are ``watchfiles.awatch``'s,
    plus ``descend`` (the folders worth watching)."""
    descend = kwargs.pop("descend")
    if not kwargs["force_polling"] and available():
        return inotify_batches(
            root,
            watch_filter=kwargs["watch_filter"],
            descend=descend,
            step=kwargs["step"],
            debounce=kwargs["debounce"],
            tick=kwargs["rust_timeout"],
            stop_event=kwargs["stop_event"],
            ignore_permission_denied=kwargs["ignore_permission_denied"],
        )
    return watchfiles.awatch(root, **kwargs)
