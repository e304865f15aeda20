"""Neutralise text from plans or agents before it reaches a terminal.

Control characters and escape sequences become visible, inert text (``ESC[2J`` -> ``\\x1b[2J``
shown literally as ``␛[2J``); bidi overrides are made visible too. JSON output keeps text exactly and
never goes through this.
"""

from __future__ import annotations

import re

# C0 controls except TAB, DEL, C1 controls, and bidi/invisible formatting characters that can
# make a line read differently from what it contains.
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _visible(match: re.Match[str]) -> str:
    ch = match.group(0)
    code = ord(ch)
    if code == 0x1B:
        return "␛"
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ␀ ␁ … ␟
    if code == 0x7F:
        return "␡"
    return f"<U+{code:04X}>"


def neutralize(text: str) -> str:
    """Return ``text`` with every control, escape and bidi character replaced by a visible stand-in."""
    return _UNSAFE.sub(_visible, text)
