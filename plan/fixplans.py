"""Issue detail files: where they are, and the files an issue's fix plan says it needs. Pure.

A repository may keep, per issue, a description (``issues/issue-<id>.md``) and a fix plan
(``issues/issue-<id>-plan.md``) whose ``**Files to modify**:`` field lists the files the fix
needs, written the ways people write them::

    **Files to modify**: `a/b.py`, `c.py:12-40` (new file), potentially `public/fonts/`
    **Files to modify:**
    - `packages/x/y.ts`
    - packages/x/z.ts (if auth is added)

``parse_files_field`` reads those entries (``path:lines`` suffixes dropped, ``(new file)`` notes
and folders understood); ``issue_file_candidates`` expands the locating patterns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DEFAULT_PATTERNS: tuple[str, ...] = ("issues/issue-{id}.md", "issues/issue-{id}-plan.md")
FIX_PLAN_LABELS: tuple[str, ...] = ("files to modify", "files to change", "files to edit")
# An issue description's own field, used when no fix plan names any file.
DESCRIPTION_LABELS: tuple[str, ...] = ("files", "file")

# ``**Label**:`` or ``**Label:**`` at the start of a line; the rest of the line follows.
_LABEL_RE = re.compile(r"^\s*\*\*\s*([^*]+?)\s*(?::\s*\*\*|\*\*\s*:)\s?(.*)$")
_BULLET_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)$")
_SPAN_RE = re.compile(r"`([^`\n]+)`")
# ``path:12``, ``path:12-40``, ``path:L12-L40``, ``path#L12``, ``path (lines 3-9)``.
_LINES_RE = re.compile(
    r"(?::L?\d+(?:\s*[-–]\s*L?\d+)?(?:,\s*L?\d+(?:[-–]L?\d+)?)*|#L\d+(?:-L?\d+)?)$"
)
_NEW_RE = re.compile(r"\bnew\s+(?:file|directory|folder|module)\b", re.IGNORECASE)
_OPTIONAL_RE = re.compile(r"\b(?:potentially|optional(?:ly)?|maybe|possibly|if\b)", re.IGNORECASE)
# A bare (not code-span) token that looks like a path: has a slash or a file extension.
_BARE_RE = re.compile(
    r"(?<![\w./-])((?:\.{0,2}/)?[\w@.+-]+(?:/[\w@.+-]+)*/?(?::L?\d+(?:-L?\d+)?)?)"
)
_ID_NUM_RE = re.compile(r"^(.*?)(\d+)$")


@dataclass(frozen=True)
class FixPlanFile:
    """One entry of a ``Files to modify`` field.

    ``path`` is as written, without a ``:lines`` suffix, ``./`` or a leading ``/`` (may be
    relative to a package, may end with ``/`` for a folder); ``line`` is 1-based in its file.
    """

    path: str
    raw: str
    line: int
    new: bool = False
    folder: bool = False
    optional: bool = False
    note: str = ""


def issue_id_variants(issue_id: str) -> list[str]:
    """``headless-05`` and ``headless-5`` name the same issue: both spellings, written one first."""
    out = [issue_id]
    m = _ID_NUM_RE.match(issue_id)
    if m:
        prefix, num = m.group(1), m.group(2)
        for variant in (prefix + str(int(num)), prefix + f"{int(num):02d}"):
            if variant not in out:
                out.append(variant)
    return out


def issue_file_candidates(issue_id: str, patterns: Sequence[str] = DEFAULT_PATTERNS) -> list[str]:
    """The repo-relative paths where ``issue_id``'s detail files may be, in pattern order."""
    out: list[str] = []
    for pattern in patterns:
        for variant in issue_id_variants(issue_id):
            path = pattern.replace("{id}", variant)
            if path not in out:
                out.append(path)
    return out


class IssueFileIndex:
    """File name -> paths for the names the patterns can produce, built in one pass."""

    def __init__(self, paths: Iterable[str], patterns: Sequence[str] = DEFAULT_PATTERNS) -> None:
        self.patterns = tuple(patterns)
        self._paths = paths if isinstance(paths, (set, frozenset)) else frozenset(paths)
        self._names: dict[str, list[str]] | None = None

    @property
    def _by_name(self) -> dict[str, list[str]]:
        # Built only when some issue's files are not where the patterns say.
        if self._names is None:
            shapes = []
            for pattern in self.patterns:
                name = pattern.rsplit("/", 1)[-1]
                if "{id}" in name:
                    head, _, tail = name.partition("{id}")
                    shapes.append((head, tail))
            names: dict[str, list[str]] = {}
            for path in self._paths:
                name = path[path.rfind("/") + 1 :]
                for head, tail in shapes:
                    if name.startswith(head) and name.endswith(tail):
                        names.setdefault(name, []).append(path)
                        break
            self._names = names
        return self._names

    def find(self, issue_id: str) -> list[str]:
        hits = [p for p in issue_file_candidates(issue_id, self.patterns) if p in self._paths]
        if hits:
            return hits
        out: list[str] = []
        for candidate in issue_file_candidates(issue_id, self.patterns):
            name = candidate.rsplit("/", 1)[-1]
            # The shallowest folder first: the most likely home of the detail files.
            for path in sorted(self._by_name.get(name, ()), key=lambda p: (p.count("/"), p)):
                if path not in out:
                    out.append(path)
        return out


def _clean(token: str) -> tuple[str, bool]:
    """Strip a ``:lines`` suffix, ``./`` and a leading ``/``; say whether it names a folder."""
    token = token.strip().strip("\"'")
    token = _LINES_RE.sub("", token)
    while token.startswith("./"):
        token = token[2:]
    token = token.lstrip("/")
    return token, token.endswith("/")


def _looks_like_path(token: str) -> bool:
    if not token or " " in token or token in {".", ".."}:
        return False
    if "/" in token:
        return True
    name = token.rsplit("/", 1)[-1]
    return "." in name.strip(".") or name.startswith(".") or name.startswith("_")


def _until_separator(text: str) -> str:
    """``text`` up to its first ``,`` or ``;`` outside parentheses."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "()":
            # Reversed text reads ")" first; either way a pair nests.
            depth += 1 if ch == "(" else -1
        elif ch in ",;" and depth == 0:
            return text[:i]
    return text


def _entries(text: str, line: int) -> list[FixPlanFile]:
    """The paths of one line of the field: code spans, else bare path-like words."""
    spans = list(_SPAN_RE.finditer(text))
    tokens: list[tuple[str, int, int]] = [(m.group(1), m.start(), m.end()) for m in spans]
    if not spans:
        tokens = [(m.group(1), m.start(), m.end()) for m in _BARE_RE.finditer(text)]
    out: list[FixPlanFile] = []
    for n, (token, start, end) in enumerate(tokens):
        path, folder = _clean(token)
        if not _looks_like_path(path):
            continue
        # The note that belongs to this entry: what follows it up to the next separator, and
        # the words before it since the previous one ("potentially `x/`").
        nxt = tokens[n + 1][1] if n + 1 < len(tokens) else len(text)
        note = _until_separator(text[end:nxt]).strip(" ,;.")
        before = _until_separator(text[tokens[n - 1][2] if n else 0 : start][::-1])[::-1]
        out.append(
            FixPlanFile(
                path=path,
                raw=token,
                line=line,
                new=bool(_NEW_RE.search(note)),
                folder=folder,
                optional=bool(_OPTIONAL_RE.search(before) or _OPTIONAL_RE.search(note)),
                note=note,
            )
        )
    return out


def parse_files_field(text: str, labels: Sequence[str] = FIX_PLAN_LABELS) -> list[FixPlanFile]:
    """The entries of the first field labelled one of ``labels`` (case-insensitive) in ``text``.

    Entries are inline on the label's line, or a bullet list right under it (blank lines before
    the first bullet allowed); the list ends at the first other line.
    """
    wanted = {label.lower() for label in labels}
    lines = text.splitlines()
    for i, raw in enumerate(lines):
        m = _LABEL_RE.match(raw)
        if not m or m.group(1).strip().lower() not in wanted:
            continue
        out = _entries(m.group(2), i + 1)
        started = False
        for j in range(i + 1, len(lines)):
            line = lines[j]
            if not line.strip():
                if started:
                    break
                continue
            bullet = _BULLET_RE.match(line)
            if bullet is None:
                break
            started = True
            out.extend(_entries(bullet.group(1), j + 1))
        seen: set[str] = set()
        unique = []
        for entry in out:
            if entry.path not in seen:
                seen.add(entry.path)
                unique.append(entry)
        return unique
    return []


def fix_plan_files(texts: Sequence[tuple[str, str]]) -> list[tuple[str, FixPlanFile]]:
    """The files an issue needs, from its detail files ``(path, text)``.

    The fix plans' ``Files to modify`` fields first; when none lists anything, the descriptions'
    ``File``/``Files`` field. Returns ``(detail file, entry)`` pairs, each path once.
    """
    out: list[tuple[str, FixPlanFile]] = []
    for labels in (FIX_PLAN_LABELS, DESCRIPTION_LABELS):
        seen: set[str] = set()
        for source, text in texts:
            for entry in parse_files_field(text, labels):
                if entry.path not in seen:
                    seen.add(entry.path)
                    out.append((source, entry))
        if out:
            return out
    return out
