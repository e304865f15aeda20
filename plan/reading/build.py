"""Drafts into frozen models: an agent's paths normalised, its issues with resolved
dependencies, its source, and the explicit shared ownership of a wave's files.

A path that both a wave's agents hold is shared on purpose when any of them declares it shared
(``(SHARED)``, a ``**Shared files:**`` label, several owners in an ownership table) or owns a
line range of it; then every holder gets it in ``Agent.shared``, and it is no ``overlap``.
"""

from __future__ import annotations

import re

from wavedeck.plan.models import Agent, Issue, LineRange, Source, agent_id
from wavedeck.plan.paths import PathRejected, normalize_file, normalize_package
from wavedeck.plan.reading import fields as fl
from wavedeck.plan.reading import fileentries as fe
from wavedeck.plan.reading.issuetable import IssueDraft
from wavedeck.plan.reading.reader import AgentB, Range, WaveB

_RULE_LINE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
Resolve = dict[tuple[str, int | None], str]


def common_folder(paths: list[str]) -> str:
    """The deepest folder (``a/b/``, or ``""`` for the root) holding every path."""
    if not paths:
        return ""
    first, *rest = (p.split("/")[:-1] for p in paths)
    n = len(first)
    for parts in rest:
        n = next((i for i in range(min(n, len(parts))) if parts[i] != first[i]), min(n, len(parts)))
    return "".join(part + "/" for part in first[:n])


def section_text(lines: list[str]) -> str:
    """A section's source text without the blank lines and thematic breaks (---) that end it."""
    end = len(lines)
    while end and (not lines[end - 1].strip() or _RULE_LINE.match(lines[end - 1])):
        end -= 1
    return "\n".join(lines[:end]).strip()


def _issue(b: IssueDraft, resolve: Resolve, labels: frozenset[str]) -> Issue:
    deps: tuple[str, ...] = ()
    if b.depends:  # most issues have none: skip the work (this runs once per issue)
        named = (d for d in b.depends if not labels or d.casefold() not in labels)
        deps = tuple(dict.fromkeys(resolve.get(fl.id_key(d), d) for d in named))
    return Issue(
        id=b.id,
        order=b.order,
        severity=b.severity,
        summary=b.summary,
        depends_on=deps,
        line=b.line,
        extra=b.extra,
        kind=b.kind,
    )


def _ranges(found: list[Range]) -> tuple[LineRange, ...]:
    return tuple(LineRange(start=s, end=e) for s, e in dict.fromkeys(found))


def build_agent(
    w: WaveB,
    a: AgentB,
    lines: list[str],
    resolve: Resolve,
    labels: frozenset[str] = frozenset(),
) -> Agent:
    """The model of one agent draft. ``labels`` are agent labels (casefolded): a dependency
    naming an agent rather than an issue is no issue dependency."""
    bad: list[tuple[str, str]] = []
    bad_package: tuple[str, str] | None = None
    files: list[str] = []
    paths: list[str] = []
    shared: list[str] = []
    ranges: dict[str, list[Range]] = {}
    package = ""
    try:
        package = normalize_package(a.package or "")
    except PathRejected as exc:
        bad_package = (exc.raw, exc.reason)
    prose: list[str] = list(a.prose)
    if bad_package is None:
        for raw in a.files:
            if fe.checklist_text(raw):
                prose.append(raw)
                continue
            try:
                path = normalize_file(package, raw)
            except PathRejected as exc:
                bad.append((exc.raw, exc.reason))
                continue
            paths.append(path)
            files.append(raw)
            if raw in a.shared:
                shared.append(path)
            if raw in a.ranges:
                ranges.setdefault(path, []).extend(a.ranges[raw])
    for path, (_line, is_shared, found) in a.table_paths.items():
        if path not in paths:
            paths.append(path)
            files.append(path)
        if is_shared:
            shared.append(path)
        if found:
            ranges.setdefault(path, []).extend(found)
    if a.package is None and not a.reference and bad_package is None:
        # No package stated: the folder holding all its files (files stay as written).
        package = common_folder(paths)
    issues = tuple(_issue(b, resolve, labels) for b in sorted(a.issues, key=lambda x: x.order))
    if a.how == "table-row":
        text = lines[a.line - 1].strip() if 0 < a.line <= len(lines) else ""
    else:
        text = section_text(_own_lines(lines, a))
    structured = a.reference and all(i.kind == "table-row" for i in issues)
    brief = "" if structured or a.how == "table-row" else text
    return Agent(
        id=agent_id(w.head.number, a.number),
        number=a.number,
        wave=w.head.number,
        title=a.title,
        package=package,
        files=tuple(files),
        paths=tuple(paths),
        issues=issues,
        line=a.line,
        package_line=a.package_line,
        files_line=a.files_line,
        bad_paths=tuple(bad),
        bad_package=bad_package,
        text=text,
        source=Source(line=a.line, how=a.how, text=a.head),
        shared=tuple(dict.fromkeys(p for p in shared + list(ranges))),
        ranges=tuple((p, _ranges(r)) for p, r in ranges.items()),
        label=a.label,
        brief=brief,
        prose_files=tuple(dict.fromkeys(prose)),
    )


def _own_lines(lines: list[str], a: AgentB) -> list[str]:
    """The lines of an agent's section, without those that are not its own (a report)."""
    if not a.skip:
        return lines[a.line : a.end]
    return [
        line
        for i, line in enumerate(lines[a.line : a.end], start=a.line)
        if not any(start <= i < end for start, end in a.skip)
    ]


def share_declared(agents: tuple[Agent, ...]) -> tuple[Agent, ...]:
    """Give every holder of a path that any holder declares shared that path in ``shared``."""
    declared = {p for a in agents for p in a.shared}
    if not declared:
        return agents
    holders: dict[str, int] = {}
    for a in agents:
        for p in dict.fromkeys(a.paths):
            holders[p] = holders.get(p, 0) + 1
    out = []
    for a in agents:
        extra = [p for p in a.paths if p in declared and holders[p] > 1 and p not in a.shared]
        out.append(a.model_copy(update={"shared": a.shared + tuple(extra)}) if extra else a)
    return tuple(out)
