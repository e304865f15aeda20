"""Making a plan on disk: ``plan make``'s engine side, and re-planning the waves not yet run.

``make_plan_text`` turns issues into the Markdown of a plan and holds the result against the same
checks ``plan check --repo`` runs, so a made plan that would not pass is never passed off as good.
``replan_remaining`` is what the control room offers after a wave ("re-plan remaining waves"): it
keeps the waves already run exactly as they are, re-plans every issue of the others from the
repository's fix plans, and writes the result *next to* the running plan for review, never over it.
The plan layer does the thinking (``wavedeck.plan.making.planner``); this module reads and writes files.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from wavedeck.agents.repoview import repo_view
from wavedeck.plan.checking.api import RepoView
from wavedeck.plan.checking.checks import run_checks
from wavedeck.plan.errors import Finding, PlanError, WavedeckError
from wavedeck.plan.making.inputs import resettle, specs_from_plan
from wavedeck.plan.making.model import IssueSpec, MadePlan, MakeError, MakeOptions
from wavedeck.plan.making.planner import make_plan
from wavedeck.plan.making.render import RenderContext, render_made
from wavedeck.plan.models import Plan
from wavedeck.plan.reading.loader import load_plan, parse_plan

MAX_SETTLE = 8  # re-resolutions of package-relative entries (each one re-plans)
MAX_SUFFIX = 1000  # plans/<name>.replanned-<n>.md: how many re-plans of one plan may pile up


class ReplanError(WavedeckError):
    """The plan cannot be re-planned (unreadable, bad waves, no plan satisfies the rules)."""


@dataclass(frozen=True)
class MadeText:
    """A made plan, its Markdown, and what ``plan check --repo`` finds in it."""

    made: MadePlan
    text: str
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]


def make_plan_text(
    specs: Sequence[IssueSpec],
    opts: MakeOptions,
    ctx: RenderContext,
    view: RepoView | None,
    notes: Sequence[str] = (),
) -> MadeText:
    """Plan ``specs``, write the Markdown, and check it (against ``view`` when given).

    ``notes`` (what reading the input left out) lead the plan's reasons. Raises ``MakeError``
    when no plan satisfies the rules.
    """
    made = make_plan(specs, opts)
    # A package-relative entry means the file under the package of the agent that gets it, as
    # plan check will read it: resolve again for the agents' packages until nothing moves.
    for _ in range(MAX_SETTLE):
        if view is None:
            break
        packages = {i.id: a.package for w in made.waves for a in w.agents for i in a.issues}
        moved = resettle(specs, packages, view)
        if moved is None:
            break
        specs = moved
        made = make_plan(specs, opts)
    made.notes[:0] = notes
    text = render_made(made, ctx)
    result = parse_plan(text, "made plan")
    findings = run_checks(result.plan, result.findings, view)
    return MadeText(made, text, tuple(findings))


def context_from(
    plan: Plan, origin: str, max_agents: int, kept: Iterable[int] = ()
) -> RenderContext:
    """A plan's title, rules and resolved issues, kept in the plan made from it."""
    keep = set(kept)
    return RenderContext(
        title=plan.title or "Wave plan",
        origin=origin,
        rules=plan.rules,
        resolved=plan.resolved,
        kept=tuple(w for w in plan.waves if w.number in keep),
        max_agents=max_agents,
    )


def _target(plan_path: Path) -> Path:
    stem = plan_path.name.removesuffix(".md")
    for n in range(1, MAX_SUFFIX + 1):
        name = f"{stem}.replanned.md" if n == 1 else f"{stem}.replanned-{n}.md"
        candidate = plan_path.with_name(name)
        if not candidate.exists():
            return candidate
    raise ReplanError(f"{plan_path}: {MAX_SUFFIX} re-plans already exist next to it")


def replan_remaining(
    plan_path: Path | str,
    repo_root: Path | str,
    done_waves: Iterable[int],
    *,
    max_agents: int = 5,
    max_waves: int | None = None,
    max_issues: int | None = None,
) -> Path:
    """Re-plan the waves not in ``done_waves``; return the new plan's path.

    The waves in ``done_waves`` are written as they were; every issue of the other waves is
    planned again (``wavedeck.plan.making.planner``) with the files the repository's fix plans name, in waves
    numbered after the last done one. The result goes to ``<plan>.replanned.md`` next to the
    plan (``.replanned-2.md`` and so on if that exists): an existing file is never overwritten.
    The new waves are held against ``plan check --repo`` first (no predicted overlap, no
    error). Raises ``ReplanError`` (a message for the user, naming the issues) when the plan
    cannot be read in full, ``done_waves`` are not its first waves, nothing remains, no plan
    satisfies the rules, or the new waves would not pass the check.
    """
    path = Path(plan_path)
    try:
        loaded = load_plan(path)
    except PlanError as exc:
        raise ReplanError(str(exc)) from None
    unread = [f for f in loaded.findings if f.level == "error"]
    if unread:
        # A row the reader could not read would drop its issue from the new plan without a word.
        bad = unread[0]
        raise ReplanError(
            f"{path}:{bad.line}: {bad.message} ({len(unread)} unreadable row(s)); fix the plan first"
        )
    plan = loaded.plan
    done = set(done_waves)
    missing = sorted(done - {w.number for w in plan.waves})
    if missing:
        raise ReplanError(f"{path}: no wave {', '.join(map(str, missing))} in the plan")
    numbers = [w.number for w in plan.waves]
    if set(numbers[: len(done)]) != done:
        # A done wave after one still to run would leave the new plan's order meaningless.
        raise ReplanError(
            f"{path}: the done waves must be the plan's first waves "
            f"({', '.join(map(str, numbers[: len(done)]))}), not {', '.join(map(str, sorted(done)))}"
        )
    remaining = [w for w in plan.waves if w.number not in done]
    if not remaining:
        raise ReplanError(f"{path}: every wave is done; nothing to re-plan")
    view = repo_view(repo_root)
    notes: list[str] = []
    rest = plan.model_copy(update={"waves": tuple(remaining)})
    specs = specs_from_plan(rest, view, notes)
    first = max(done, default=0) + 1
    opts = MakeOptions(max_agents, max_waves, max_issues, first_wave=first)
    origin = (
        f"the waves after {', '.join(map(str, sorted(done)))} of {path.name}" if done else path.name
    )
    ctx = context_from(plan, origin, max_agents, kept=done)
    try:
        made = make_plan_text(specs, opts, ctx, view, notes)
    except MakeError as exc:
        raise ReplanError(f"{path}: cannot re-plan: {'; '.join(exc.problems)}") from None
    # The waves already run are history (their own findings stay theirs); the new ones must pass.
    ours = [f for f in made.errors if f.wave is None or f.wave >= first]
    if ours:
        listed = "; ".join(f"line {f.line}: {f.message}" for f in ours[:3])
        raise ReplanError(f"{path}: the re-planned waves do not pass plan check: {listed}")
    target = _target(path)
    # Exclusive creation: a file appearing between the check and the write is not overwritten.
    with target.open("x", encoding="utf-8") as handle:
        handle.write(made.text)
    return target


def check_command(written: Path, repo: Path, cwd: Path) -> str:
    """The ``wavedeck plan check`` command for a re-plan, with the paths as they must be typed
    in ``cwd``: relative when inside it or above it (``..``), else absolute; quoted for a
    shell."""

    def typed(path: Path) -> str:
        path = path.resolve()
        rel = Path(os.path.relpath(path, cwd.resolve()))
        if rel.parts and rel.parts[0] == ".." and any(p != ".." for p in rel.parts):
            return shlex.quote(str(path))  # beside cwd, not above it: the absolute path reads
        return shlex.quote(str(rel))

    return f"wavedeck plan check {typed(written)} --repo {typed(repo)}"
