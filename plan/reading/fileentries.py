"""Files as plans declare them: a files field's values with their notes, read into ``FileEntry``.

People write an agent's files as code spans or comma-separated words, with notes after a path:
``(SHARED)`` (other agents may edit it too) and line ranges (``lib.rs:1-700``, ``lines 1-700``,
``L10+``). This module reads such values (``file_entries``, ``file_entry``) and tells what reads
as a path (``path_like``) from what reads as text: a checklist item's text
(``checklist_text``) or a name with spaces and brackets (``reads_as_text``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wavedeck.plan.reading import fields as fl

_SHARED_NOTE = re.compile(r"\bshared\b", re.IGNORECASE)
_RANGE_NOTE = re.compile(
    r"(?:\blines?\s*|\bL|#L|:)(\d+)\s*(?:(?:-|–|—|to|\.\.)\s*L?(\d+|end|eof)?|\+|\s*onwards?)",
    re.IGNORECASE,
)
_RANGE_SUFFIX = re.compile(r"^(.*?)(?:#L|:)(\d+)\s*(?:(?:-|–|\.\.)\s*L?(\d*)|\+)\s*$")
_PATH_LIKE = re.compile(r"^[\w@.~+-]*(?:/[\w@.~+\-*]+)*\.?[\w*-]*/?$")


def path_like(text: str) -> bool:
    """Whether a code span names a file or folder (``lib/api.ts``, ``src/``), not a command."""
    t = text.strip()
    return bool(t) and ("/" in t or "." in t.lstrip(".")) and _PATH_LIKE.match(t) is not None


_CHECKBOX_TEXT = re.compile(r"^\s*[-*+]?\s*\[[ xX✓✔]?\]\s")
_BRACKETS = re.compile(r"[\[\](){}]")


def checklist_text(text: str) -> bool:
    """Whether a files-list entry is a checklist item's text (``[ ] Add a login form``): a work
    item, never a path."""
    return _CHECKBOX_TEXT.match(text) is not None


def reads_as_text(path: str) -> bool:
    """Whether a path has spaces together with brackets (``Add the form (new)``): a name that
    reads as text. It may still be a real file; ``plan check --repo`` tells."""
    return any(ch.isspace() for ch in path) and _BRACKETS.search(path) is not None


@dataclass(frozen=True)
class FileEntry:
    """One declared file: the path as written (without a range suffix), shared, its ranges."""

    raw: str
    shared: bool = False
    ranges: tuple[tuple[int, int | None], ...] = ()


def _ranges(note: str) -> tuple[tuple[int, int | None], ...]:
    out: list[tuple[int, int | None]] = []
    for m in _RANGE_NOTE.finditer(note):
        end = m.group(2)
        out.append((int(m.group(1)), int(end) if end and end.isdigit() else None))
    return tuple(out)


def file_entry(raw: str, note: str = "") -> FileEntry:
    """A file value and the note after it: ``lib.rs:1-700``, ``types.ts`` + ``(SHARED)``."""
    path = raw.strip()
    ranges: tuple[tuple[int, int | None], ...] = ()
    m = _RANGE_SUFFIX.match(path)
    if m is not None and m.group(1):
        end = m.group(3)
        path, ranges = m.group(1), ((int(m.group(2)), int(end) if end else None),)
    return FileEntry(path, _SHARED_NOTE.search(note) is not None, ranges + _ranges(note))


def file_entries(text: str) -> list[FileEntry]:
    """A files field's values with their notes: code spans (the note is the text up to the next
    span), or comma-separated words (a word's note is what follows it in its part)."""
    spans = list(fl.CODE_SPAN.finditer(text))
    if spans:
        values = fl.code_spans(text)
        out = []
        for i, (m, value) in enumerate(zip(spans, values, strict=True)):
            stop = spans[i + 1].start() if i + 1 < len(spans) else len(text)
            out.append(file_entry(value, text[m.end() : stop]))
        return out
    entries = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        head, _, note = part.partition(" ")
        if note and (_SHARED_NOTE.search(note) or _RANGE_NOTE.search(note) or path_like(head)):
            # ``src/a.py (new)``, ``lib.rs lines 1-700``: the path, then a note about it.
            entries.append(file_entry(head, note))
        else:
            entries.append(file_entry(part))
    return entries
