"""Random and mutated plans (reliability matrix D11): only ``PlanError`` ever escapes the parser,
the checks and renderers never crash, and the CLI never prints a traceback."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plan_testkit import render, small_spec

from wavedeck.plan.checking.checks import run_checks
from wavedeck.plan.errors import PlanError
from wavedeck.plan.reading.loader import decode_plan, parse_plan
from wavedeck.plan.render import findings_json, plan_json, tree
from wavedeck.tui.cli.main import main

VALID = render(small_spec())
LINES = VALID.split("\n")
# Fragments that stress the grammar: table syntax, labels, headings, escapes, odd characters.
FRAGMENTS = [
    "|",
    "||",
    "|---|",
    "`",
    "``",
    "**",
    "**Files**:",
    "**Package**:",
    "## Wave 0",
    "### Agent 0",
    "## Wave 99999999999999999999",
    "(depends on 01)",
    "(depends on )",
    "\\",
    "\x1b[2J",
    "\u202e",
    "\r",
    "\t",
    "- ",
    "1. ",
    "> ",
    "<script>",
    "../",
    "/",
    "é",
    "\U0001f600",
]


def exercise(text: str) -> None:
    """Parse, check and render; anything other than PlanError propagates and fails the test."""
    try:
        result = parse_plan(text, "fuzz.md")
    except PlanError as exc:
        assert str(exc)
        return
    findings = run_checks(result.plan, result.findings)
    # Every location points into the plan, at the thing it names.
    plan = result.plan
    assert all(1 <= f.line <= plan.line_count for f in findings)
    source = text.replace("\r\n", "\n").replace("\r", "\n").removeprefix("\ufeff").split("\n")
    for issue in plan.issues:
        assert issue.id in source[issue.line - 1]
    for agent in plan.agents:
        assert "agent" in source[agent.line - 1].lower()
    json.loads(findings_json(findings))
    json.loads(plan_json(result.plan))
    tree(result.plan)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_random_text(text: str) -> None:
    exercise(text)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_decode_or_plan_error(data: bytes) -> None:
    try:
        text = decode_plan(data)
    except PlanError:
        return
    exercise(text)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "insert", "splice", "swap"]))
        if action == "delete" and len(lines) > 1:
            del lines[at]
        elif action == "duplicate":
            lines.insert(at, lines[at])
        elif action == "insert":
            lines.insert(at, draw(st.sampled_from(FRAGMENTS)))
        elif action == "splice":
            line = lines[at]
            cut = draw(st.integers(0, len(line)))
            lines[at] = line[:cut] + draw(st.sampled_from(FRAGMENTS)) + line[cut:]
        else:
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
    return "\n".join(lines)


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_valid_plans(text: str) -> None:
    exercise(text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=mutated(), as_json=st.booleans(), command=st.sampled_from(["check", "show"]))
def test_cli_never_prints_a_traceback(
    tmp_path_factory, text: str, as_json: bool, command: str
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("fuzz") / "plan.md"
    path.write_text(text, encoding="utf-8", newline="")
    args = ["plan", command, str(path)] + (["--json"] if as_json else [])
    done = CliRunner().invoke(main, args)
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    assert done.exit_code in (0, 1, 2)
    assert "Traceback" not in done.output
    if done.exit_code == 2:
        assert done.stderr.startswith(str(path))
    elif as_json:
        json.loads(done.stdout)
