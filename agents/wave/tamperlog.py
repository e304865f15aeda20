"""The wave-start snapshots of ``.git``'s program-running parts, and the review of each change.

A snapshot (``GitRepo.tamper_snapshot``) is taken when a wave starts, kept in memory and in
``.wavedeck/tamper-wave-N.json`` (so a control room opened later compares against the same one),
and compared at the checkpoint. Each difference (``TamperFinding``: a setting, a hook, a file)
is one violation of its own, under the pseudo-path ``finding_key`` (``(git) .git/config
core.fsmonitor``), reviewed one at a time: ``confirm`` (the operator keeps it: the snapshot
takes its current value, so a later change is a new finding) or ``undo`` (the setting gets its
wave-start value back; an added hook or file is moved to ``.wavedeck/quarantine/``; a changed or
removed one is put back from the copy the snapshot kept in ``.wavedeck/tamper-copies/``, the
changed one quarantined). Nothing
accepts these in bulk (``--accept-violations`` does not), and the checkpoint is refused while
one is open. ``planted_programs`` lists what in ``.git`` can already make git run a program when
a wave starts (reported to the operator, never run by wavedeck).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from wavedeck.agents.git.tamper import TamperFinding
from wavedeck.agents.kinds import ViolationKind
from wavedeck.agents.markers import read_marker, write_marker

if TYPE_CHECKING:
    from wavedeck.agents.wave.context import WaveContext

# Findings are listed, accepted and undone under pseudo-paths starting with this.
TAMPER_PREFIX = "(git) "
TAMPER_KIND: ViolationKind = "tamper"

PLANTED_NOTICE = (
    "this repository's git setup can run programs (wavedeck's own git commands never run them; "
    "your git commands would): "
)


def finding_key(finding: TamperFinding) -> str:
    """The pseudo-path one finding is listed, accepted and undone under."""
    return f"{TAMPER_PREFIX}{finding.where} {finding.key}"


def is_tamper_key(path: str) -> bool:
    return path.startswith(TAMPER_PREFIX)


def refusal(n: int, findings: Iterable[TamperFinding]) -> str:
    """Why wave ``n``'s checkpoint waits, naming each open finding."""
    keys = [finding_key(f) for f in findings]
    shown = ", ".join(keys[:5]) + (f" (+{len(keys) - 5} more)" if len(keys) > 5 else "")
    return (
        f"git's configuration or hooks changed during wave {n}: {shown}. Review each one in "
        "the control room's violations screen (v: keep it, or undo it), or put it back "
        "yourself (git config --unset ...) and run again; --accept-violations never accepts "
        "these"
    )


def confirmed(accepted: Mapping[str, str], open_keys: Iterable[str]) -> dict[str, str]:
    """The findings the operator confirmed (and that did not change since), for the
    checkpoint's ``Wavedeck-Accepted`` trailers."""
    still_open = set(open_keys)
    return {k: v for k, v in accepted.items() if is_tamper_key(k) and k not in still_open}


class TamperLog:
    """Wave-start snapshots of ``.git`` and the review of what changed (module docstring)."""

    def __init__(self, ctx: WaveContext) -> None:
        self.ctx = ctx
        self._snapshots: dict[int, dict[str, str]] = {}

    @property
    def copies(self) -> Path:
        """Where the hooks and files of the snapshots are kept (``tamper_copies``)."""
        return self.ctx.wavedeck_dir / "tamper-copies"

    def _file(self, n: int) -> Path:
        return self.ctx.wavedeck_dir / f"tamper-wave-{n}.json"

    def remember(self, n: int, snapshot: dict[str, str]) -> None:
        """Keep the wave-start snapshot of .git's program-running parts (survives a restart)."""
        self._snapshots[n] = snapshot
        path = self._file(n)
        try:
            write_marker(path, snapshot)
        except OSError as exc:  # kept in memory; a later control room takes a new one
            raise OSError(f"cannot write {path}: {exc.strerror}") from None

    def recall(self, n: int) -> dict[str, str] | None:
        """The snapshot taken when wave ``n`` started, None when there is none."""
        if n in self._snapshots:
            return dict(self._snapshots[n])
        data = read_marker(self._file(n))
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else None

    def findings(self, n: int) -> list[TamperFinding]:
        """What changed in ``.git`` since wave ``n`` started (blocking: git)."""
        before = self.recall(n)
        return [] if before is None else self.ctx.git.tamper_findings(before)

    def _find(self, n: int, key: str) -> tuple[dict[str, str], TamperFinding] | None:
        before = self.recall(n)
        if before is None:
            return None
        for finding in self.ctx.git.tamper_findings(before):
            if finding_key(finding) == key:
                return before, finding
        return None

    def _rebase_files(self, n: int, before: dict[str, str], now: dict[str, str]) -> None:
        # The files' own digests follow: a file whose settings are all reviewed is not a
        # finding of its own.
        for entry in [k for k in before.keys() | now.keys() if k.startswith("file:")]:
            if entry in now:
                before[entry] = now[entry]
            else:
                before.pop(entry, None)
        self.remember(n, before)

    def confirm(self, n: int, key: str) -> bool:
        """The operator keeps the change ``key``: the snapshot takes its current value, so
        only a later change is a finding again. False when it is not (or no longer) a
        finding. Blocking (git)."""
        found = self._find(n, key)
        if found is None:
            return False
        before, finding = found
        now = self.ctx.git.tamper_snapshot(keep_in=self.copies)  # kept: undo comes back to it
        if finding.entry in now:
            before[finding.entry] = now[finding.entry]
        else:
            before.pop(finding.entry, None)
        self._rebase_files(n, before, now)
        return True

    def undo(self, n: int, key: str) -> str | None:
        """Put the change ``key`` back as it was when wave ``n`` started; None when done, else
        why not. Blocking (git)."""
        found = self._find(n, key)
        if found is None:
            return f"{key} is not a change made during wave {n} (any more)"
        before, finding = found
        quarantine = self.ctx.wavedeck_dir / "quarantine" / f"wave-{n}"
        old = before.get(finding.entry)
        why = self.ctx.git.tamper_restore(finding, old, quarantine, self.copies)
        if why is None:
            self._rebase_files(n, before, self.ctx.git.tamper_snapshot())
        return why

    def planted_programs(self) -> list[TamperFinding]:
        """What in this repository's ``.git`` can make git run a program (hooks, fsmonitor, …).

        Reported when a wave starts: wavedeck's own git commands never run them, but the
        operator should know that their own ``git status`` or ``git commit`` would run them.
        Blocking (git): call it in a thread.
        """
        found = [f for f in self.ctx.git.tamper_findings({}) if f.program]
        named = {f.key[7:].rsplit(".", 1)[0] for f in found if f.key.startswith("filter.")}
        for name in self.ctx.git.neutralised_filters():
            if name in named:
                continue  # already listed from .git/config
            text = (
                f"filter {name} (git's configuration): wavedeck's git runs it only with the "
                f"programs [git.filters.{name}] names in wavedeck.toml; until then, files "
                "using it may look changed to wavedeck"
            )
            found.append(TamperFinding(f"filter.{name}", "git config", "added", None, True, text))
        return found
