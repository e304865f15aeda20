"""The wave-start snapshots of ``.git``'s program-running parts, for the checkpoint's tamper check.

A snapshot (``GitRepo.tamper_snapshot``) is taken when a wave starts, kept in memory and in
``.wavedeck/tamper-wave-N.json`` (so a control room opened later compares against the same one),
and compared at the checkpoint. ``planted_programs`` lists what in ``.git`` can already make git
run a program when a wave starts (reported to the operator, never run by wavedeck).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from wavedeck.agents.markers import read_marker, write_marker

if TYPE_CHECKING:
    from wavedeck.agents.git.tamper import TamperFinding
    from wavedeck.agents.wave.context import WaveContext

# The pseudo-path under which a change of .git's configuration or hooks is listed and accepted.
TAMPER_KEY = "(git configuration and hooks)"

PLANTED_NOTICE = (
    "this repository's git setup can run programs (wavedeck's own git commands never run them; "
    "your git commands would): "
)


class TamperLog:
    """Wave-start snapshots of ``.git`` (see the module docstring)."""

    def __init__(self, ctx: WaveContext) -> None:
        self.ctx = ctx
        self._snapshots: dict[int, dict[str, str]] = {}

    def _file(self, n: int) -> Path:
        return self.ctx.wavedeck_dir / f"tamper-wave-{n}.json"

    def remember(self, n: int, snapshot: dict[str, str]) -> None:
        """Keep the wave-start snapshot of .git's program-running parts (survives a restart)."""
        self._snapshots[n] = snapshot
        write_marker(self._file(n), snapshot)

    def recall(self, n: int) -> dict[str, str] | None:
        """The snapshot taken when wave ``n`` started, None when there is none."""
        if n in self._snapshots:
            return dict(self._snapshots[n])
        data = read_marker(self._file(n))
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else None

    def planted_programs(self) -> list[TamperFinding]:
        """What in this repository's ``.git`` can make git run a program (hooks, fsmonitor, …).

        Reported when a wave starts: wavedeck's own git commands run with hooks and fsmonitor
        off, but the operator should know that their own ``git status`` or ``git commit`` would
        run them. Blocking (git): call it in a thread.
        """
        return [f for f in self.ctx.git.tamper_findings({}) if f.program]
