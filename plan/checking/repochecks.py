"""Checks that need the repository (``plan check --repo``): the plan held against real paths.

- ``not-a-path`` (error): a declared path that does not exist and reads as text (spaces with
  brackets): text in a files list, never a file to create.
- ``missing-file`` (warning): a declared path that does not exist, with the nearest existing file
  of the same name as a suggestion (``wavedeck.plan.checking.suggest``).
- ``predicted-overlap`` (error), ``predicted-other-wave`` (warning), ``predicted-undeclared``
  (warning): each scheduled issue's detail files (found by ``RepoView.issue_file_patterns``) are
  read; the paths their ``Files to modify`` field needs (``wavedeck.plan.fixplans``), resolved against the
  repository, are classified for the issue's agent by the one ownership model
  (``wavedeck.plan.ownership``). A path another agent of the wave owns is an overlap waiting to happen.
- ``prediction-skipped`` (warning): no scheduled issue has a detail file with a ``Files to modify``
  field, so nothing could be predicted; said, so that silence is never read as "no overlap".

The repository comes in as a ``RepoView`` (paths and a reader), so this module does no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from wavedeck.plan.checking.api import Check, CheckContext, RepoView
from wavedeck.plan.checking.suggest import PathIndex
from wavedeck.plan.errors import Finding
from wavedeck.plan.fixplans import FixPlanFile, IssueFileIndex, fix_plan_files
from wavedeck.plan.models import Agent, Issue, Plan
from wavedeck.plan.ownership import Ownership, OwnershipIndex
from wavedeck.plan.reading.fileentries import reads_as_text
from wavedeck.plan.words import plural

_Needs = list[tuple[Agent, Issue, list[tuple[str, FixPlanFile]]]]
_cache: tuple[Plan, RepoView, PathIndex, _Needs] | None = None


def _name(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _analyse(plan: Plan, repo: RepoView) -> tuple[PathIndex, _Needs]:
    """The repo's ``PathIndex`` and every issue's fix-plan entries, once per (plan, repo).

    Every file name either check will look up (declared paths that are missing, fix-plan
    entries) is indexed in one pass over the repository's paths.
    """
    global _cache
    if _cache is not None and _cache[0] is plan and _cache[1] is repo:
        return _cache[2], _cache[3]
    index = PathIndex(repo.paths)
    issue_files = IssueFileIndex(repo.paths, repo.issue_file_patterns)
    needs: _Needs = []
    for agent in plan.agents:
        for issue in agent.issues:
            texts = []
            for path in issue_files.find(issue.id):
                text = repo.read_text(path)
                if text is not None:
                    texts.append((path, text))
            needs.append((agent, issue, fix_plan_files(texts)))
    # Only paths not found as written need a look-up by name (suffix match, suggestions).
    names = {
        _name(e.path)
        for agent, _, entries in needs
        for _, e in entries
        if e.path not in repo.paths and agent.package + e.path not in repo.paths
    }
    names.update(_name(p) for a in plan.agents for p in a.paths if p not in repo.paths)
    index.prepare(names)
    _cache = (plan, repo, index, needs)
    return index, needs


@dataclass(frozen=True)
class Prediction:
    """A path an issue's fix plan needs, and how the plan's ownership treats it."""

    issue: Issue
    agent: Agent
    wave: int
    path: str  # resolved, repo-relative
    entry: FixPlanFile
    source: str  # the detail file that named it
    exists: bool
    ownership: Ownership


def _resolve(index: PathIndex, entry: FixPlanFile, package: str) -> tuple[str, bool]:
    found = index.resolve(entry.path, package)
    if found is not None:
        return found, True
    # A file that does not exist yet (or no longer): repo-relative when its first folder is a
    # top-level folder of the repo, else relative to the agent's package.
    first = entry.path.split("/", 1)[0]
    if "/" in entry.path and index.has_folder(first):
        return entry.path, False
    return package + entry.path, False


def predict(plan: Plan, repo: RepoView) -> Iterator[Prediction]:
    """Every path every scheduled issue's fix plan needs, classified for the issue's agent."""
    index, needs = _analyse(plan, repo)
    owners = OwnershipIndex.for_plan(plan)  # one shared path map: linear in the plan
    for agent, issue, entries in needs:
        ownership = owners[agent.wave]
        seen: set[str] = set()
        for source, entry in entries:
            path, exists = _resolve(index, entry, agent.package)
            if path in seen:
                continue
            seen.add(path)
            yield Prediction(
                issue=issue,
                agent=agent,
                wave=agent.wave,
                path=path,
                entry=entry,
                source=source,
                exists=exists,
                ownership=ownership.classify(path, writer=agent.id),
            )


def _files_entry(agent: Agent, path: str) -> str:
    if agent.package and path.startswith(agent.package):
        return f"add `{path[len(agent.package) :]}` to its Files"
    return f"add `{path}` to its Files (outside its package {agent.package or '/'})"


def _meant(agent: Agent, path: str, index: PathIndex) -> str:
    """A hint when one of the agent's declared-but-missing files probably means ``path``."""
    for declared, written in zip(agent.paths, agent.files, strict=False):
        if declared not in index.paths and index.nearest(declared) == path:
            return f"; the plan's `{written}` does not exist and probably means this file"
    return ""


def check_predicted(ctx: CheckContext) -> Iterable[Finding]:
    """``predicted-overlap``, ``predicted-other-wave``, ``predicted-undeclared``."""
    if ctx.repo is None:
        return
    index, needs = _analyse(ctx.plan, ctx.repo)
    if needs and not any(entries for _, _, entries in needs):
        patterns = " or ".join(p.format(id="<id>") for p in ctx.repo.issue_file_patterns)
        yield Finding(
            "prediction-skipped",
            "warning",
            1,
            f"predicted-overlap check skipped: no issue of the plan ({plural(len(needs), 'issue')}) "
            f"has a fix plan ({patterns} with a **Files to modify**: field), so the files each issue "
            "needs are unknown; only the declared files were checked",
        )
    for p in predict(ctx.plan, ctx.repo):
        own, who = p.ownership, p.agent.id
        where = f"{p.issue.id} ({who}) needs {p.path} (per {p.source}:{p.entry.line})"
        if not p.exists:
            if p.entry.folder:
                where += " (new folder)"
            else:
                where += " (new file)" if p.entry.new else " (not in the repo)"
        if own.kind == "owned":
            continue
        if own.kind == "foreign":
            owner = own.owners[0]
            yield Finding(
                "predicted-overlap",
                "error",
                p.issue.line,
                f"{where}, which {owner} owns in wave {p.wave}: the two agents would both edit it",
                wave=p.wave,
                agents=(who, owner),
                path=p.path,
                issue=p.issue.id,
            )
        elif own.kind == "other-wave":
            yield Finding(
                "predicted-other-wave",
                "warning",
                p.issue.line,
                f"{where}, which only {', '.join(own.owners)} declare (other waves); "
                f"wave {p.wave} gives it to no agent: {_files_entry(p.agent, p.path)}",
                wave=p.wave,
                agents=(who, *own.owners),
                path=p.path,
                issue=p.issue.id,
            )
        else:
            if own.kind == "undeclared" and own.agent != who:
                why = f"which {who} does not declare and which lies with {own.agent}'s package"
                agents: tuple[str, ...] = (who, own.agent or "")
            elif own.kind == "unowned" and own.owners:
                why = f"which several agents declare ({', '.join(own.owners)})"
                agents = (who, *own.owners)
            else:
                why = f"which {who} does not declare"
                agents = (who,)
            yield Finding(
                "predicted-undeclared",
                "warning",
                p.issue.line,
                f"{where}, {why}: {_files_entry(p.agent, p.path)}{_meant(p.agent, p.path, index)}",
                wave=p.wave,
                agents=agents,
                path=p.path,
                issue=p.issue.id,
            )


def check_missing_files(ctx: CheckContext) -> Iterable[Finding]:
    """``missing-file``: declared paths that do not exist, with the nearest file of that name."""
    if ctx.repo is None:
        return
    index, _ = _analyse(ctx.plan, ctx.repo)
    missing = [
        (a, p)
        for a in ctx.plan.agents
        for p in a.paths
        if p not in a.creates and not index.exists(p)
    ]
    for agent, path in missing:
        if reads_as_text(path):
            yield Finding(
                "not-a-path",
                "error",
                agent.files_line or agent.line,
                f"{path} ({agent.id}) does not exist in the repository and reads as text, not "
                "a path (spaces and brackets): a work item in a files list?",
                wave=agent.wave,
                agents=(agent.id,),
                path=path,
            )
            continue
        near = index.nearest(path)
        hint = f"; did you mean {near}?" if near else "; no file of that name exists"
        yield Finding(
            "missing-file",
            "warning",
            agent.files_line or agent.line,
            f"{path} ({agent.id}) does not exist in the repository{hint}",
            wave=agent.wave,
            agents=(agent.id,),
            path=path,
        )


REPO_CHECKS: list[Check] = [check_missing_files, check_predicted]
