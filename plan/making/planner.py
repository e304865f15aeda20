"""The planner: issues with the files they need -> waves of agents with no shared file. Pure.

The method (each step's reasons become ``MadePlan.notes``):

1. **File groups.** Issues that need a common path are joined (union-find; a folder joins every
   issue needing a path under it). Within a wave a file group must be one agent's.
2. **Dependencies.** A cycle among issues is an error naming it. A dependency inside a file group
   is ordered inside the agent. A dependency between file groups puts the dependent group in a
   later wave; when two groups depend on each other both ways no wave order works, so they are
   merged into one group (one agent orders them).
3. **Chunks.** Each group's issues are put in dependency-then-severity order; with ``max_issues``
   a group larger than that is cut into consecutive chunks that go to successive waves.
4. **Waves.** The lower bound is the longest chain of chunks that must follow each other, and,
   with ``max_issues``, the issues over what ``max_agents`` agents can hold. At the bound, chunks
   are placed (least slack first, then most severe) in the earliest wave their dependencies allow
   within an even share of the issues (``wavedeck.plan.making.waves``). With ``max_issues`` a wave may not
   fit its agents: one wave more is tried, up to what critical-path list scheduling needs (which
   always fits, and is used when nothing shorter does).
5. **Agents.** Each wave's agents (at most ``max_agents``) are shared among the package groups in
   proportion to their load; a group's chunks go largest first to its least-loaded agent.

Invariants (property-tested): every issue exactly once; no path in two agents of a wave; every
dependency in an earlier wave or earlier in the same agent; at most ``max_agents`` agents a wave;
the same input gives the same plan.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from wavedeck.plan.making.graph import UnionFind, find_cycle, priority_order, strongly_connected
from wavedeck.plan.making.model import (
    IssueSpec,
    MadeAgent,
    MadePlan,
    MadeWave,
    MakeError,
    MakeOptions,
)
from wavedeck.plan.making.pack import Chunk, common_folder
from wavedeck.plan.making.waves import (
    Schedule,
    Work,
    depths,
    list_schedule,
    lower_bound,
    window_schedule,
)
from wavedeck.plan.models import SEVERITY_RANK, UNSET
from wavedeck.plan.reading import fields as fl

MAX_LISTED = 6  # ids listed in one explanation before "and N more"


def _ids(issues: Sequence[IssueSpec], idx: Sequence[int]) -> str:
    names = [issues[i].id for i in idx]
    if len(names) > MAX_LISTED:
        return ", ".join(names[:MAX_LISTED]) + f" and {len(names) - MAX_LISTED} more"
    return ", ".join(names)


def _validate(issues: Sequence[IssueSpec], opts: MakeOptions) -> None:
    problems = []
    if opts.max_agents < 1:
        problems.append(f"--max-agents must be at least 1 (got {opts.max_agents})")
    if opts.max_waves is not None and opts.max_waves < 1:
        problems.append(f"--max-waves must be at least 1 (got {opts.max_waves})")
    if opts.max_issues is not None and opts.max_issues < 1:
        problems.append(f"--max-issues must be at least 1 (got {opts.max_issues})")
    seen: dict[tuple[str, int | None], IssueSpec] = {}
    for issue in issues:
        where = f" ({issue.source})" if issue.source else ""
        if not fl.ISSUE_ID.match(issue.id):
            problems.append(f"{issue.id!r}{where} is not a usable issue id")
        if issue.severity not in SEVERITY_RANK and issue.severity != UNSET:
            problems.append(
                f"{issue.id}{where} has severity {issue.severity or 'none'!r}; "
                f"allowed: {', '.join(SEVERITY_RANK)}"
            )
        first = seen.setdefault(fl.id_key(issue.id), issue)
        if first is not issue:
            problems.append(f"{issue.id}{where} is given twice (also {first.source or first.id})")
    if problems:
        raise MakeError(problems)


def _dependencies(
    issues: list[IssueSpec], notes: list[str]
) -> tuple[list[list[int]], list[tuple[str, str]]]:
    by_key = {fl.id_key(i.id): n for n, i in enumerate(issues)}
    deps: list[list[int]] = []
    ignored: list[tuple[str, str]] = []
    for issue in issues:
        mine: list[int] = []
        for dep in issue.depends_on:
            target = by_key.get(fl.id_key(dep))
            if target is None:
                ignored.append((issue.id, dep))
            elif target not in mine:
                mine.append(target)
        deps.append(mine)
    cycle = find_cycle(deps)
    if cycle is not None:
        chain = " -> ".join(issues[n].id for n in cycle)
        raise MakeError([f"dependency cycle: {chain} (each depends on the next); break one"])
    for issue_id, dep in ignored:
        notes.append(f"{issue_id} depends on {dep}, which is not among the issues planned: ignored")
    return deps, ignored


def _file_groups(issues: list[IssueSpec], uf: UnionFind, notes: list[str]) -> None:
    needed: dict[str, list[int]] = {}
    for n, issue in enumerate(issues):
        for path in issue.paths:
            users = needed.setdefault(path, [])
            if not users or users[-1] != n:
                users.append(n)
    keys = sorted(needed)
    for path in keys:
        users = needed[path]
        for other in users[1:]:
            uf.union(users[0], other)
        if path.endswith("/"):
            # A folder claims everything under it: every key with that prefix sorts right after.
            at = bisect.bisect_right(keys, path)
            while at < len(keys) and keys[at].startswith(path):
                for other in needed[keys[at]]:
                    uf.union(users[0], other)
                at += 1
    shared: dict[int, list[str]] = {}
    for path in keys:
        if len(needed[path]) > 1:
            shared.setdefault(uf.find(needed[path][0]), []).append(path)
    for root in sorted(shared):
        parts = [f"{p} ({_ids(issues, needed[p])})" for p in shared[root][:MAX_LISTED]]
        more = len(shared[root]) - MAX_LISTED
        tail = f" and {more} more files" if more > 0 else ""
        notes.append(
            "shared files keep these issues in one agent per wave: " + "; ".join(parts) + tail
        )


def _merge_cycles(
    issues: list[IssueSpec], deps: list[list[int]], uf: UnionFind, notes: list[str]
) -> None:
    groups = uf.groups()
    comp = [0] * len(issues)
    for c, members in enumerate(groups):
        for n in members:
            comp[n] = c
    succ: list[set[int]] = [set() for _ in groups]
    for n, mine in enumerate(deps):
        for d in mine:
            if comp[d] != comp[n]:
                succ[comp[d]].add(comp[n])
    for scc in strongly_connected([sorted(s) for s in succ]):
        members = sorted(n for c in scc for n in groups[c])
        for n in members[1:]:
            uf.union(members[0], n)
        notes.append(
            f"file groups of {' / '.join(_ids(issues, groups[c]) for c in scc)} depend on each "
            "other both ways: merged into one agent, which orders them"
        )


def _units(issues: list[IssueSpec], ordered: list[int]) -> list[list[int]] | None:
    """A file group made only of issues that keep their plan agents' files (no issue file names
    theirs), from several plan agents: its issues by plan agent, in plan order. Those files are
    the plan agents' whole lists, not what each fix needs, so joining every plan agent that
    shares one file would give one agent most of a package; each plan agent's issues stay a
    unit instead, and units sharing a file go to successive waves (``_unit_order``)."""
    by_unit: dict[str, list[int]] = {}
    for n in ordered:
        unit = issues[n].unit
        if unit is None:
            return None
        by_unit.setdefault(unit, []).append(n)
    if len(by_unit) < 2:
        return None
    return sorted(by_unit.values(), key=min)


def _unit_order(
    issues: list[IssueSpec], units: list[list[int]], first: int, notes: list[str]
) -> list[tuple[int, int]]:
    """Chunk edges (later, earlier) between units that share a file: the later in the plan
    waits for the earlier, so no wave gives one file to two agents."""
    paths = [{p for n in unit for p in issues[n].paths} for unit in units]
    edges = []
    for k in range(len(units)):
        for j in range(k):
            shared = paths[k] & paths[j]
            if shared:
                edges.append((first + k, first + j))
                a, b = issues[units[j][0]].unit, issues[units[k][0]].unit
                notes.append(
                    f"the issues of plan agents {a} and {b} keep their agents' files, which "
                    f"share {', '.join(sorted(shared)[:3])}: {b}'s run in a later wave"
                )
    return edges


def _prepare(issues: list[IssueSpec], opts: MakeOptions) -> Work:
    notes: list[str] = []
    deps, ignored = _dependencies(issues, notes)
    uf = UnionFind(len(issues))
    _file_groups(issues, uf, notes)
    _merge_cycles(issues, deps, uf, notes)
    groups = uf.groups()
    chunks: list[Chunk] = []
    chunk_of = [0] * len(issues)
    unit_preds: list[tuple[int, int]] = []
    for members in groups:
        ordered = priority_order(members, lambda n: deps[n], lambda n: issues[n].rank)
        units = _units(issues, ordered) if opts.max_issues is None else None
        if units is not None:
            first = len(chunks)
            for piece in units:
                for n in piece:
                    chunk_of[n] = len(chunks)
                chunks.append(Chunk(index=len(chunks), members=piece))
            unit_preds += _unit_order(issues, units, first, notes)
            continue
        size = opts.max_issues or len(ordered)
        pieces = [ordered[i : i + size] for i in range(0, len(ordered), size)]
        if len(pieces) > 1:
            notes.append(
                f"the file group of {_ids(issues, ordered)} holds {len(ordered)} issues, more "
                f"than --max-issues {opts.max_issues}: split in {len(pieces)} parts for "
                "successive waves, in dependency then severity order"
            )
        for k, piece in enumerate(pieces):
            for n in piece:
                chunk_of[n] = len(chunks)
            chunks.append(Chunk(index=len(chunks), members=piece, part=k, parts=len(pieces)))
    preds: list[set[int]] = [set() for _ in chunks]
    why: dict[tuple[int, int], tuple[int, int]] = {}
    for c in chunks:
        if c.part > 0:
            preds[c.index].add(c.index - 1)
    for later, earlier in unit_preds:
        preds[later].add(earlier)
    for n, mine in enumerate(deps):
        for d in mine:
            a, b = chunk_of[d], chunk_of[n]
            if a != b:
                preds[b].add(a)
                why.setdefault((b, a), (n, d))
    for c in chunks:
        c.fill(issues)
    return Work(issues, deps, chunks, chunk_of, preds, why, notes, ignored, len(groups))


def make_plan(issues: Sequence[IssueSpec], opts: MakeOptions | None = None) -> MadePlan:
    """Waves of agents for ``issues`` under ``opts``; raises ``MakeError`` when none can be made.

    The result depends only on the issues (sorted by id first) and the options.
    """
    opts = opts or MakeOptions()
    _validate(issues, opts)
    ordered = sorted(issues, key=lambda i: (fl.id_key(i.id), i.id))
    if not ordered:
        raise MakeError(["no issues to plan"])
    work = _prepare(ordered, opts)
    depth, height, via = depths(work)
    bound, reason = lower_bound(work, opts, depth, via)
    if opts.max_waves is not None and bound > opts.max_waves:
        raise MakeError(
            [
                f"--max-waves {opts.max_waves} is impossible: at least {bound} waves are needed "
                f"({reason})"
            ]
        )
    # Without --max-issues the window search fits at the bound itself. With it, the list schedule
    # always fits; the window search (waves balanced) is tried below that, and wins when it fits.
    fallback = list_schedule(work, opts, height) if opts.max_issues is not None else None
    top = len(fallback[1]) if fallback is not None else bound
    if opts.max_waves is not None:
        top = min(top, opts.max_waves)
    for waves in range(bound, top + 1):
        got = window_schedule(work, opts, waves, depth, height)
        if got is not None:
            return _assemble(work, opts, got, bound, reason)
    if fallback is not None and (opts.max_waves is None or len(fallback[1]) <= opts.max_waves):
        return _assemble(work, opts, fallback, bound, reason)
    raise MakeError(
        [
            f"could not fit the issues into {opts.max_waves} waves of {opts.max_agents} agents "
            f"of at most {opts.max_issues} issues (lower bound {bound}: {reason}); "
            "raise --max-waves or --max-issues"
        ]
    )


def _assemble(work: Work, opts: MakeOptions, got: Schedule, bound: int, reason: str) -> MadePlan:
    placed, packed = got
    issues = work.issues
    folders = _group_folders(issues)
    waves: list[MadeWave] = []
    for w, agents in enumerate(packed):
        made = []
        for number, members in enumerate(agents, start=1):
            idx = [n for c in members for n in work.chunks[c].members]
            order = priority_order(sorted(idx), lambda n: work.deps[n], lambda n: issues[n].rank)
            groups = sorted({issues[n].group for n in idx})
            paths = sorted({p for n in idx for p in issues[n].paths if not p.endswith("/")})
            package = folders[groups[0]] if len(groups) == 1 else ""
            if len(groups) > 1 or any(not p.startswith(package) for p in paths):
                package = common_folder([*paths, *(folders[g] for g in groups)])
            made.append(MadeAgent(number, package, paths, [issues[n] for n in order], groups))
        waves.append(MadeWave(opts.first_wave + w, made))
    notes = list(work.notes)
    _placement_notes(work, placed, waves, opts, notes)
    return MadePlan(waves, bound, reason, work.components, notes, work.ignored)


def _group_folders(issues: Sequence[IssueSpec]) -> dict[str, str]:
    """Each package group's folder: the deepest folder holding all its issues' paths inside it,
    and the folders their entries were read against (so a package-relative entry means the same
    file to ``plan check``, which reads it against the agent's package)."""
    by_group: dict[str, list[str]] = {}
    for issue in issues:
        inside = [p for p in issue.paths if p.startswith(issue.group)]
        # The home pins the folder from above even when it is the root: a package-relative new
        # file read against it must stay where it was read. An issue with no entries (it keeps
        # its plan agent's files, already repo-relative) has nothing to pin: its files decide.
        pin = [] if issue.home is None or not issue.entries else [issue.home + "x"]
        by_group.setdefault(issue.group, []).extend([*inside, *pin])
    return {g: common_folder(paths) if paths else g for g, paths in by_group.items()}


def _placement_notes(
    work: Work, placed: dict[int, int], waves: list[MadeWave], opts: MakeOptions, notes: list[str]
) -> None:
    issues = work.issues
    first = opts.first_wave
    for (b, a), (n, d) in sorted(work.why.items()):
        split = work.chunks[a].parts > 1 and work.chunks[b].index - work.chunks[a].index == (
            work.chunks[b].part - work.chunks[a].part
        )
        held = "an earlier part of its file group" if split else "another file group"
        notes.append(
            f"{issues[n].id} depends on {issues[d].id}, which is in {held}: {issues[d].id} in "
            f"wave {placed[a] + first}, {issues[n].id} in wave {placed[b] + first}"
        )
    for wave in waves:
        for agent in wave.agents:
            aid = f"w{wave.number}-a{agent.number}"
            for issue in agent.issues:
                if issue.files_from == "none":
                    notes.append(
                        f"{issue.id} names no file (no fix plan or description lists one): "
                        f"placed by package {issue.group or '/'} with {aid}"
                    )
                elif issue.files_from == "plan agent":
                    notes.append(
                        f"{issue.id} has no fix plan or description listing files: keeps the "
                        f"files its plan agent {issue.unit or ''} declared, in {aid}"
                    )
                elif issue.files_from == "description":
                    notes.append(
                        f"{issue.id} has no fix plan listing files: owns the files its "
                        f"description names ({aid})"
                    )
            if not agent.paths:
                notes.append(
                    f"{aid} owns no file: none of its issues names one; add its Files before "
                    "running it (plan check reports no-files)"
                )
            if len(agent.groups) > 1:
                notes.append(
                    f"{aid} serves several packages ({', '.join(agent.groups)}): in wave "
                    f"{wave.number} the agents could not each keep to one package (more packages "
                    f"than --max-agents {opts.max_agents}, agents full at --max-issues, or a file "
                    "group spanning packages)"
                )
