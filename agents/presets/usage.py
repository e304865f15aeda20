"""Usage and cost as people read them, the same in the pane, the wave bar, ``wavedeck status``
and the checkpoint message: ``12.3k in / 678 out tokens, $0.27``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from wavedeck.agents.state import AgentRecord


@dataclass(frozen=True)
class UsageTotal:
    """Tokens and cost of one agent or a sum of agents (``cost_usd`` None: none reported)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    turns: int = 0

    @property
    def empty(self) -> bool:
        return not (self.input_tokens or self.output_tokens or self.cost_usd or self.turns)

    def __add__(self, other: UsageTotal) -> UsageTotal:
        costs = [c for c in (self.cost_usd, other.cost_usd) if c is not None]
        return UsageTotal(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            sum(costs) if costs else None,
            self.turns + other.turns,
        )


def of_record(rec: AgentRecord) -> UsageTotal:
    return UsageTotal(rec.input_tokens, rec.output_tokens, rec.cost_usd, rec.turns)


def total(items: Iterable[UsageTotal]) -> UsageTotal:
    out = UsageTotal()
    for item in items:
        out = out + item
    return out


def tokens(n: int) -> str:
    """``950``, ``12.3k``, ``4.1M``."""
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.1f}M"


def cost(value: float | None) -> str:
    return "" if value is None else f"${value:.2f}" if value >= 0.01 else f"${value:.4f}"


def describe(usage: UsageTotal) -> str:
    """``12.3k in / 678 out tokens, $0.27`` (empty when nothing was reported)."""
    if usage.empty:
        return ""
    text = f"{tokens(usage.input_tokens)} in / {tokens(usage.output_tokens)} out tokens"
    return f"{text}, {cost(usage.cost_usd)}" if usage.cost_usd is not None else text
