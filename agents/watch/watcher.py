"""Watching the workspace: ``WorkspaceWatcher`` turns file changes into engine events.

Each change under the watched root becomes a ``FileTouched`` event, attributed to an agent by an
``attribute`` callable (``ownership_attributor`` builds one from the plan's ownership model and
the ``[policy]``). A path its writer does not own becomes a ``ViolationFound`` with the model's
kind, once per wave, until the supervisor calls ``forget(path)`` after reverting it, or a new
wave starts (``set_attributor``); ``accept(path)`` keeps it quiet for the rest of the wave. What
a change is reported as (writers, violations, ``tamper`` under ``.git/``, symbolic links) is
decided by ``wavedeck.agents.watch.judge.WriteJudge``; the rules (globs, attributors, watched
paths, config diffs) are in ``wavedeck.agents.watch.rules``. The rest of ``.git/``,
``.wavedeck/``, editor temp files and the configured ignores are never reported. Fallbacks and
failures (inotify limit -> polling, root deleted or moved) are ``Notice`` events, never
tracebacks. inotify is read directly (``wavedeck.agents.watch.inotify.open_watch``; watchfiles
drops the kernel's overflow event), so when the kernel's queue overflows and changes are lost
the watcher says so and rescans the tree for files changed since it last had seen everything.

Latency and storms: watchfiles runs with a short ``step`` so one save is reported ~15 ms after
it lands, and a short ``debounce`` so a storm arrives in bounded batches, processed in slices
that yield to the event loop. A burst of writes to one file is one event: the first write is
reported at once, repeats while writes keep coming (gaps < ``COALESCE_S``) are folded into it.
A new folder is scanned, so files written into it before its OS watch existed are not missed.

What is ignored is one rule, the checkpoint's too (``wavedeck.agents.watch.ignores``): git's
ignore rules are asked for each batch. Every change of a path, folded ones included, goes to the
judge (and through it to a shared tree's ``WriteLedger``): coalescing merges reports, never
writers.
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Collection, Sequence
from pathlib import Path

import watchfiles

from wavedeck.agents.events import Event, Notice
from wavedeck.agents.watch import inotify
from wavedeck.agents.watch.ignores import Ignores
from wavedeck.agents.watch.judge import WriteJudge
from wavedeck.agents.watch.rules import Attributor, PathFilter, changed_since
from wavedeck.agents.watch.writers import WriteLedger
from wavedeck.plan.words import plural

__all__ = ["WorkspaceWatcher"]

STEP_MS = 15  # quiet time that ends a batch: the latency of a single save
DEBOUNCE_MS = 200  # longest batch during a storm: bounds batch size and memory
TICK_MS = 250  # the watch thread returns at least this often, to notice stop() and a lost root
POLL_DELAY_MS = 300  # polling fallback interval
COALESCE_S = 0.25  # repeats of a change to one path closer than this are one event
FRESH_S = 2.0  # a folder this young: a "modified" file in it is taken as new
SLICE = 128  # paths processed between two yields to the event loop
_ADDED = 1 << int(watchfiles.Change.added)
# A rescan after lost events starts this long before the watcher was last caught up (file
# times come from a coarse clock).
RESCAN_MARGIN_NS = 2_000_000_000
GITIGNORE = ".gitignore"


class WorkspaceWatcher:
    """Watches one root (the shared tree or one agent's worktree) and yields engine events."""

    def __init__(
        self,
        root: Path,
        *,
        ignores: Sequence[str] = (),
        force_polling: bool = False,
        attribute: Attributor | None = None,
        watch_git: bool = True,
        step_ms: int = STEP_MS,
        debounce_ms: int = DEBOUNCE_MS,
        coalesce_s: float = COALESCE_S,
        ignore: Ignores | None = None,
        ledger: WriteLedger | None = None,
    ) -> None:
        """
        Args:
            root: the folder to watch (a repository root or a worktree).
            ignores: repo-relative globs to ignore; .git/ and .wavedeck/ always are.
            ignore: the run's one ignore rule (``Ignores``: the globs, the agent CLI's own
                paths, git's ignores), shared with the checkpoint; default: ``ignores``, and
                git's rules when ``root`` is a git working tree.
            force_polling: poll instead of inotify (also taken automatically on ENOSPC).
            attribute: path -> (agent, violation kind, candidates); None = no attribution.
            watch_git: report changes to .git/config and .git/hooks/ as ``tamper``.
            step_ms: quiet time ending a batch (latency of one save).
            debounce_ms: longest batch.
            coalesce_s: repeats of a change to one path closer than this are one event.
            ledger: who wrote what (a shared tree): told every change, and asked again when it
                learns of a writer (see ``WriteJudge``).
        """
        self.root = Path(os.path.realpath(root))
        self._root = str(self.root)
        self._prefix_len = len(self._root) + 1
        self._ignore = ignore if ignore is not None else Ignores(self.root, ignores)
        self._filter = PathFilter(self._root, self._ignore, watch_git)
        self._judge = WriteJudge(self._root, attribute, ledger)
        self.force_polling = force_polling
        self._step_ms = step_ms
        self._debounce_ms = debounce_ms
        self._coalesce_s = coalesce_s
        self._stop = asyncio.Event()
        # Set once the OS watch is in place (within TICK_MS of starting): later changes are seen.
        self.ready = asyncio.Event()
        # path -> when last reported, negative for a deletion. Floats and strings only, so the
        # garbage collector does not track this dict (it can hold a whole storm's paths).
        self._recent: dict[str, float] = {}
        self._fresh: dict[str, float] = {}  # folders created in the last FRESH_S seconds
        self._fresh_seen: set[str] = set()  # files already reported while folders were fresh
        self._last_prune = 0.0
        self._root_id: tuple[int, int] | None = None
        self._batch: Collection[str] = ()
        self._batch_added: set[str] = set()
        # When the stream was last idle (every change before it seen): a rescan after lost
        # events looks for changes from then on.
        self._caught_up_ns = 0
        self._mark_caught_up()

    # -- control ------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop watching; ``events()`` ends after its current batch."""
        self._stop.set()

    def set_attributor(self, attribute: Attributor | None) -> None:
        """Start a new wave: a new attribution, violations reported afresh, .git/config re-read."""
        self._judge.new_wave(attribute)

    def forget(self, path: str, *, settle_s: float = 1.0) -> None:
        """Forget a reported violation (the supervisor reverted or accepted the path).

        A later write reports it again. Writes to it within ``settle_s`` are taken to be the
        revert itself and reported as ``FileTouched`` only.
        """
        self._judge.forget(path, time.monotonic() + settle_s if settle_s > 0 else None)

    def accept(self, path: str) -> None:
        """The operator accepted ``path`` for this wave: never report it again in this wave
        (``forget`` would report the next write again)."""
        self._judge.accept(path)

    async def settled(self) -> None:
        """Until no report is held back and every decision was handed to the consumer (at most
        the ledger's lag and a tick: a held report is decided on time, or when stopped)."""
        await self._judge.settled(self._stop, TICK_MS / 1000)

    async def wait_ready(self) -> None:
        """Until the OS watch is in place (or the stream ended): ``ChangeWatcher``'s interface."""
        await self.ready.wait()

    # -- the stream ---------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[Event]:
        """Yield ``FileTouched``, ``ViolationFound`` and ``Notice`` until ``stop()`` or the root
        disappears. Never raises for file system trouble: it becomes a ``Notice``. Call it once
        per watcher; ``ready`` is set when the OS watch is in place (or the stream ended)."""
        inner = self._events()
        try:
            async for event in inner:
                yield event
        finally:
            self._stop.set()  # the consumer left: the watch thread ends within one step
            await inner.aclose()  # closes watchfiles' generator and its OS watch now
            self.ready.set()  # nobody waits forever for a watcher that never started
            self._judge.quiet.set()  # nor for one that holds nothing any more

    async def _events(self) -> AsyncGenerator[Event, None]:
        try:
            st = os.stat(self._root)
        except OSError as exc:
            yield Notice("error", f"cannot watch {self._root}: {exc.strerror or exc}")
            return
        self._root_id = (st.st_dev, st.st_ino)
        self._judge.ensure_configs()
        polling = self.force_polling
        while not self._stop.is_set():
            stream = inotify.open_watch(
                self._root,
                watch_filter=self._filter,
                step=self._step_ms,
                debounce=self._debounce_ms,
                rust_timeout=TICK_MS,
                yield_on_timeout=True,
                stop_event=self._stop,
                force_polling=polling,
                poll_delay_ms=POLL_DELAY_MS,
                ignore_permission_denied=True,
                descend=self._filter.descend,
            )
            try:
                async for batch in stream:
                    if not self.ready.is_set():
                        self._mark_caught_up()
                    self.ready.set()
                    if self._root_lost():
                        yield self._lost_notice()
                        return
                    if not batch:
                        self._mark_caught_up()  # idle: every change was seen
                    else:
                        overflowed = (watchfiles.Change.modified, inotify.OVERFLOW) in batch
                        if overflowed:
                            batch.discard((watchfiles.Change.modified, inotify.OVERFLOW))
                        async for event in self._process(batch):
                            yield event
                        if overflowed:
                            async for event in self._rescan():
                                yield event
                    # Also on the quiet ticks: held reports whose time came, late tool events.
                    for event in self._judge.settle(time.monotonic()):
                        yield event
                    self._judge.handed_over()  # resumed: the consumer handled all of it
                return
            except Exception as exc:  # every failure becomes a Notice
                if self._root_lost():
                    yield self._lost_notice()
                    return
                if not polling and inotify.is_watch_limit(exc):
                    polling = True
                    self.force_polling = True
                    yield Notice(
                        "warning",
                        "file watch limit reached (inotify); watching by polling instead, "
                        "changes show up more slowly. Raise fs.inotify.max_user_watches to avoid it",
                        error=str(exc),
                        fallback="polling",
                    )
                    continue
                yield Notice("error", f"the workspace watcher stopped: {exc}", error=repr(exc))
                return
            finally:
                aclose = getattr(stream, "aclose", None)
                if aclose is not None:
                    await aclose()

    def _mark_caught_up(self) -> None:
        # Wall clock on purpose: it is compared with files' st_ctime, which the kernel stamps
        # from the wall clock (no duration is measured with it).
        self._caught_up_ns = time.time_ns()

    async def _rescan(self) -> AsyncIterator[Event]:
        """The kernel dropped events: say so, then report every file changed since the watcher
        last had seen everything (a new scan of the tree, by ``st_ctime``)."""
        size = inotify.max_queued_events()
        yield Notice(
            "warning",
            "the kernel's file event queue overflowed (fs.inotify.max_queued_events = "
            f"{size or '?'}): changes were lost; rescanning the workspace for them",
            watch_lost="overflow",
        )
        since = self._caught_up_ns - RESCAN_MARGIN_NS
        files, folders = await asyncio.to_thread(changed_since, self._root, self._filter, since)
        seen = set(files)
        async for event in self._process({(watchfiles.Change.modified, p) for p in seen}):
            yield event
        yield Notice(
            "info",
            f"rescan after the overflow: {plural(len(files), 'file')} changed in that time, "
            f"reported; {plural(folders, 'folder')} changed too, where a deletion cannot be "
            "named (the checkpoint lists every change from git)",
            watch_lost="rescanned",
        )

    def _root_lost(self) -> bool:
        try:
            st = os.stat(self._root)
        except OSError:
            return True
        return (st.st_dev, st.st_ino) != self._root_id

    def _lost_notice(self) -> Notice:
        return Notice(
            "error",
            f"the watched folder {self._root} was deleted or moved; file watching stopped",
            paths=(self._root,),
        )

    async def _process(self, batch: set[tuple[watchfiles.Change, str]]) -> AsyncIterator[Event]:
        by_path: dict[str, int] = {}
        for change, path in batch:
            by_path[path] = by_path.get(path, 0) | (1 << int(change))
        # Folders whose entries changed: a deleted path among them was a folder, not a file.
        parents = {p.rpartition(os.sep)[0] for p in by_path}
        work = deque((p, k, p in parents) for p, k in by_path.items())
        # Paths created in this batch: a file below one of them is new too, whatever the OS said.
        self._batch_added = {p for p, k in by_path.items() if k & _ADDED}
        self._batch = by_path.keys()
        now = time.monotonic()
        self._prune(now)
        if any(p.endswith(os.sep + GITIGNORE) or p.endswith("/info/exclude") for p in by_path):
            self._ignore.forget()  # git's rules changed: ask again
        while work:
            chunk = [work.popleft() for _ in range(min(SLICE, len(work)))]
            ignored = await self._git_ignored(chunk)
            now = time.monotonic()
            for path, kinds, is_parent in chunk:
                if path in ignored:
                    continue
                for event in self._one(path, kinds, is_parent, now, work):
                    yield event
            if work:
                await asyncio.sleep(0)  # a storm never stalls the loop
        self._batch, self._batch_added = (), set()

    async def _git_ignored(self, chunk: list[tuple[str, int, bool]]) -> set[str]:
        """The paths of ``chunk`` git ignores (asked in a thread; nothing outside git)."""
        if not self._ignore.uses_git:
            return set()
        rels = {
            path[self._prefix_len :].replace(os.sep, "/"): path
            for path, _kinds, _parent in chunk
            if not path[self._prefix_len :].startswith(".git/")
        }
        if not rels:
            return set()
        found = await asyncio.to_thread(self._ignore.git_ignored, list(rels))
        return {rels[rel] for rel in found}

    def _scan(self, folder: str, work: deque[tuple[str, int, bool]]) -> None:
        """Queue the entries of a new folder: files written into it before its OS watch was in
        place (``mkdir -p a/b && echo > a/b/f``) raise no event of their own."""
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.path not in self._batch and self._filter(
                        watchfiles.Change.added, entry.path
                    ):
                        work.append((entry.path, _ADDED, False))
        except OSError:
            return

    def _prune(self, now: float) -> None:
        if now - self._last_prune < self._coalesce_s:
            return
        self._last_prune = now
        self._recent = {p: t for p, t in self._recent.items() if now - abs(t) < self._coalesce_s}
        self._judge.prune(now)
        self._fresh = {p: t for p, t in self._fresh.items() if now - t < FRESH_S}
        if not self._fresh:
            self._fresh_seen.clear()

    def _one(
        self, path: str, kinds: int, is_parent: bool, now: float, work: deque[tuple[str, int, bool]]
    ) -> list[Event]:
        rel = path[self._prefix_len :].replace(os.sep, "/")
        if rel.startswith(".git/"):
            return self._judge.tamper(rel, path)
        try:
            mode: int | None = os.lstat(path).st_mode
        except OSError:
            mode = None
        added = kinds & _ADDED
        if mode is not None:
            if stat.S_ISDIR(mode):
                if added:
                    self._fresh[path] = now
                    self._scan(path, work)
                return []
            # In a folder created moments ago, the OS watch may have missed the create itself.
            new = bool(added)
            if not new and rel not in self._fresh_seen and self._in_fresh_folder(path):
                new = True
            if self._fresh or self._batch_added:
                self._fresh_seen.add(rel)
            change = "added" if new else "modified"
        elif added or is_parent:
            return []  # created and removed within one batch (a temp file), or a folder
        else:
            change = "deleted"
        last = self._recent.get(rel)
        self._recent[rel] = -now if change == "deleted" else now
        self._judge.observed(rel, now)
        if (
            last is not None
            and (last < 0) == (change == "deleted")
            and now - abs(last) < self._coalesce_s
            # A file that is now a link is a new fact, never part of the writes before it:
            # under load the owner's last write and the swap can land in one window.
            and not (mode is not None and stat.S_ISLNK(mode))
        ):
            self._judge.fold(rel, now)  # the same burst of writes (a create then writes)
            return []
        return self._judge.touched(rel, path, change, mode, now)

    def _in_fresh_folder(self, path: str) -> bool:
        """Whether ``path`` lies in a folder created moments ago (any level up)."""
        if not self._fresh and not self._batch_added:
            return False
        folder = path.rpartition(os.sep)[0]
        while len(folder) > len(self._root):
            if folder in self._fresh or folder in self._batch_added:
                return True
            folder = folder.rpartition(os.sep)[0]
        return False
