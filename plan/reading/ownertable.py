"""Ownership tables (``| File | Agent | Wave |``, or a matrix with one column per agent) merged
into the agents' own file lists.

A row gives its file to the agents it names (by the plan's own labels: ``W1``, ``Workstream A``).
Several owners, or a note saying ``shared``, make it an explicit shared ownership; a line range
(``1-700``, ``700+``) in the file or owner cell is that owner's part. A row that names no agent,
an owner in another wave than the table says, or another agent of the same wave listing the file
itself, is a finding (``ownership-mismatch``), never silently resolved.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from wavedeck.plan.errors import Finding
from wavedeck.plan.models import agent_id
from wavedeck.plan.paths import PathRejected, normalize_file, normalize_package
from wavedeck.plan.reading import fields as fl
from wavedeck.plan.reading import fileentries as fe
from wavedeck.plan.reading.reader import AgentB, Range, WaveB
from wavedeck.plan.reading.saw import markdown as saw
from wavedeck.plan.reading.tables import Row, plain_text

if TYPE_CHECKING:
    from wavedeck.plan.reading.shapereader import ShapeReader

_OWNER_COLUMNS = (
    "agent",
    "agents",
    "owner",
    "owners",
    "owned by",
    "agent id",
    "workstream",
    "worker",
    "track",
    "lane",
    "assigned to",
)
_FILE_COLUMNS = ("file", "files", "path", "paths", "file path", "files owned")
_NOT_MARKED = {"", "-", "—", "–", "no", "n", "r", "read", "read-only", "·", "✗", "❌", "none"}
_EVERYONE = re.compile(r"\b(?:all|every(?:one|body)?|any)\b", re.IGNORECASE)


def label_pattern(agents: list[AgentB]) -> tuple[re.Pattern[str] | None, dict[str, AgentB]]:
    """A pattern finding any agent's label or alias as a word, and the agents by label."""
    by_name: dict[str, AgentB] = {}
    for a in agents:
        for name in (a.label, *a.aliases):
            key = " ".join(name.split()).casefold()
            if key and key not in by_name:
                by_name[key] = a
    if not by_name:
        return None, by_name
    names = sorted(by_name, key=len, reverse=True)
    body = "|".join(r"\s+".join(re.escape(w) for w in n.split()) for n in names)
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.IGNORECASE), by_name


def key_of(m: re.Match[str]) -> str:
    """The ``label_pattern`` key of a match."""
    return " ".join(m.group(0).split()).casefold()


def declared_paths(a: AgentB) -> set[str]:
    """The normalised paths an agent's own file lists declare (refused paths left out)."""
    out: set[str] = set()
    try:
        package = normalize_package(a.package or "")
    except PathRejected:
        return out
    for raw in a.files:
        try:
            out.add(normalize_file(package, raw))
        except PathRejected:
            continue
    return out


def _marked(text: str) -> bool:
    return text.strip().strip("*_`").strip().lower() not in _NOT_MARKED


def _mismatch(
    line: int, message: str, agents: tuple[str, ...] | None = None, path: str | None = None
) -> Finding:
    return Finding("ownership-mismatch", "error", line, message, agents=agents, path=path)


def _id(a: AgentB, waves: dict[int, WaveB]) -> str:
    return agent_id(waves[id(a)].head.number, a.number)


def merge_ownership(r: ShapeReader) -> list[Finding]:
    """Merge every ownership table ``r`` met into its agents' ``table_paths``; the findings."""
    if not r.ownership:
        return []
    agents = [a for w in r.waves for a in w.agents]
    waves = {id(a): w for w in r.waves for a in w.agents}
    pattern, by_name = label_pattern(agents)
    bare = bare_ids(agents)
    declared: dict[str, list[AgentB]] = {}  # path -> agents whose own lists declare it
    for a in agents:
        for path in declared_paths(a):
            declared.setdefault(path, []).append(a)
    findings: list[Finding] = []
    for table in r.ownership:
        c_file = table.column(*_FILE_COLUMNS)
        if c_file is None:
            continue
        c_owner = table.column(*_OWNER_COLUMNS)
        matrix = [
            (i, by_name[" ".join(h.split()).casefold()])
            for i, h in enumerate(table.header)
            if i != c_file and " ".join(h.split()).casefold() in by_name
        ]
        if c_owner is None and not matrix:
            continue
        c_wave = table.column("wave", "phase")
        c_deps = table.column("depends on", "depends", "dependencies", "depends_on")
        for row in table.rows:
            owners = _owners(row, c_owner, matrix, pattern, by_name, agents)
            if not owners and c_owner is not None:
                owners = bare_owners(plain_text(row.cells[c_owner]), bare)
            if c_deps is not None:
                deps = bare_owners(plain_text(row.cells[c_deps]), bare)
                for a, _cell in owners:
                    a.after.extend(saw.bare_id(d.label) or d.label for d, _ in deps if d is not a)
            entries = fe.file_entries(row.cells[c_file].content)
            if not entries:
                continue
            if not owners:
                findings.append(
                    _mismatch(
                        row.line,
                        f"the ownership table gives {entries[0].raw} to no agent of the plan "
                        f"({plain_text(row.cells[c_owner]) if c_owner is not None else 'no mark'})",
                    )
                )
                continue
            note = " ".join(c.content for i, c in enumerate(row.cells) if i != c_file)
            shared = len(owners) > 1 or "shared" in note.lower()
            for entry in entries:
                try:
                    path = normalize_file("", entry.raw)
                except PathRejected as exc:
                    findings.append(_mismatch(row.line, f"{entry.raw!r} {exc.reason}"))
                    continue
                for a, cell in owners:
                    ranges: list[Range] = list(entry.ranges or fe.file_entry("", cell).ranges)
                    a.table_paths[path] = (row.line, shared or entry.shared, ranges)
                    stated = fl.parse_int(plain_text(row.cells[c_wave])) if c_wave else None
                    wave = waves[id(a)]
                    if stated is not None and stated != wave.as_written:
                        findings.append(
                            _mismatch(
                                row.line,
                                f"{path}: the ownership table puts {a.label} in wave {stated}, "
                                f"but the plan runs it in wave {wave.as_written}",
                                (_id(a, waves),),
                                path,
                            )
                        )
                findings += _disagreements(path, row.line, owners, waves, declared)
    return findings


def bare_ids(agents: list[AgentB]) -> dict[str, AgentB]:
    """Agents by their bare Scout-and-Wave id (``A`` for ``Agent A``), the first of each."""
    out: dict[str, AgentB] = {}
    for a in agents:
        found = saw.bare_id(a.label)
        if found is not None:
            out.setdefault(found, a)
    return out


_BARE = re.compile(r"(?<![\w-])[A-Z][2-9]?(?![\w-])")


def bare_owners(cell: str, bare: dict[str, AgentB]) -> list[tuple[AgentB, str]]:
    """The agents a cell names by bare ids (``A``, ``A, B``, ``C2``), as SAW's tables do."""
    out: dict[int, tuple[AgentB, str]] = {}
    for m in _BARE.finditer(cell):
        a = bare.get(m.group(0))
        if a is not None:
            out.setdefault(id(a), (a, cell))
    return list(out.values())


def _owners(
    row: Row,
    c_owner: int | None,
    matrix: list[tuple[int, AgentB]],
    pattern: re.Pattern[str] | None,
    by_name: dict[str, AgentB],
    agents: list[AgentB],
) -> list[tuple[AgentB, str]]:
    """The agents a row names, each with the cell text that names it."""
    out: dict[int, tuple[AgentB, str]] = {}
    if c_owner is not None:
        cell = plain_text(row.cells[c_owner])
        if _EVERYONE.search(cell):
            return [(a, cell) for a in agents]
        if pattern is not None:
            for m in pattern.finditer(cell):
                a = by_name[key_of(m)]
                out.setdefault(id(a), (a, cell))
    for i, a in matrix:
        text = plain_text(row.cells[i])
        if _marked(text):
            out.setdefault(id(a), (a, text))
    return list(out.values())


def _disagreements(
    path: str,
    line: int,
    owners: list[tuple[AgentB, str]],
    waves: dict[int, WaveB],
    declared: dict[str, list[AgentB]],
) -> list[Finding]:
    """Agents of an owner's wave that list ``path`` themselves but are not among its owners."""
    ids = {id(a) for a, _ in owners}
    owner_waves = {id(waves[i]) for i in ids}
    names = ", ".join(a.label or a.title for a, _ in owners)
    out = []
    for b in declared.get(path, ()):
        if id(b) not in ids and id(waves[id(b)]) in owner_waves:
            message = (
                f"{path}: the ownership table gives it to {names}, but {b.label or b.title} "
                f"lists it too (line {b.files_line or b.line})"
            )
            who = (*(_id(a, waves) for a, _ in owners), _id(b, waves))
            out.append(_mismatch(line, message, who, path))
    return out
