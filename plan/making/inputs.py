"""The planner's input: issues read from a plan or from issue files, held against the repository.

Pure: the repository comes in as a ``RepoView`` (paths and a reader), as for ``plan check --repo``.
An issue's files are read the way the repo checks read them (``wavedeck.plan.fixplans``: the fix plan's
``Files to modify``, else the description's ``File``), resolved the way ``wavedeck.plan.checking.repochecks``
resolves them, so that the made plan passes that check. Each issue also gets a package group: the
nearest folder above its files holding a package manifest (``package.json``, ``pyproject.toml``…),
or, for an issue naming no file, its plan agent's package or the package its ``Area`` names
(re-planning a plan, such an issue keeps the files its plan agent declared).

From issue files (``--issues``), an issue's id comes from the file name (``issue-<id>.md``,
``issue-<id>-plan.md``), its severity from a ``**Severity**:`` field or a ``# [HIGH] title``
heading, and its dependencies from phrases such as "depends on issue-headless-05" that name
another issue being planned.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from wavedeck.plan.checking.api import RepoView
from wavedeck.plan.checking.suggest import PathIndex
from wavedeck.plan.fixplans import IssueFileIndex, fix_plan_files, parse_files_field
from wavedeck.plan.globs import compile_glob
from wavedeck.plan.making.model import IssueSpec, MakeError
from wavedeck.plan.models import Plan
from wavedeck.plan.paths import is_safe_repo_path
from wavedeck.plan.reading import fields as fl

MANIFESTS = frozenset(
    {
        "package.json",
        "pyproject.toml",
        "setup.py",
        "setup.cfg",
        "Cargo.toml",
        "go.mod",
        "pubspec.yaml",
        "pom.xml",
        "build.gradle",
        "composer.json",
        "Gemfile",
    }
)
_TITLE_SEV = re.compile(r"^#\s*\[\s*(critical|high|medium|low)\s*\]\s*(.*)$", re.IGNORECASE)
_HEADING = re.compile(r"^#{1,6}\s+(?:plan\s*:\s*)?(.*)$", re.IGNORECASE)
_DEP_PHRASE = re.compile(
    r"\b(?:depends?\s+on|dependent\s+on|dependency\s+on|blocked\s+by|requires)\b([^.\n]{0,120})",
    re.IGNORECASE,
)
_ID_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*-\d+")
# Path characters that would break the Markdown the plan is written in.
_MARKDOWN_UNSAFE = re.compile(r"[`|\s]")


@dataclass
class _Repo:
    view: RepoView
    index: PathIndex
    files: IssueFileIndex
    manifests: frozenset[str]
    filled: frozenset[str] = frozenset()  # folders that hold a file themselves


_last: list[_Repo] = []


def _repo(view: RepoView) -> _Repo:
    """The indexes over a repository's paths, built once per view (re-planning rounds and the
    two readings of issue files reuse them, and the name look-ups they have cached)."""
    if _last and _last[0].view is view:
        return _last[0]
    manifests = frozenset(
        p[: p.rfind("/") + 1] for p in view.paths if p[p.rfind("/") + 1 :] in MANIFESTS
    )
    filled = frozenset(p[: p.rfind("/") + 1] for p in view.paths if "/" in p)
    repo = _Repo(
        view,
        PathIndex(view.paths),
        IssueFileIndex(view.paths, view.issue_file_patterns),
        manifests,
        filled,
    )
    _last[:] = [repo]
    return repo


def package_of(path: str, manifests: frozenset[str], filled: frozenset[str] = frozenset()) -> str:
    """The folder of the nearest manifest above ``path`` (the root's does not count); in a
    repository without one, the first folder from the top that holds files of its own
    (``packages/`` holds only packages: ``packages/server/src/`` is the package), else the
    path's top folder."""
    parts = path.rstrip("/").split("/")[:-1]
    for n in range(len(parts), 0, -1):
        folder = "".join(p + "/" for p in parts[:n])
        if folder in manifests:
            return folder
    if filled:
        for n in range(1, len(parts) + 1):
            folder = "".join(p + "/" for p in parts[:n])
            if folder in filled:
                return folder
    return parts[0] + "/" if parts else ""


def _resolve(repo: _Repo, raw: str, package: str) -> str:
    """What ``wavedeck.plan.checking.repochecks`` makes of a fix-plan path for an agent of ``package``."""
    found = repo.index.resolve(raw, package)
    if found is not None:
        return found
    first = raw.split("/", 1)[0]
    if "/" in raw and repo.index.has_folder(first):
        return raw
    return package + raw


def _texts(repo: _Repo, issue_id: str, extra: Sequence[str] = ()) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for path in [*repo.files.find(issue_id), *extra]:
        if any(path == p for p, _ in out):
            continue
        text = repo.view.read_text(path)
        if text is not None:
            out.append((path, text))
    return out


_Paths = tuple[tuple[str, ...], str, tuple[str, ...]]


def _paths(
    repo: _Repo, issue_id: str, texts: list[tuple[str, str]], hint: str, notes: list[str]
) -> _Paths:
    """The resolved paths an issue needs, where they came from (fix plan, description), and the
    entries as written."""
    entries = fix_plan_files(texts)
    if not entries:
        return (), "none", ()
    from_plan = any(parse_files_field(text) for _, text in texts)
    if not hint:
        exact = [e.path for _, e in entries if e.path in repo.view.paths]
        # The package of a path written in full: where the other, shorter entries lie.
        hint = package_of(exact[0], repo.manifests, repo.filled) if exact else ""
    out: list[str] = []
    raw: list[str] = []
    for source, entry in entries:
        path = _usable(_resolve(repo, entry.path, hint))
        if path is None:
            notes.append(
                f"{issue_id}: {source}:{entry.line} names {entry.raw!r}, not a usable path: left out"
            )
            continue
        raw.append(entry.path)
        if path not in out:
            out.append(path)
    return tuple(out), "fix plan" if from_plan else "description", tuple(raw)


def _usable(path: str) -> str | None:
    """``path`` if a plan may declare it (safe, and plain in Markdown), else None."""
    if not is_safe_repo_path(path.rstrip("/")) or _MARKDOWN_UNSAFE.search(path):
        return None
    return path


def resettle(
    specs: Sequence[IssueSpec], packages: dict[str, str], view: RepoView
) -> list[IssueSpec] | None:
    """The specs with their entries also resolved for the package of the agent each was given
    (``packages``: issue id -> package), as ``plan check --repo`` will resolve them; None when
    that adds nothing. A bare ``client.py`` may mean another file under another package: the
    issue then needs both (paths are only ever added, so re-planning settles)."""
    repo = _repo(view)
    changed = False
    out = []
    for spec in specs:
        package = packages.get(spec.id)
        if package is None or not spec.entries:
            out.append(spec)
            continue
        paths = list(spec.paths)
        for raw in spec.entries:
            path = _usable(_resolve(repo, raw, package))
            if path is not None and path not in paths:
                paths.append(path)
        if len(paths) != len(spec.paths):
            changed = True
            # Read against this package now: it stays the home, so the next plan keeps it.
            spec = replace(spec, paths=tuple(paths), home=package)
        out.append(spec)
    return out if changed else None


def _existing(repo: _Repo, paths: Sequence[str]) -> list[str]:
    return [p for p in paths if repo.index.exists(p)]


def _group(paths: Sequence[str], repo: _Repo) -> str:
    counts: dict[str, int] = {}
    for p in paths:
        g = package_of(p, repo.manifests, repo.filled)
        counts[g] = counts.get(g, 0) + 1
    return min(counts, key=lambda g: (-counts[g], g)) if counts else ""


def specs_from_plan(plan: Plan, view: RepoView, notes: list[str]) -> list[IssueSpec]:
    """The scheduled issues of ``plan`` (resolved ones left out), with the files their detail
    files name, resolved for the package of the agent that had them."""
    repo = _repo(view)
    out = []
    for agent in plan.agents:
        for issue in agent.issues:
            texts = _texts(repo, issue.id)
            paths, how, entries = _paths(repo, issue.id, texts, agent.package, notes)
            if how == "none" and agent.paths:
                # No detail file names a file: the issue keeps the files its plan agent declared
                # (the plan's own word on what the fix touches), so a re-plan never leaves it
                # without an owner.
                paths, how = agent.paths, "plan agent"
            group = _group(paths, repo) or package_of(
                agent.package + "x", repo.manifests, repo.filled
            )
            summary = re.sub(r"\s*\(\s*depends\s+on[^)]*\)", "", issue.summary, flags=re.I)
            out.append(
                IssueSpec(
                    id=issue.id,
                    severity=issue.severity,
                    title=summary.strip(),
                    depends_on=issue.depends_on,
                    paths=paths,
                    group=group,
                    files_from=how,
                    source=f"{plan.source or 'plan'}:{issue.line}",
                    entries=entries,
                    home=agent.package,
                    unit=agent.id if how == "plan agent" else None,
                )
            )
    return out


def _severity_title(texts: list[tuple[str, str]]) -> tuple[str, str]:
    severity = title = ""
    for _, text in texts:
        for line in text.splitlines()[:40]:
            m = _TITLE_SEV.match(line.strip())
            if m and not severity:
                severity, title = m.group(1).upper(), m.group(2).strip()
            field = fl.labelled_field(line)
            if field is not None and field[0] == "severity" and field[1].strip():
                severity = fl.severity_of(field[1].split()[0])
            heading = _HEADING.match(line)
            if heading and not title:
                title = heading.group(1).strip()
    return severity, title


def _area_group(texts: list[tuple[str, str]], groups: set[str]) -> str:
    for _, text in texts:
        for line in text.splitlines()[:40]:
            field = fl.labelled_field(line)
            if field is not None and field[0] == "area":
                slug = re.sub(r"[^a-z0-9]+", "-", field[1].lower()).strip("-")
                hits = sorted(g for g in groups if g.rstrip("/").rsplit("/", 1)[-1] == slug)
                if hits:
                    return hits[0]
    return ""


def _name_shapes(patterns: Sequence[str]) -> list[tuple[str, str]]:
    """(head, tail) of the file names the patterns give (``issue-``, ``-plan.md``), longest tail
    first so that ``issue-x-plan.md`` is issue ``x``'s plan, not issue ``x-plan``."""
    shapes = set()
    for pattern in patterns:
        name = pattern.rsplit("/", 1)[-1]
        if "{id}" in name:
            head, _, tail = name.partition("{id}")
            shapes.add((head, tail))
    return sorted(shapes, key=lambda s: (-len(s[1]), -len(s[0]), s))


def _id_of(name: str, shapes: Sequence[tuple[str, str]]) -> str | None:
    for head, tail in shapes:
        if name.startswith(head) and name.endswith(tail) and len(name) > len(head) + len(tail):
            return name[len(head) : len(name) - len(tail)]
    return None


def specs_from_files(glob: str, view: RepoView, notes: list[str]) -> list[IssueSpec]:
    """Issues from the repository's issue files matching ``glob`` (repo-relative)."""
    repo = _repo(view)
    pattern = compile_glob(glob)
    shapes = _name_shapes(view.issue_file_patterns)
    matched: dict[str, list[str]] = {}
    skipped: list[str] = []
    for path in sorted(view.paths):
        if pattern.match(path):
            issue_id = _id_of(path.rsplit("/", 1)[-1], shapes)
            if issue_id is None:
                skipped.append(path)
            else:
                matched.setdefault(issue_id, []).append(path)
    if skipped:
        shown = ", ".join(skipped[:5]) + (
            f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        )
        notes.append(
            f"--issues {glob!r} also matches files not named like an issue file: {shown} (skipped)"
        )
    if not matched:
        raise MakeError(
            [f"--issues {glob!r} matches no issue file (issue-<id>.md) in the repository"]
        )
    raw = []
    for issue_id, files in matched.items():
        texts = _texts(repo, issue_id, files)
        # A first reading finds the package from the paths written in full; the entries are then
        # read again relative to it (``src/x.ts``, a bare ``x.ts``, a new file, a folder).
        paths, _, _ = _paths(repo, issue_id, texts, "", [])
        raw.append((issue_id, files, texts, paths))
    known = {fl.id_key(r[0]): r[0] for r in raw}
    groups = {_group(_existing(repo, r[3]), repo) for r in raw} - {""}
    out = []
    for issue_id, files, texts, first in raw:
        group = _group(_existing(repo, first), repo) or _area_group(texts, groups)
        paths, how, entries = _paths(repo, issue_id, texts, group, notes)
        severity, title = _severity_title(texts)
        deps: list[str] = []
        for _, text in texts:
            for phrase in _DEP_PHRASE.finditer(text):
                for token in _ID_TOKEN.findall(phrase.group(1)):
                    target = known.get(fl.id_key(token.removeprefix("issue-")))
                    if target and target != issue_id and target not in deps:
                        deps.append(target)
        out.append(
            IssueSpec(
                id=issue_id,
                severity=severity,
                title=title,
                depends_on=tuple(deps),
                paths=paths,
                group=group or _group(paths, repo),
                files_from=how,
                source=files[0],
                entries=entries,
                home=group,
            )
        )
    return out
