"""The reference format reads exactly as before (#14): with and without ``--strict``, the same
model, the same ``plan show --json`` and the same findings, for any generated reference plan."""

from __future__ import annotations

import itertools
import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plan_testkit import AgentSpec, IssueSpec, PlanSpec, Style, WaveSpec, render, small_spec

from wavedeck.plan.checking.checks import run_checks
from wavedeck.plan.errors import PlanError
from wavedeck.plan.reading.loader import parse_plan
from wavedeck.plan.render import plan_json
from wavedeck.tui.cli.main import main

_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=1, max_size=24).map(
    lambda s: s.strip() or "x"
)
_file = st.from_regex(r"[a-z][a-z0-9_]{0,8}(/[a-z][a-z0-9_]{0,8}){0,2}\.(py|ts|rs)", fullmatch=True)


@st.composite
def specs(draw: st.DrawFn) -> PlanSpec:
    counter = itertools.count(1)
    waves = []
    for w in range(1, draw(st.integers(1, 3)) + 1):
        agents = []
        for a in range(1, draw(st.integers(1, 3)) + 1):
            issues: list[IssueSpec] = []
            for _ in range(draw(st.integers(0, 3))):
                deps = (issues[0].id,) if issues and draw(st.booleans()) else ()
                severity = draw(st.sampled_from(["CRITICAL", "HIGH", "MEDIUM", "LOW", "BAD"]))
                issues.append(IssueSpec(f"p{a}-{next(counter):02d}", severity, draw(_words), deps))
            # Sometimes the same file in two agents of a wave: an overlap, in both readers.
            files = tuple(dict.fromkeys(draw(st.lists(_file, min_size=0, max_size=3))))
            agents.append(AgentSpec(a, draw(_words), f"pkg{a % 2}/", files, tuple(issues)))
        waves.append(WaveSpec(w, draw(_words), tuple(agents)))
    return PlanSpec(draw(_words), tuple(waves))


_styles = st.builds(
    Style,
    wave_sep=st.sampled_from(["—", "–", "-", ":"]),
    agent_sep=st.sampled_from([":", " —", " –", " -"]),
    counts=st.booleans(),
    colon_inside=st.booleans(),
    files_as_list=st.booleans(),
    header_case=st.sampled_from(["title", "lower", "upper"]),
    blank_before_table=st.booleans(),
)


def both(text: str) -> tuple[object, object]:
    """(model dump, JSON, findings) read by each reader, or the error each raised."""
    out = []
    for strict in (False, True):
        try:
            result = parse_plan(text, "p.md", strict=strict)
        except PlanError as exc:
            out.append(("error", str(exc), exc.line))
            continue
        findings = run_checks(result.plan, result.findings)
        out.append((result.plan.model_dump(), plan_json(result.plan), findings))
    return out[0], out[1]


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs(), style=_styles)
def test_reference_plans_read_the_same_with_and_without_strict(
    spec: PlanSpec, style: Style
) -> None:
    tolerant, strict = both(render(spec, style))
    assert tolerant == strict


def test_the_reference_plan_reads_the_same(plans_dir) -> None:  # type: ignore[no-untyped-def]
    for name in ("security-waves.md", "variations.md", "several-problems.md"):
        tolerant, strict = both((plans_dir / name).read_text(encoding="utf-8"))
        assert tolerant == strict, name


def test_cli_show_json_is_identical_with_strict(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "plan.md"
    path.write_text(render(small_spec()), encoding="utf-8")
    runner = CliRunner()
    plain = runner.invoke(main, ["plan", "show", "--json", str(path)])
    strict = runner.invoke(main, ["plan", "show", "--json", "--strict", str(path)])
    assert plain.exit_code == strict.exit_code == 0
    assert plain.stdout == strict.stdout
    assert "source" not in json.loads(plain.stdout)["waves"][0]["agents"][0]


def test_headings_inside_reference_agents_stay_inside() -> None:
    """Task-like, track-like and W-like headings deeper than a reference agent are its prose."""
    text = render(small_spec()).replace(
        "### Agent 2: Web\n",
        "### Agent 2: Web\n\n#### A1: notes\n\n#### Track A: aside\n\n#### W1: more\n\n"
        "- [ ] a checklist\n1. a step\n\n",
    )
    tolerant, strict = both(text)
    assert tolerant == strict
    assert isinstance(tolerant, tuple) and tolerant[0] != "error"


def test_tables_outside_agents_of_a_reference_plan_read_as_before() -> None:
    """A summary naming the agents, or a file list, adds no agents and no owners there."""
    text = render(small_spec()).replace(
        "## Execution Summary\n",
        "## Execution Summary\n\n| Agent | Focus | Files |\n|---|---|---|\n"
        "| Agent 1 | Core | `util.py` |\n| W9 | Extra | `x.py` |\n\n"
        "| File | Agent | Wave |\n|---|---|---|\n| `packages/web/app.ts` | Agent 1 | 1 |\n",
    )
    tolerant, strict = both(text)
    assert tolerant == strict
    assert isinstance(tolerant, tuple) and tolerant[0] != "error"
