"""Plan checks: one small function per finding code, registered in ``CHECKS``.

Every check has the signature ``wavedeck.plan.checking.api.Check`` (a ``CheckContext`` in, findings out) and
looks at the model only. ``bad-row`` comes from the parser (it needs the raw source lines);
repo-aware checks (``missing-file``, ``predicted-*``) live in ``wavedeck.plan.checking.repochecks.REPO_CHECKS``.
``run_checks`` runs them all and returns every finding of the run, sorted by line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence

from wavedeck.plan.checking.api import Check, CheckContext, RepoView
from wavedeck.plan.checking.counts import check_counts
from wavedeck.plan.checking.shapechecks import no_work, not_a_path, range_overlaps, unset_severity
from wavedeck.plan.errors import Finding
from wavedeck.plan.models import SEVERITIES, SEVERITY_RANK, UNSET, Agent, Issue, Plan
from wavedeck.plan.reading import fields as fl
from wavedeck.plan.reading.perf import gc_paused

Key = tuple[str, int | None]
Placed = tuple[int, Agent, int, Issue]  # wave number, agent, position in the agent, issue


def _err(
    code: str,
    line: int,
    message: str,
    *,
    wave: int | None = None,
    agents: tuple[str, ...] | None = None,
    path: str | None = None,
    issue: str | None = None,
) -> Finding:
    return Finding(code, "error", line, message, wave, agents, path, issue)


def _warn(
    code: str,
    line: int,
    message: str,
    *,
    wave: int | None = None,
    agents: tuple[str, ...] | None = None,
    issue: str | None = None,
) -> Finding:
    return Finding(code, "warning", line, message, wave, agents, None, issue)


def _placed(plan: Plan) -> Iterator[tuple[int, Agent, int, Issue]]:
    """Every scheduled issue with its wave number, agent and position in the agent."""
    for wave in plan.waves:
        for agent in wave.agents:
            for pos, issue in enumerate(agent.issues):
                yield wave.number, agent, pos, issue


def _lines(lines: Sequence[int]) -> str:
    return ", ".join(str(n) for n in lines)


def check_overlap(ctx: CheckContext) -> Iterable[Finding]:
    """A path assigned to two agents of the same wave."""
    for wave in ctx.plan.waves:
        owners: dict[str, list[Agent]] = defaultdict(list)
        for agent in wave.agents:
            for path in dict.fromkeys(agent.paths):
                owners[path].append(agent)
        for path, agents in owners.items():
            if len(agents) < 2:
                continue
            if all(path in a.shared for a in agents):
                yield from range_overlaps(wave.number, path, agents)
                continue
            names = [f"{a.id} ({a.title})" for a in agents]
            both = "both " if len(names) == 2 else ""
            who = ", ".join(names[:-1]) + " and " + names[-1]
            last = agents[-1]
            yield _err(
                "overlap",
                last.files_line or last.line,
                f"{path} is assigned to {both}{who} in wave {wave.number}",
                wave=wave.number,
                agents=tuple(a.id for a in agents),
                path=path,
            )


def check_path_escape(ctx: CheckContext) -> Iterable[Finding]:
    """A declared package or file that is not a plain path inside the repository."""
    for agent in ctx.plan.agents:
        packages = [agent.bad_package] if agent.bad_package is not None else []
        bad = [(raw, reason, True) for raw, reason in packages]
        bad += [(raw, reason, False) for raw, reason in agent.bad_paths]
        for raw, reason, is_package in bad:
            line = (agent.package_line if is_package else agent.files_line) or agent.line
            yield _err(
                "path-escape",
                line,
                f"{agent.id}: {'package ' if is_package else ''}{raw!r} {reason}",
                wave=agent.wave,
                agents=(agent.id,),
                path=raw,
            )


def check_duplicate_issue(ctx: CheckContext) -> Iterable[Finding]:
    """An issue id scheduled twice (in any waves), a wave number or an agent id used twice."""
    seen: dict[Key, list[tuple[Issue, Agent]]] = defaultdict(list)
    for _wave, agent, _pos, issue in _placed(ctx.plan):
        seen[fl.id_key(issue.id)].append((issue, agent))
    for places in seen.values():
        if len(places) < 2:
            continue
        lines = tuple(i.line for i, _ in places)
        agents = tuple(dict.fromkeys(a.id for _, a in places))
        first = places[0][0]
        yield Finding(
            code="duplicate-issue",
            level="error",
            line=places[1][0].line,
            message=f"{first.id} is scheduled {len(places)} times: lines {_lines(lines)} "
            f"({', '.join(a.id for _, a in places)})",
            agents=agents,
            issue=first.id,
            lines=lines,
        )
    by_number: dict[int, list[int]] = defaultdict(list)
    for wave in ctx.plan.waves:
        by_number[wave.number].append(wave.line)
    for number, w_lines in by_number.items():
        if len(w_lines) > 1:
            yield Finding(
                code="duplicate-issue",
                level="error",
                line=w_lines[1],
                message=f"wave {number} appears {len(w_lines)} times: lines {_lines(w_lines)}",
                wave=number,
                lines=tuple(w_lines),
            )
    by_id: dict[str, list[Agent]] = defaultdict(list)
    for agent in ctx.plan.agents:
        by_id[agent.id].append(agent)
    for aid, same in by_id.items():
        if len(same) > 1:
            a_lines = tuple(a.line for a in same)
            yield Finding(
                code="duplicate-issue",
                level="error",
                line=a_lines[1],
                message=f"agent id {aid} is used {len(same)} times: lines {_lines(a_lines)} "
                f"(each wave's agents need distinct numbers)",
                wave=same[0].wave,
                agents=(aid,),
                lines=a_lines,
            )


def check_bad_severity(ctx: CheckContext) -> Iterable[Finding]:
    """A severity that is not one of CRITICAL, HIGH, MEDIUM, LOW (any case); and work items
    without one in a plan that states severities elsewhere (``unset-severity`` warnings)."""
    yield from unset_severity(ctx.plan)
    allowed = ", ".join(SEVERITIES)
    for wave, agent, _pos, issue in _placed(ctx.plan):
        if issue.severity == UNSET:
            continue  # no severity stated (a work item, or a made plan's row): unset-severity
        if issue.severity not in SEVERITY_RANK:
            yield _err(
                "bad-severity",
                issue.line,
                f"{issue.id} has severity {issue.severity!r}; allowed: {allowed}",
                wave=wave,
                agents=(agent.id,),
                issue=issue.id,
            )


def check_no_files(ctx: CheckContext) -> Iterable[Finding]:
    """An agent that declares no files (a rejected path already has its own finding)."""
    for agent in ctx.plan.agents:
        if agent.prose_files or agent.bad_package is not None:
            continue  # reported by not-a-path or path-escape
        if not agent.files and not agent.bad_paths:
            saw = agent.source is not None and agent.source.how == "saw-manifest"
            hint = "list them under its files:" if saw else "add a **Files**: line"
            yield _err(
                "no-files",
                agent.line,
                f"{agent.id} ({agent.title}) declares no files ({hint})",
                wave=agent.wave,
                agents=(agent.id,),
            )


def check_no_work(ctx: CheckContext) -> Iterable[Finding]:
    """An agent with no work items (``wavedeck.plan.checking.shapechecks.no_work``)."""
    return no_work(ctx.plan)


def check_not_a_path(ctx: CheckContext) -> Iterable[Finding]:
    """A files-list entry that reads as text (``wavedeck.plan.checking.shapechecks.not_a_path``)."""
    return not_a_path(ctx.plan)


def check_count_mismatch(ctx: CheckContext) -> Iterable[Finding]:
    """A number the plan states that disagrees with its content (see ``wavedeck.plan.checking.counts``)."""
    return check_counts(ctx.plan)


_known_cache: list[tuple[Plan, tuple[dict[Key, Placed], set[Key]]]] = []


def _known(plan: Plan) -> tuple[dict[Key, Placed], set[Key]]:
    """Scheduled issues by identity (first occurrence) and resolved identities, built once per
    plan: several checks need them (the cache holds the plan, so its id cannot be reused)."""
    if _known_cache and _known_cache[0][0] is plan:
        return _known_cache[0][1]
    scheduled: dict[Key, Placed] = {}
    for place in _placed(plan):
        scheduled.setdefault(fl.id_key(place[3].id), place)
    resolved = {fl.id_key(r.id) for r in plan.resolved}
    _known_cache[:] = [(plan, (scheduled, resolved))]
    return scheduled, resolved


def check_unknown_dependency(ctx: CheckContext) -> Iterable[Finding]:
    """A dependency on an issue that is neither scheduled nor listed as resolved."""
    scheduled, resolved = _known(ctx.plan)
    for wave, agent, _pos, issue in _placed(ctx.plan):
        for dep in issue.depends_on:
            key = fl.id_key(dep)
            if key not in scheduled and key not in resolved:
                yield _err(
                    "unknown-dependency",
                    issue.line,
                    f"{issue.id} depends on {dep}, which is not in the plan",
                    wave=wave,
                    agents=(agent.id,),
                    issue=issue.id,
                )


def check_dependency_order(ctx: CheckContext) -> Iterable[Finding]:
    """A dependency scheduled later, or in a parallel agent of the same wave."""
    scheduled, _resolved = _known(ctx.plan)
    for wave, agent, pos, issue in _placed(ctx.plan):
        for dep in issue.depends_on:
            place = scheduled.get(fl.id_key(dep))
            if place is None:
                continue
            d_wave, d_agent, d_pos, d_issue = place
            why = None
            if d_issue is issue:
                why = "itself"
            elif d_wave > wave:
                why = f"{d_issue.id}, which is scheduled later (wave {d_wave})"
            elif d_wave == wave and d_agent.id != agent.id:
                why = f"{d_issue.id}, which runs in parallel in {d_agent.id} of the same wave"
            elif d_wave == wave and d_pos > pos:
                why = f"{d_issue.id}, which comes later in the same agent"
            if why is not None:
                yield _err(
                    "dependency-order",
                    issue.line,
                    f"{issue.id} depends on {why}",
                    wave=wave,
                    agents=tuple(dict.fromkeys((agent.id, d_agent.id))),
                    issue=issue.id,
                )


def check_resolved_scheduled(ctx: CheckContext) -> Iterable[Finding]:
    """An issue listed as resolved that is also scheduled."""
    scheduled, _ = _known(ctx.plan)
    for r in ctx.plan.resolved:
        place = scheduled.get(fl.id_key(r.id))
        if place is not None:
            wave, agent, _pos, issue = place
            yield _err(
                "resolved-scheduled",
                issue.line,
                f"{issue.id} is listed as resolved (line {r.line}) but scheduled in {agent.id}",
                wave=wave,
                agents=(agent.id,),
                issue=issue.id,
            )


def check_severity_scope(ctx: CheckContext) -> Iterable[Finding]:
    """An issue whose severity is outside the scope its wave's title states."""
    for wave in ctx.plan.waves:
        if not wave.scope:
            continue
        scope = " + ".join(wave.scope)
        for agent in wave.agents:
            for issue in agent.issues:
                if issue.severity in SEVERITY_RANK and issue.severity not in wave.scope:
                    yield _warn(
                        "severity-scope",
                        issue.line,
                        f"{issue.id} is {issue.severity} but wave {wave.number} is scoped {scope}",
                        wave=wave.number,
                        agents=(agent.id,),
                        issue=issue.id,
                    )


def _reaches(start: Issue, target: Key, by_key: dict[Key, Issue]) -> bool:
    """Whether ``start`` depends on ``target``, directly or through other issues."""
    todo = [fl.id_key(d) for d in start.depends_on]
    seen: set[Key] = set()
    while todo:
        key = todo.pop()
        if key == target:
            return True
        if key in seen or key not in by_key:
            continue
        seen.add(key)
        todo.extend(fl.id_key(d) for d in by_key[key].depends_on)
    return False


def check_severity_order(ctx: CheckContext) -> Iterable[Finding]:
    """Inside an agent, a more severe issue after a less severe one, with no dependency that
    explains the order."""
    by_key = {fl.id_key(i.id): i for i in ctx.plan.issues}
    for agent in ctx.plan.agents:
        least_severe = -1  # the highest rank seen so far in this agent
        for pos, issue in enumerate(agent.issues):
            rank = SEVERITY_RANK.get(issue.severity)
            if rank is None:
                continue
            if rank >= least_severe:
                least_severe = rank
                continue
            for earlier in agent.issues[:pos]:
                e_rank = SEVERITY_RANK.get(earlier.severity)
                if e_rank is None or e_rank <= rank:
                    continue
                if _reaches(issue, fl.id_key(earlier.id), by_key):
                    continue
                yield _warn(
                    "severity-order",
                    issue.line,
                    f"{issue.id} ({issue.severity}) comes after {earlier.id} "
                    f"({earlier.severity}) in {agent.id} without a dependency that explains it",
                    wave=agent.wave,
                    agents=(agent.id,),
                    issue=issue.id,
                )
                break


CHECKS: list[Check] = [
    check_overlap,
    check_path_escape,
    check_duplicate_issue,
    check_bad_severity,
    check_no_files,
    check_no_work,
    check_not_a_path,
    check_count_mismatch,
    check_unknown_dependency,
    check_dependency_order,
    check_resolved_scheduled,
    check_severity_scope,
    check_severity_order,
]


def run_checks(
    plan: Plan, parse_findings: Iterable[Finding] = (), repo: RepoView | None = None
) -> list[Finding]:
    """All findings for ``plan``: the parser's, every check's, and with ``repo`` the repo checks.

    Sorted by line (then code), so the output reads top to bottom like the plan.
    """
    from wavedeck.plan.checking.repochecks import (
        REPO_CHECKS,  # imported here: another module, built separately
    )

    ctx = CheckContext(plan=plan, repo=repo)
    findings = list(parse_findings)
    with gc_paused():
        for check in CHECKS:
            findings.extend(check(ctx))
    if repo is not None:
        for check in REPO_CHECKS:
            findings.extend(check(ctx))
    findings.sort(key=lambda f: (f.line, f.level != "error", f.code))
    return findings
