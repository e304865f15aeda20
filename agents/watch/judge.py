"""What a touched path is reported as in one wave: ``WriteJudge``.

The watcher (``wavedeck.agents.watch.watcher``) finds *that* a path changed; the judge decides
what it says about it: who wrote it (``attribute``, and the ``WriteLedger`` of a shared tree),
whether that is a violation, and whether it was already said. It remembers, per wave, what it
reported, so a path is reported once (even if deleted and written anew) until ``forget`` (the
supervisor reverted it) or a new wave (``new_wave``); ``accept`` keeps it quiet for the rest of
the wave. A change to ``.git/config``, ``.git/config.worktree``, ``.git/info/attributes`` or
``.git/hooks/`` is ``ViolationFound(kind="tamper", agent=None)`` (``tamper``). A file replaced
by (or created as) a symbolic link is a ``symlink`` violation: a write through it lands in
another file.

Writers (a shared tree, with a ``WriteLedger``): every change of a path, folded ones included,
goes to the ledger (``observed``), so coalescing merges reports, never writers. The
``FileTouched`` of a report is sent at once, saying how its writer is known (``attribution``);
an attribution that a tool event may still correct (``Attribution.settle_s``: the preset prints
tool calls after they ran) keeps its violation waiting that long; a folded write (``fold``), and
a tool event naming a path already reported, make the judge decide the path again (``settle``):
a writer it did not name gets a corrected ``FileTouched`` (``corrects``) and, when it may not
write the path, its ``ViolationFound``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat

from wavedeck.agents.events import Event, FileTouched, Notice, ViolationFound
from wavedeck.agents.kinds import AttributionBasis
from wavedeck.agents.watch.rules import (
    GIT_CONFIGS,
    GIT_HOOKS,
    Attribution,
    Attributor,
    config_detail,
    describe,
    read_config,
)
from wavedeck.agents.watch.writers import KEEP_S, WriteLedger

__all__ = ["WriteJudge"]


class WriteJudge:
    """The reports of one watched root for the current wave, and what decides them."""

    def __init__(self, root: str, attribute: Attributor | None, ledger: WriteLedger | None) -> None:
        self._root = root
        self._attribute = attribute
        self.ledger = ledger
        # path -> when its held violation is decided (an attribution a tool event may correct)
        self.pending: dict[str, float] = {}
        # path -> (agent, how known, when) of its last FileTouched, for corrections
        self._shown: dict[str, tuple[str | None, AttributionBasis, float]] = {}
        # path -> (agent, how known) of its reported violation, for corrections
        self._reported_by: dict[str, tuple[str | None, AttributionBasis]] = {}
        self._linked: set[str] = set()  # symbolic links reported this wave
        # Set while no report is held back and every decision was handed to the consumer.
        self.quiet = asyncio.Event()
        self.quiet.set()
        self._reported: set[str] = set()
        self._accepted: set[str] = set()
        self._settling: dict[str, float] = {}
        self._last_shown_prune = 0.0
        self._configs: dict[str, str | None] = {}
        self._attribute_error: str | None = None
        self._attribute_noticed = False

    # -- control ------------------------------------------------------------------------------

    def new_wave(self, attribute: Attributor | None) -> None:
        """A new attribution, violations reported afresh, .git/config re-read."""
        self._attribute = attribute
        self._reported.clear()
        self._accepted.clear()
        self._settling.clear()
        self.pending.clear()
        self._shown.clear()
        self._reported_by.clear()
        self._linked.clear()
        self.snapshot_configs()

    def forget(self, path: str, settle_until: float | None) -> None:
        """Forget a reported violation; writes before ``settle_until`` are the revert itself."""
        if path in self._accepted:
            return
        self._reported.discard(path)
        self._reported_by.pop(path, None)
        self._linked.discard(path)
        self.pending.pop(path, None)
        if settle_until is not None:
            self._settling[path] = settle_until

    def accept(self, path: str) -> None:
        """Never report ``path`` again in this wave."""
        self._accepted.add(path)
        self._reported.add(path)

    def snapshot_configs(self) -> None:
        """Read git's config files now: a later change is judged against this."""
        self._configs = {rel: read_config(os.path.join(self._root, rel)) for rel in GIT_CONFIGS}

    def ensure_configs(self) -> None:
        """Read git's config files unless a wave already did."""
        if not self._configs:
            self.snapshot_configs()

    def handed_over(self) -> None:
        """The consumer took every event so far: quiet, unless a report is held back."""
        if not self.pending:
            self.quiet.set()

    async def settled(self, stop: asyncio.Event, tick_s: float) -> None:
        """Until no report is held back and every decision was handed to the consumer (at most
        the ledger's lag and four ticks of the watcher's loop, which decides held reports on
        time, until ``stop``)."""
        ledger = self.ledger
        limit = (ledger.lag_s if ledger is not None else 0.0) + 4 * tick_s

        async def drained() -> None:
            # a tool event already recorded but not yet judged (the next tick does) comes first
            while ledger is not None and ledger.has_new() and not stop.is_set():
                await asyncio.sleep(tick_s / 4)
            await self.quiet.wait()

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(drained(), limit)

    def prune(self, now: float) -> None:
        """Drop settling windows that ended and corrections too old to matter."""
        if self._settling:
            self._settling = {p: t for p, t in self._settling.items() if t > now}
        if self._shown and now - self._last_shown_prune > KEEP_S:
            self._last_shown_prune = now
            self._shown = {p: s for p, s in self._shown.items() if now - s[2] < KEEP_S}

    # -- judging ------------------------------------------------------------------------------

    def observed(self, rel: str, now: float) -> None:
        """A change of ``rel``, reported or folded: the ledger counts every write."""
        if self.ledger is not None:
            self.ledger.seen(rel, now)  # every write, folded or not: reports merge, writers never

    def fold(self, rel: str, now: float) -> None:
        """A change folded into the last report of ``rel`` (the same burst of writes); with a
        ledger it is judged again once its writers can be known (another agent may have
        written it)."""
        if self.ledger is not None and rel not in self.pending:
            self.pending[rel] = now + self.ledger.lag_s
            self.quiet.clear()

    def touched(
        self, rel: str, path: str, change: str, mode: int | None, now: float
    ) -> list[Event]:
        """The report of a change of ``rel`` (``mode``: its ``lstat`` mode, None if gone): its
        ``FileTouched`` and, unless a tool event may still name another writer, its violation."""
        found = self._attribution(rel)
        out: list[Event] = [FileTouched(rel, found.agent, change, found.how)]
        self._shown[rel] = (found.agent, found.how, now)
        if self._attribute_error is not None and not self._attribute_noticed:
            self._attribute_noticed = True
            out.append(
                Notice("error", "attributing touched files failed", error=self._attribute_error)
            )
        if mode is not None and stat.S_ISLNK(mode):
            out += self._symlink(rel, path, found, now)
        if found.settle_s > 0:
            # A tool event may still name another writer: the violation waits for it.
            self.pending[rel] = now + found.settle_s
            self.quiet.clear()
            return out
        out += self._violation(rel, found, now)
        return out

    def _violation(self, rel: str, found: Attribution, now: float) -> list[Event]:
        """The violation ``found`` says, once per path, or its correction: a report made on an
        inferred attribution is made again when an exact one names another agent."""
        kind, agent = found.kind, found.agent
        if kind is None or self._settling.get(rel, 0.0) > now or rel in self._accepted:
            return []
        corrects = None
        if rel in self._reported:
            before = self._reported_by.get(rel)
            if before is None or before[1] == "exact" or found.how != "exact":
                return []
            if before[0] == agent:
                self._reported_by[rel] = (agent, found.how)
                return []
            corrects = before[0] or ""
        self._reported.add(rel)
        self._reported_by[rel] = (agent, found.how)
        why = found.why or describe(kind, agent, found.names)
        return [ViolationFound(agent, rel, kind, found.names, why, found.how, corrects)]

    def _symlink(self, rel: str, path: str, found: Attribution, now: float) -> list[Event]:
        """A file is (now) a symbolic link: a write through it lands elsewhere, whoever owns
        the link. Reported once per wave, whatever else is wrong with the path."""
        if rel in self._linked or rel in self._accepted or self._settling.get(rel, 0.0) > now:
            return []
        self._linked.add(rel)
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        why = f"a symbolic link to {target}: a write through it lands in another file"
        return [ViolationFound(found.agent, rel, "symlink", found.names, why, found.how)]

    def settle(self, now: float) -> list[Event]:
        """Decide the held reports whose time came or whose writer a tool event now names, and
        judge again the paths a late tool event names (see the module docstring)."""
        ledger = self.ledger
        if ledger is None or not (self.pending or ledger.has_new()):
            return []
        named = ledger.take_new()
        out: list[Event] = []
        for rel, due in list(self.pending.items()):
            if now < due and rel not in named:
                continue
            found = self._attribution(rel)
            if found.settle_s > 0 and now < due:
                continue  # the event named another burst of it: still waiting
            del self.pending[rel]
            out += self._decide(rel, found, now)
        for rel in named:
            if rel in self._shown and rel not in self.pending:
                out += self._decide(rel, self._attribution(rel), now)
        return out

    def _decide(self, rel: str, found: Attribution, now: float) -> list[Event]:
        """``found`` for a path already shown: a corrected ``FileTouched`` when it names
        another writer, then the violation it says (or its correction)."""
        out: list[Event] = []
        shown = self._shown.get(rel)
        if shown is not None and found.agent is not None and shown[:2] != (found.agent, found.how):
            # Who wrote it, or how that is known, changed: say it again (``corrects``: the agent
            # named before, when another).
            wrong = shown[0] if shown[0] != found.agent else None
            out.append(FileTouched(rel, found.agent, "modified", found.how, corrects=wrong))
        self._shown[rel] = (found.agent, found.how, now)
        return out + self._violation(rel, found, now)

    def _attribution(self, rel: str) -> Attribution:
        if self._attribute is None:
            return Attribution(None)
        try:
            return self._attribute(rel)
        except Exception as exc:  # a broken attributor must not stop the watcher
            if self._attribute_error is None:
                self._attribute_error = repr(exc)
            return Attribution(None)

    def tamper(self, rel: str, path: str) -> list[Event]:
        """A change under ``.git/`` (``rel``): a config whose content changed, a hook or
        ``info/attributes`` added, changed or removed."""
        if rel in GIT_CONFIGS:
            text = read_config(path)
            before = self._configs.get(rel)
            if text == before:
                return []  # rewritten with the same content (or a spurious event)
            self._configs[rel] = text
            return [ViolationFound(None, rel, "tamper", (), config_detail(rel, before, text))]
        try:
            mode: int | None = os.lstat(path).st_mode
        except OSError:
            mode = None
        if (mode is not None and stat.S_ISDIR(mode)) or rel in self._reported:
            return []
        self._reported.add(rel)
        what = "removed" if mode is None else "added or changed"
        if rel.startswith(GIT_HOOKS):
            detail = f"git hook {rel[len(GIT_HOOKS) :]} {what}"
        else:
            detail = f"{rel} {what} (attributes can name filter and diff programs)"
        return [ViolationFound(None, rel, "tamper", (), detail)]
