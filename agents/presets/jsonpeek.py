"""Single values read out of one compact JSON line without parsing the whole line.

An agent CLI's stream line can be large (a tool result holding a whole file, twice; a result
with per-model statistics) while a pane needs a few of its fields. These readers find a field by
its key as the CLI writes it (compact JSON: ``"key":value``) and decode only that value. Each
raises or returns None when the line is not of the expected shape, so the caller falls back to
the full parse: a fast path never decides what the full parse would read otherwise.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["array_after", "last_scalar", "string_start", "value_after"]

_DECODER = json.JSONDecoder()
_MISSING = object()  # ``last_scalar``'s default: a missing key raises
STRING_START_CHARS = 600


def string_start(line: str, start: int) -> tuple[str | None, bool]:
    """The start of the JSON string at ``start`` (just past its opening quote): its text up to
    the first newline, at most ~600 characters, and whether that is the whole string. (None,
    False) when it cannot be read so (the full parse decides then)."""
    chunk = line[start : start + STRING_START_CHARS]
    quote = chunk.find('"')
    while quote > 0 and chunk[quote - 1] == "\\":
        if (quote - len(chunk[:quote].rstrip("\\"))) % 2 == 0:
            break  # an escaped backslash before it: the quote ends the string
        quote = chunk.find('"', quote + 1)  # an escaped quote: inside the string
    newline = chunk.find("\\n")
    if quote >= 0 and (newline < 0 or quote < newline):
        chunk, whole = chunk[:quote], True
    elif newline >= 0:
        chunk, whole = chunk[:newline], False
    else:
        whole = False
    for trim in range(6):  # an escape cut in the middle (a \u00e9 at the cut) is left out
        try:
            text: str = json.loads(f'"{chunk[: len(chunk) - trim]}"')
        except ValueError:
            continue
        return text, whole and trim == 0
    return None, False


def last_scalar(line: str, key: str, default: Any = _MISSING) -> Any:
    """A top-level scalar (a name, a number, true/false/null) after ``key``: its last
    occurrence (nested objects hold camelCase names, the top level comes last). A missing key
    gives ``default``, or raises ``KeyError`` without one; ``ValueError`` when unreadable."""
    at = line.rfind(key)
    if at < 0:
        if default is _MISSING:
            raise KeyError(key)
        return default
    start = at + len(key)
    end = min((i for i in (line.find(",", start), line.find("}", start)) if i >= 0), default=-1)
    if end < 0:
        raise ValueError(key)
    return json.loads(line[start:end])


def value_after(line: str, key: str) -> Any:
    """The JSON value after the first ``key`` (which ends with the value's first character);
    None when the key is absent, ``ValueError`` when the value is unreadable."""
    at = line.find(key)
    if at < 0:
        return None
    return _DECODER.raw_decode(line, at + len(key) - 1)[0]


def array_after(line: str, key: str, within: int) -> list[Any] | None:
    """The array after ``key`` (which ends with its ``[``) when the key starts in the first
    ``within`` characters; None when the line is not that shape (the full parse decides then)."""
    at = line.find(key, 0, within)
    if at < 0:
        return None
    try:
        value, _end = _DECODER.raw_decode(line, at + len(key) - 1)
    except ValueError:
        return None
    return value if isinstance(value, list) else None
