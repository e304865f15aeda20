"""Every accepted way of writing a plan reads into the same model as the reference style."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plan_testkit import (
    REFERENCE_STYLE,
    AgentSpec,
    IssueSpec,
    PlanSpec,
    Style,
    WaveSpec,
    comparable,
    render,
    small_spec,
)

from wavedeck.plan.checking.checks import run_checks
from wavedeck.plan.errors import PlanError
from wavedeck.plan.reading.loader import parse_plan

SEPARATORS = ["—", "–", "-", ":"]


def read(text: str):  # type: ignore[no-untyped-def]
    result = parse_plan(text, "p.md")
    assert result.findings == ()
    return result.plan


REFERENCE = comparable(read(render(small_spec())))


@pytest.mark.parametrize(
    "style",
    [
        Style(wave_sep=":", agent_sep=" —"),
        Style(wave_sep="–", agent_sep=" -"),
        Style(wave_sep="-", agent_sep=" –", counts=False),
        Style(colon_inside=True),
        Style(files_as_list=True),
        Style(package_dot=True, package_slash=False),
        Style(columns=("Issue", "Severity", "Summary")),
        Style(columns=("Summary", "Issue", "Order", "Severity"), header_case="upper"),
        Style(header_case="lower", severity_case="lower"),
        Style(severity_case="title", bare_dependency=False),
        Style(blank_before_table=True),
        Style(crlf=True, bom=True),
    ],
    ids=lambda s: ",".join(
        f"{k}={v}" for k, v in vars(s).items() if getattr(REFERENCE_STYLE, k) != v
    ),
)
def test_variation_reads_like_the_reference(style: Style) -> None:
    assert comparable(read(render(small_spec(), style))) == REFERENCE


def test_files_bullet_list_without_code_spans_and_plain_labels() -> None:
    text = render(small_spec()).replace(
        "**Files**: `util.py`, `io.py`", "Files:\n- `util.py`\n- `io.py`\n"
    )
    assert comparable(read(text)) == REFERENCE


def test_normalised_paths_and_extra_columns() -> None:
    text = (
        "# P\n\n## Wave 1: Fixes\n\n### Agent 1 — Core\n**Package:** `./pkg/a/../core`\n"
        "**Files:** `./x.py`, `sub/../y.py`, `../common/z.py`\n\n"
        "| ISSUE | Effort | severity | Summary |\n|---|---|---|---|\n| c-1 | 2d | High | Fix |\n"
    )
    plan = read(text)
    a = plan.agent("w1-a1")
    assert a.package == "pkg/core/"
    assert a.paths == ("pkg/core/x.py", "pkg/core/y.py", "pkg/common/z.py")
    assert a.files == ("./x.py", "sub/../y.py", "../common/z.py")
    [issue] = a.issues
    assert (issue.severity, issue.order, issue.extra) == ("HIGH", 1, {"Effort": "2d"})
    assert plan.waves[0].scope == ()


def test_depends_forms_resolve_to_the_scheduled_id() -> None:
    text = (
        "# P\n\n## Wave 1\n\n### Agent 1: A\n**Package**: `a/`\n**Files**: `a.py`\n"
        "| Issue | Severity | Summary |\n|---|---|---|\n| headless-05 | HIGH | x |\n"
        "| headless-6 | HIGH | y (depends on 5) |\n| headless-07 | HIGH | z (Depends on headless-5, 06) |\n"
    )
    issues = read(text).agents[0].issues
    assert issues[1].depends_on == ("headless-05",)
    assert issues[2].depends_on == ("headless-05", "headless-6")
    assert [i.order for i in issues] == [1, 2, 3]


def test_order_column_sorts_issues() -> None:
    text = (
        "# P\n\n## Wave 1\n\n### Agent 1: A\n**Package**: `a/`\n**Files**: `a.py`\n"
        "| Order | Issue | Severity |\n|---|---|---|\n| 2 | b-2 | HIGH |\n| 1 | b-1 | HIGH |\n"
    )
    assert [i.id for i in read(text).agents[0].issues] == ["b-1", "b-2"]


# -- property: any plan, any two styles, same model ------------------------------------------

_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=1, max_size=20).map(
    lambda s: s.strip() or "x"
)
_severity = st.sampled_from(["CRITICAL", "HIGH", "MEDIUM", "LOW"])
_file = st.from_regex(r"[a-z][a-z0-9_]{0,8}(/[a-z][a-z0-9_]{0,8}){0,2}\.(py|ts|js)", fullmatch=True)


@st.composite
def plan_specs(draw: st.DrawFn) -> PlanSpec:
    counter = itertools.count(1)
    waves = []
    for w in range(1, draw(st.integers(1, 3)) + 1):
        agents = []
        for a in range(1, draw(st.integers(1, 3)) + 1):
            prefix = f"p{a}"
            issues: list[IssueSpec] = []
            for _ in range(draw(st.integers(1, 4))):
                deps: tuple[str, ...] = ()
                if issues and draw(st.booleans()):
                    deps = (issues[0].id,)
                issues.append(
                    IssueSpec(f"{prefix}-{next(counter):02d}", draw(_severity), draw(_words), deps)
                )
            files = tuple(dict.fromkeys(draw(st.lists(_file, min_size=1, max_size=3))))
            agents.append(AgentSpec(a, draw(_words), f"w{w}/pkg{a}/", files, tuple(issues)))
        waves.append(WaveSpec(w, draw(_words), tuple(agents)))
    return PlanSpec(draw(_words), tuple(waves))


_styles = st.builds(
    Style,
    wave_sep=st.sampled_from(SEPARATORS),
    agent_sep=st.sampled_from([":", " —", " –", " -"]),
    counts=st.booleans(),
    colon_inside=st.booleans(),
    files_as_list=st.booleans(),
    package_dot=st.booleans(),
    package_slash=st.booleans(),
    columns=st.permutations(["Order", "Issue", "Severity", "Summary"]).map(tuple)
    | st.permutations(["Issue", "Severity", "Summary"]).map(tuple),
    header_case=st.sampled_from(["title", "lower", "upper"]),
    severity_case=st.sampled_from(["upper", "lower", "title"]),
    bare_dependency=st.booleans(),
    blank_before_table=st.booleans(),
    crlf=st.booleans(),
    bom=st.booleans(),
)


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=plan_specs(), style=_styles)
def test_any_style_reads_to_the_same_model_as_the_reference_style(
    spec: PlanSpec, style: Style
) -> None:
    reference = read(render(spec))
    other = read(render(spec, style))
    assert comparable(other) == comparable(reference)
    # And the model says what the spec says.
    assert [a.id for a in reference.agents] == [
        f"w{w.number}-a{a.number}" for w in spec.waves for a in w.agents
    ]
    assert [i.id for i in reference.issues] == [
        i.id for w in spec.waves for a in w.agents for i in a.issues
    ]
    assert [i.depends_on for i in reference.issues] == [
        i.depends for w in spec.waves for a in w.agents for i in a.issues
    ]
    assert not [f for f in run_checks(other) if f.code in {"bad-row", "count-mismatch"}]


@pytest.mark.parametrize(
    ("wave", "agent"),
    [
        ("## **Wave 1** — CRITICAL + HIGH", "### **Agent 1:** Core"),
        ("## Wave 1. CRITICAL + HIGH", "### Agent 1. Core"),
        ("## wave 1 : CRITICAL + HIGH", "### agent 1 — Core"),
    ],
)
def test_heading_spellings(wave: str, agent: str) -> None:
    text = (
        render(small_spec())
        .replace("## Wave 1 — CRITICAL + HIGH (3 issues, 2 agents)", wave)
        .replace("### Agent 1: Core\n", agent + "\n")
    )
    plan = read(text)
    assert (plan.waves[0].number, plan.waves[0].title) == (1, "CRITICAL + HIGH")
    assert plan.agents[0].title == "Core"
    assert plan.waves[0].scope == ("CRITICAL", "HIGH")


def test_an_agent_under_an_unreadable_wave_heading_is_reported_not_dropped() -> None:
    """'## Wave Two' is no wave heading: its agents would vanish from the run without a word."""
    text = render(small_spec()).replace(
        "## Wave 2 — MEDIUM severity (1 issues, 1 agents)", "## Wave Two"
    )
    result = parse_plan(text, "p.md")
    [finding] = [f for f in result.findings if f.code == "unread-heading"]
    line = text.splitlines().index("### Agent 1: Core again") + 1
    assert (finding.level, finding.line) == ("error", line)
    assert "'## Wave Two' is not a wave heading" in finding.message
    assert [w.number for w in result.plan.waves] == [1]


def test_an_agent_heading_as_shallow_as_its_wave_is_reported() -> None:
    text = render(small_spec()).replace("### Agent 2: Web", "## Agent 2: Web")
    result = parse_plan(text, "p.md")
    [finding] = [f for f in result.findings if f.code == "unread-heading"]
    assert finding.line == text.splitlines().index("## Agent 2: Web") + 1
    assert "must sit under a wave heading" in finding.message
    assert [a.title for a in result.plan.waves[0].agents] == ["Core"]


def test_a_plan_whose_only_waves_are_unreadable_names_the_line() -> None:
    text = (
        render(small_spec())
        .replace("## Wave 1 —", "## Wave One —")
        .replace("## Wave 2 —", "## Wave II —")
    )
    with pytest.raises(PlanError) as info:
        parse_plan(text, "p.md")
    assert info.value.line == text.splitlines().index("### Agent 1: Core") + 1
    assert "'## Wave One — CRITICAL + HIGH (3 issues, 2 agents)' is not a wave heading" in str(
        info.value
    )
