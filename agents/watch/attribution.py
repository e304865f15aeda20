"""The shared working tree's attribution: who wrote a path, how that is known, what is wrong.

``ledger_attributor`` builds the watcher's ``Attributor`` for one wave from the plan's ownership
model, the ``[policy]`` and a ``WriteLedger`` (``wavedeck.agents.watch.writers``). For the latest
burst of writes of a path, the writer is, in this order:

1. ``exact``: the agent whose tool event names the path (several: the one that may not write
   it, so an owner's own edit never hides another agent's write folded into the same burst);
2. ``inferred`` from a tool event of an agent that may not write it, lying nearer an earlier
   write of the path (the clocks of the watcher and the log reader both run late under load);
3. ``inferred`` from a shell command naming the path (a redirect into it beats a mention; the
   owner's own command, as strong, keeps it the owner's);
4. ``inferred`` from timing: the path's owner had ended when it was written and other agents
   ran: the one that ran (several: named as candidates, the writer unknown);
5. ``inferred`` from the plan alone: its owner (or the agent whose package holds it).

An inferred attribution is said to be one (``how``), and while a tool event may still come to
explain the write (the preset's ``tool_lag_s``), it is open (``settle_s``): the watcher waits
for it before reporting a violation, and re-judges the path when an event comes later.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from wavedeck.agents.kinds import AttributionBasis, ViolationKind
from wavedeck.agents.watch.rules import Attribution, Attributor
from wavedeck.agents.watch.writers import WRITES, Explanation, WriteLedger
from wavedeck.plan.models import Plan
from wavedeck.plan.ownership import Ownership, OwnershipIndex, apply_policy

# Whether an agent was running at a monotonic time (its run, a short grace after its end).
Running = Callable[[str, float], bool]


def _allowed(base: Ownership) -> tuple[str, ...]:
    """The agents that may write a path, as the plan says (its owners, or its package's)."""
    if base.kind == "owned":
        return base.owners or ((base.agent,) if base.agent else ())
    if base.kind == "undeclared" and base.package:
        return (base.package,)
    return ()


def _writer(
    exp: Explanation, allowed: Sequence[str], agents: Sequence[str], running: Running | None
) -> tuple[str | None, bool, tuple[str, ...], str]:
    """``(writer, exact, other candidates, why)`` for one explained burst."""
    if exp.tools:
        foreign = [a for a in exp.tools if a not in allowed]
        writer = foreign[0] if foreign else exp.tools[0]
        others = tuple(a for a in exp.tools if a != writer)
        return writer, True, others, f"its tool call names it ({writer})"
    loose = [a for a in exp.nearby if a not in allowed]
    if loose:
        # Another agent's tool call names the path, nearer an earlier write of it by the clocks
        # (read late): never silenced, but a guess for this write.
        others = tuple(loose[1:])
        return loose[0], False, others, f"its tool call names it ({loose[0]}), near this write"
    if exp.shells:
        top = exp.shells[0][1]
        best = [a for a, strength in exp.shells if strength == top]
        mine = [a for a in best if a in allowed]
        writer = mine[0] if mine else best[0]
        others = tuple(a for a in best if a != writer)
        how = "writes into it" if top >= WRITES else "names it"
        return writer, False, others, f"{writer}'s shell command {how}"
    if running is not None and allowed and exp.first is not None:
        at = exp.first
        if not any(running(a, at) for a in allowed):
            others = tuple(a for a in agents if a not in allowed and running(a, at))
            if len(others) == 1:
                return others[0], False, (), f"written while only {others[0]} ran"
            if others:
                return None, False, others, f"written while {' and '.join(others)} ran"
    return None, False, (), ""


def ledger_attributor(
    plan: Plan,
    wave: int,
    ledger: WriteLedger,
    *,
    accept: Sequence[str] = (),
    accept_undeclared: bool = False,
    running: Running | None = None,
) -> Attributor:
    """The watcher's attribution of a shared working tree (see the module docstring)."""
    index = OwnershipIndex(plan, wave)
    agents = index.agents
    accept_globs = tuple(accept)

    def attribute(path: str) -> Attribution:
        exp = ledger.explain(path)
        base = index.classify(path)
        allowed = _allowed(base)
        writer, exact, others, evidence = _writer(exp, allowed, agents, running)
        basis: AttributionBasis = "exact" if exact else "inferred"
        settle = 0.0 if exact else exp.pending_s
        if writer is None and others:  # timing: its owner had ended, several others ran
            why = f"{base.describe()}; its owner had ended: {evidence} (inferred)"
            kind: ViolationKind = "foreign" if base.kind == "owned" else base_kind(base)
            return Attribution(None, kind, others, why, "inferred", settle)
        own = index.classify(path, writer)
        agent = own.agent if own.agent is not None else writer
        accepted, reason = apply_policy(own, path, accept_globs, accept_undeclared)
        said = f" ({evidence}, {basis})" if evidence else ""
        if accepted:
            return Attribution(agent, None, (), reason + said, basis, settle)
        kind = base_kind(own)
        names = own.candidates or own.owners or others
        return Attribution(agent, kind, names, own.describe() + said, basis, settle)

    return attribute


def base_kind(own: Ownership) -> ViolationKind:
    """The violation kind of a path not accepted (``owned`` by another: ``unowned``)."""
    return "unowned" if own.kind == "owned" else own.kind
