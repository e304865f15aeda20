"""The operator reverted a path during a wave: ``record_revert``, the one place that says so.

A revert undoes an agent's work: the issues of the agents owning the path are then ``reverted``
in the checkpoint, never claimed fixed (``wavedeck.agents.wave.evidence``). Called by the
engine's own revert (``WaveWatch.revert``, the violations and diff screens' ``x``) and by any
review that puts back hunks itself (``Supervisor.record_revert``, ``partial=True`` for some
hunks). Each record is saved in the wave's record and told as a ``PathReverted`` event (the
views drop the path's violations). A new run of an owning agent (a follow-up, a restart) clears
its records: what it reports then is the evidence (``forget_agent``).
"""

from __future__ import annotations

import time

from wavedeck.agents.events import PathReverted
from wavedeck.agents.state import RevertRecord
from wavedeck.agents.wave.context import WaveContext
from wavedeck.plan.ownership import OwnershipIndex


def record_revert(ctx: WaveContext, wave: int, path: str, *, partial: bool = False) -> None:
    """Record that the operator put ``path`` back (all of it, or ``partial``) in ``wave``."""
    owners = OwnershipIndex(ctx.plan, wave).declared_by(path)
    rec = ctx.wave(wave)
    before = rec.reverted.get(path)
    whole = not partial or (before is not None and not before.partial)
    rec.reverted[path] = RevertRecord(
        agents=list(owners), partial=not whole, reverted_at=time.time()
    )
    if whole:  # the path is as it was: what the watcher found in it is gone with it
        ctx.violations[wave] = [v for v in ctx.violations.get(wave, []) if v.path != path]
    ctx.save()
    ctx.emit(PathReverted(wave, path, tuple(owners), partial=not whole))


def forget_agent(ctx: WaveContext, agent_id: str) -> None:
    """A new run of ``agent_id`` starts: its reverted paths no longer speak for its issues
    (saved with the launch)."""
    wave = ctx.plan.agent(agent_id).wave
    rec = ctx.state.waves.get(wave)
    if rec is None or not rec.reverted:
        return
    for path, revert in list(rec.reverted.items()):
        if agent_id in revert.agents:
            revert.agents.remove(agent_id)
            if not revert.agents:
                del rec.reverted[path]
