"""Property tests of the planner's invariants, on generated issues: every issue exactly once, no
path in two agents of a wave, dependencies respected, at most ``max_agents`` agents a wave (and
``max_issues`` issues an agent), as few waves as the lower bound without ``max_issues``, the same
plan whatever the input order, and Markdown that ``plan check`` reads back with no error."""

from __future__ import annotations

import random

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from wavedeck.plan.checking.checks import run_checks
from wavedeck.plan.making.model import IssueSpec, MadePlan, MakeError, MakeOptions
from wavedeck.plan.making.planner import make_plan
from wavedeck.plan.making.render import RenderContext, made_dict, render_made
from wavedeck.plan.reading.loader import parse_plan

pytestmark = pytest.mark.slow

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
GROUPS = ("packages/a/", "packages/b/", "packages/c/")
FILES = ("x.py", "y.py", "z.py", "sub/u.py", "sub/v.py")


@st.composite
def issue_sets(draw: st.DrawFn) -> list[IssueSpec]:
    n = draw(st.integers(1, 24))
    out = []
    for k in range(n):
        group = draw(st.sampled_from(GROUPS))
        names = draw(st.lists(st.sampled_from(FILES), max_size=3, unique=True))
        paths = [group + f for f in names]
        if draw(st.integers(0, 9)) == 0:
            paths.append(group + "sub/")  # a folder claims everything under it
        deps = draw(st.lists(st.integers(0, max(0, k - 1)), max_size=2, unique=True)) if k else []
        out.append(
            IssueSpec(
                id=f"i-{k + 1}",
                severity=draw(st.sampled_from(SEVERITIES)),
                title=f"issue {k + 1}",
                depends_on=tuple(f"i-{d + 1}" for d in deps),
                paths=tuple(paths),
                group=group,
                files_from="fix plan" if paths else "none",
            )
        )
    return out


def _conflict(p: str, q: str) -> bool:
    return p == q or (q.endswith("/") and p.startswith(q)) or (p.endswith("/") and q.startswith(p))


def check_invariants(issues: list[IssueSpec], opts: MakeOptions, made: MadePlan) -> None:
    placed = {}
    for w in made.waves:
        assert 1 <= len(w.agents) <= opts.max_agents
        for a in w.agents:
            if opts.max_issues is not None:
                assert len(a.issues) <= opts.max_issues
            for pos, i in enumerate(a.issues):
                assert i.id not in placed, f"{i.id} twice"
                placed[i.id] = (w.number, a.number, pos)
    assert sorted(placed) == sorted(i.id for i in issues)
    for w in made.waves:
        for a in w.agents:
            for b in w.agents:
                if a.number >= b.number:
                    continue
                for p in (p for i in a.issues for p in i.paths):
                    for q in (q for i in b.issues for q in i.paths):
                        assert not _conflict(p, q), (w.number, a.number, b.number, p, q)
    for i in issues:
        wave, agent, pos = placed[i.id]
        for dep in i.depends_on:
            d_wave, d_agent, d_pos = placed[dep]
            assert d_wave < wave or (d_wave == wave and d_agent == agent and d_pos < pos)
    assert len(made.waves) >= made.lower_bound
    if opts.max_issues is None:
        assert len(made.waves) == made.lower_bound


@settings(max_examples=150, deadline=None)
@given(
    issue_sets(),
    st.integers(1, 5),
    st.one_of(st.none(), st.integers(1, 6)),
    st.randoms(use_true_random=False),
)
def test_invariants_and_determinism(
    issues: list[IssueSpec], max_agents: int, max_issues: int | None, rnd: random.Random
) -> None:
    opts = MakeOptions(max_agents=max_agents, max_issues=max_issues)
    made = make_plan(issues, opts)
    check_invariants(issues, opts, made)
    shuffled = list(issues)
    rnd.shuffle(shuffled)
    assert made_dict(make_plan(shuffled, opts)) == made_dict(made)


@settings(max_examples=60, deadline=None)
@given(issue_sets(), st.integers(1, 5))
def test_markdown_reads_back_with_no_error(issues: list[IssueSpec], max_agents: int) -> None:
    made = make_plan(issues, MakeOptions(max_agents=max_agents))
    text = render_made(made, RenderContext(title="t", origin="generated", max_agents=max_agents))
    result = parse_plan(text, "made.md")
    # Agents whose issues all name no file own nothing: ``no-files`` is the one error allowed.
    errors = [f for f in run_checks(result.plan, result.findings) if f.level == "error"]
    fileless = {f"w{w.number}-a{a.number}" for w in made.waves for a in w.agents if not a.paths}
    assert all(f.code == "no-files" and set(f.agents or ()) <= fileless for f in errors), errors
    assert sorted(i.id for i in result.plan.issues) == sorted(i.id for i in issues)


@settings(max_examples=60, deadline=None)
@given(issue_sets(), st.integers(1, 4))
def test_max_waves_below_the_bound_is_refused_with_it(issues: list[IssueSpec], waves: int) -> None:
    free = make_plan(issues, MakeOptions())
    try:
        made = make_plan(issues, MakeOptions(max_waves=waves))
    except MakeError as exc:
        assert waves < free.lower_bound
        assert f"at least {free.lower_bound} waves" in exc.problems[0]
    else:
        assert len(made.waves) <= waves


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(max_size=60), min_size=1, max_size=6), st.text(max_size=40))
@example(["a (depends on t-2)", "`x | y` \\| z", "| --- |", "\x1b[2J\u202egnp.exe"], "# T\nx")
def test_any_title_reads_back_as_written_cells(titles: list[str], plan_title: str) -> None:
    issues = [
        IssueSpec(id=f"t-{k}", severity="LOW", title=t, paths=(f"p/f{k}.py",), group="p/")
        for k, t in enumerate(titles, start=1)
    ]
    made = make_plan(issues)
    text = render_made(made, RenderContext(title=plan_title, origin="generated"))
    assert not any(ch in text for ch in "\x1b\x00\r\u202e\x85")
    result = parse_plan(text, "made.md")
    assert [f for f in result.findings if f.level == "error"] == []
    assert sorted(i.id for i in result.plan.issues) == sorted(i.id for i in issues)
    assert all(i.depends_on == () for i in result.plan.issues)
