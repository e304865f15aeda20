"""Counted nouns in messages: ``1 agent``, ``2 agents``, never ``1 agents`` or ``agent(s)``.

Every layer's messages count things (files, paths, agents, issues, waves, errors); this is the
one place that knows how a noun takes its plural, so a message reads as English for every count.
Pure and tiny, in the lowest layer, so that ``plan``, ``agents`` and ``tui`` all use it.
"""

from __future__ import annotations

# Nouns whose plural is not the regular one (the regular one: +s, +es after s/sh/ch/x/z,
# consonant+y -> ies).
_IRREGULAR = {"is": "are", "was": "were", "has": "have", "this": "these", "it": "they"}


def plural_of(noun: str) -> str:
    """The plural of ``noun`` (the last word of a phrase is the one that changes)."""
    head, _, last = noun.rpartition(" ")
    prefix = f"{head} " if head else ""
    if last in _IRREGULAR:
        return prefix + _IRREGULAR[last]
    if last.endswith(("s", "sh", "ch", "x", "z")):
        return f"{prefix}{last}es"
    if len(last) > 1 and last.endswith("y") and last[-2] not in "aeiou":
        return f"{prefix}{last[:-1]}ies"
    return f"{prefix}{last}s"


def noun(count: int, singular: str, plural: str | None = None) -> str:
    """``singular`` or its plural, as ``count`` needs (without the number)."""
    return singular if count == 1 else (plural or plural_of(singular))


def plural(count: int, singular: str, plural: str | None = None) -> str:
    """``count`` and the noun it needs: ``plural(1, "agent")`` is ``1 agent``, ``plural(3,
    "launch")`` is ``3 launches``."""
    return f"{count} {noun(count, singular, plural)}"


def all_committed(waves: int) -> str:
    """What a complete plan is: ``all 3 waves committed``, ``its one wave committed``."""
    return "its one wave committed" if waves == 1 else f"all {waves} waves committed"
