"""A made plan written out: the reference plan's Markdown format, the ``--explain`` lines, JSON.

The Markdown is what ``wavedeck.plan.reading.parser`` reads back: wave headings with their counts, one section per
agent (``**Package**:``, ``**Files**:`` as code spans relative to the package, an issue table), a
strategy section that says why, the resolved issues and rules kept from the source plan, and the
summary and distribution tables (every number in them computed from the plan written, so
``count-mismatch`` has nothing to say). Text from issue files is made safe for a table cell: no
control characters, ``|`` escaped, no stray ``(depends on …)``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from wavedeck.plan.making.model import IssueSpec, MadeAgent, MadePlan
from wavedeck.plan.models import ResolvedIssue, Rule, Wave
from wavedeck.plan.reading import fields as fl
from wavedeck.plan.safetext import neutralize

MAX_CELL = 160
MAX_NOTE = 2000
MAX_NOTES = 60
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)
_CONTROL_BUT_LF = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_DEPENDS = re.compile(r"\(\s*depends\s+on[^)]*\)", re.IGNORECASE)

DEFAULT_RULES = (
    "**Never skip waves** — complete a wave fully before starting the next",
    "**Commit after each wave** — one checkpoint commit per wave",
    "**Run tests between waves** — the project's test commands",
    "**Each agent reads its issues' plan files**, applies the fixes, and runs relevant tests",
    "**Within a wave, agents run fully in parallel** — no file is given to two agents of a wave",
)


@dataclass(frozen=True)
class RenderContext:
    """What the Markdown needs besides the made waves.

    ``kept`` are waves written as they were (already run, for a re-plan); ``origin`` says where
    the issues came from, for the strategy section.
    """

    title: str
    origin: str
    rules: tuple[Rule, ...] = ()
    resolved: tuple[ResolvedIssue, ...] = ()
    kept: tuple[Wave, ...] = ()
    max_agents: int = 5


def flat(text: str, limit: int = MAX_NOTE) -> str:
    """``text`` on one line: control characters and line breaks made spaces, bounded."""
    one = " ".join(_CONTROL.sub(" ", text).split())
    return one if len(one) <= limit else one[: limit - 1].rstrip() + "…"


def cell(text: str, limit: int = MAX_CELL) -> str:
    """``text`` as one table cell: one line, no control characters, pipes escaped, bounded."""
    return _UNESCAPED_PIPE.sub(r"\\|", flat(text, limit))


def _relative(path: str, package: str) -> str:
    return path[len(package) :] if package and path.startswith(package) else path


def _summary(issue: IssueSpec, known: set[tuple[str, int | None]]) -> str:
    deps = [d for d in issue.depends_on if fl.id_key(d) in known]
    title = cell(_DEPENDS.sub("", issue.title)) or issue.id
    return title + (f" (depends on {', '.join(deps)})" if deps else "")


def _agent_title(agent: MadeAgent) -> str:
    names = [p.rsplit("/", 1)[-1] for p in agent.paths]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    where = agent.package or "repository root"
    return f"{where} — {shown}" if shown else where


def _agent_lines(number: int, agent: MadeAgent, known: set[tuple[str, int | None]]) -> list[str]:
    files = ", ".join(f"`{_relative(p, agent.package)}`" for p in agent.paths)
    out = [
        f"### Agent {number}: {cell(_agent_title(agent))}",
        f"**Package**: `{agent.package or './'}`",
        f"**Files**: {files}",
        "| Order | Issue | Severity | Summary |",
        "|-------|-------|----------|---------|",
    ]
    for order, issue in enumerate(agent.issues, start=1):
        out.append(f"| {order} | {issue.id} | {issue.severity} | {_summary(issue, known)} |")
    out.append("")
    return out


def _kept_lines(wave: Wave) -> list[str]:
    count = f"({len(wave.issue_ids)} issues, {len(wave.agents)} agents)"
    out = [f"## Wave {wave.number} — {cell(wave.title) or 'kept as run'} {count}", ""]
    for agent in wave.agents:
        # Written from the normalised paths, so the kept wave reads back the same files whether
        # the plan stated its package or it came from the files.
        package = agent.package if all(p.startswith(agent.package) for p in agent.paths) else ""
        files = ", ".join(f"`{_relative(p, package)}`" for p in agent.paths)
        out += [
            f"### Agent {agent.number}: {cell(agent.title)}",
            f"**Package**: `{package or './'}`",
            f"**Files**: {files}",
            "| Order | Issue | Severity | Summary |",
            "|-------|-------|----------|---------|",
        ]
        for order, issue in enumerate(agent.issues, start=1):
            out.append(f"| {order} | {issue.id} | {issue.severity} | {cell(issue.summary)} |")
        out.append("")
    return [*out, "---", ""]


def _resolved_lines(resolved: Sequence[ResolvedIssue]) -> list[str]:
    if not resolved:
        return []
    header = list(resolved[0].cells) or ["Issue", "Severity"]
    out = ["### Resolved Issues (removed from plan)", ""]
    out.append("| " + " | ".join(cell(h) for h in header) + " |")
    out.append("|" + "|".join("---" for _ in header) + "|")
    for r in resolved:
        cells = [r.cells.get(h, "") for h in header] if r.cells else [r.id, r.severity]
        out.append("| " + " | ".join(cell(c) for c in cells) + " |")
    return [*out, ""]


def _top(package: str) -> str:
    """The first two folders of a package (``packages/website/``), where issues are counted."""
    return "".join(part + "/" for part in [x for x in package.split("/") if x][:2])


def _tables(made: MadePlan, ctx: RenderContext) -> list[str]:
    rows: list[tuple[int, list[tuple[str, int]]]] = []  # wave -> (package, issues) per agent
    for wave in ctx.kept:
        rows.append((wave.number, [(a.package, len(a.issues)) for a in wave.agents]))
    for made_wave in made.waves:
        rows.append((made_wave.number, [(a.package, len(a.issues)) for a in made_wave.agents]))
    out = ["## Execution Summary", "", "| Wave | Issues | Agents | Description |"]
    out.append("|------|--------|--------|-------------|")
    for number, agents in rows:
        kept = any(w.number == number for w in ctx.kept)
        what = "kept as run" if kept else "made by wavedeck plan make"
        out.append(f"| {number} | {sum(n for _, n in agents)} | {len(agents)} | {what} |")
    total_issues = sum(n for _, agents in rows for _, n in agents)
    total_agents = sum(len(agents) for _, agents in rows)
    out.append(f"| **Total** | **{total_issues}** | **{total_agents}** | |")
    # Distribution: issues per top package folder, counted the way ``count-mismatch`` counts.
    tops = sorted({_top(p) for _, ag in rows for p, _ in ag if p})
    if tops:
        out += ["", "### Issue Distribution by Package", ""]
        out.append("| Package | " + " | ".join(f"Wave {n}" for n, _ in rows) + " | Total |")
        out.append("|---|" + "---|" * (len(rows) + 1))
        for top in tops:
            counts = [sum(n for p, n in ag if p.startswith(top)) for _, ag in rows]
            out.append(f"| `{top}` | " + " | ".join(map(str, counts)) + f" | {sum(counts)} |")
    return [*out, ""]


def render_made(made: MadePlan, ctx: RenderContext) -> str:
    """The made plan (after any kept waves) as Markdown in the reference format."""
    known = {fl.id_key(i.id) for i in made.issues}
    known |= {fl.id_key(r.id) for r in ctx.resolved}
    known |= {fl.id_key(i) for w in ctx.kept for i in w.issue_ids}
    waves, issues = len(made.waves), len(made.issues)
    out = [f"# {cell(ctx.title)}", "", "## Strategy", ""]
    sources = {i.files_from for i in made.issues}
    files = "each issue's files taken from its fix plan"
    if sources - {"fix plan", "description"}:
        files += " where it has one (else as the notes below say)"
    out.append(
        f"Made by wavedeck plan make from {cell(ctx.origin)}: {issues} issues in {waves} "
        f"wave(s) of at most {ctx.max_agents} agents, no file given to two agents of a wave, "
        f"{files}."
    )
    out.append("")
    out.append(
        f"- Waves: {waves}; the lower bound is {made.lower_bound} ({flat(made.bound_reason)})."
    )
    out.append(f"- File groups (issues joined by shared files): {made.components}.")
    # A big plan's reasons would outgrow the plan: the first ones here, all of them in --explain.
    out += [f"- {flat(note)}" for note in made.notes[:MAX_NOTES]]
    if len(made.notes) > MAX_NOTES:
        out.append(f"- … and {len(made.notes) - MAX_NOTES} more reasons (plan make --explain).")
    out.append("")
    out += _resolved_lines(ctx.resolved)
    out += ["---", ""]
    for wave in ctx.kept:
        out += _kept_lines(wave)
    for made_wave in made.waves:
        count = f"({made_wave.issue_count} issues, {len(made_wave.agents)} agents)"
        groups = len({g for a in made_wave.agents for g in a.groups})
        what = "1 package" if groups == 1 else f"{groups} packages"
        out += [f"## Wave {made_wave.number} — {what} {count}", ""]
        for agent in made_wave.agents:
            out += _agent_lines(agent.number, agent, known)
        out += ["---", ""]
    out += _tables(made, ctx)
    out += ["### Rules", ""]
    rules = [flat(r.text) for r in ctx.rules] or list(DEFAULT_RULES)
    out += [f"{n}. {text}" for n, text in enumerate(rules, start=1)]
    # Whatever a source plan or issue file held, the plan written has no control character but
    # line ends: it is printed on terminals and read by agents.
    return _CONTROL_BUT_LF.sub(" ", "\n".join(out)) + "\n"


def explain_lines(made: MadePlan) -> list[str]:
    """``--explain``: the bound, every reason, then each agent in one line; safe for a terminal."""
    out = [f"waves: {len(made.waves)} (lower bound {made.lower_bound}: {made.bound_reason})"]
    out += [f"why: {note}" for note in made.notes]
    for wave in made.waves:
        for agent in wave.agents:
            ids = ", ".join(i.id for i in agent.issues)
            out.append(
                f"w{wave.number}-a{agent.number}: {agent.package or './'} "
                f"({len(agent.issues)} issues, {len(agent.paths)} files): {ids}"
            )
    return [neutralize(line) for line in out]


def made_dict(made: MadePlan) -> dict[str, object]:
    """``plan make --json``: the waves, the bound and the reasons."""
    return {
        "waves": [
            {
                "number": w.number,
                "agents": [
                    {
                        "id": f"w{w.number}-a{a.number}",
                        "package": a.package,
                        "paths": list(a.paths),
                        "issues": [
                            {"id": i.id, "severity": i.severity, "depends_on": list(i.depends_on)}
                            for i in a.issues
                        ],
                    }
                    for a in w.agents
                ],
            }
            for w in made.waves
        ],
        "lower_bound": made.lower_bound,
        "bound_reason": made.bound_reason,
        "file_groups": made.components,
        "notes": list(made.notes),
    }
