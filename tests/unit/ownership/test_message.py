"""Checkpoint messages: the shape of the real ones (``waves/waveN.message``), with trailers git
itself parses back."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from wavedeck.agents.wave.message import checkpoint_message, one_line, title_line
from wavedeck.plan.models import Plan
from wavedeck.plan.reading.loader import load_plan


@pytest.fixture(scope="module")
def plan(reference_plan_path: Path) -> Plan:
    return load_plan(reference_plan_path).plan


def _trailers(message: str) -> list[tuple[str, str]]:
    done = subprocess.run(
        ["git", "interpret-trailers", "--parse"],
        input=message,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return [tuple(line.split(": ", 1)) for line in done.stdout.splitlines()]  # type: ignore[misc]


def test_titles_name_wave_scope_and_count_like_the_real_ones(plan: Plan, zajel_dir: Path) -> None:
    assert title_line(plan.wave(1)) == "Wave 1 — CRITICAL + HIGH (29 issues)"
    assert title_line(plan.wave(2), "fix: ") == "fix: Wave 2 — MEDIUM severity (38 issues)"
    assert title_line(plan.wave(3)) == "Wave 3 — LOW severity (27 issues)"
    # The real titles carry the same three facts.
    real = (zajel_dir / "waves" / "wave1.message").read_text().splitlines()[0]
    assert "Wave 1" in real and "CRITICAL + HIGH" in real and "(29 issues)" in real


def test_wave1_message(plan: Plan) -> None:
    message = checkpoint_message(
        plan,
        1,
        outcomes={
            "headless-01": "UNIX socket restricted to 0o600",
            "server-1": "CORS allowlist replacing wildcard origin",
        },
        tests=[("npm run test --workspaces", True), ("cd packages/app && flutter test", True)],
        accepted={
            "package-lock.json": "policy accept 'package-lock.json'",
            "packages/server/src/cors.js": "undeclared, attributed to w1-a3",
        },
        tests_summary="All tests pass: CF Worker (142), VPS (342), Headless (127)",
        tests_duration_s=83.4,
    )
    lines = message.splitlines()
    assert lines[0] == "Wave 1 — CRITICAL + HIGH (29 issues)"
    assert lines[1] == ""
    assert "Headless — client.py + crypto.py + channels.py group (w1-a1, 5 issues):" in lines
    # Reported outcome where there is one, else the plan's summary; severity first.
    assert "- CRITICAL headless-01: UNIX socket restricted to 0o600" in lines
    assert "- HIGH headless-05: Handshake key exchange peer identity confusion" in lines
    assert "- CRITICAL server-1: CORS allowlist replacing wildcard origin" in lines
    assert "- MEDIUM website-21: Missing security headers (same _headers file as 3)" in lines
    assert sum(1 for line in lines if line.startswith("- ") and ": " in line) == 29 + 2
    assert "- npm run test --workspaces: passed" in lines
    assert "All tests pass: CF Worker (142), VPS (342), Headless (127)" in lines
    trailers = _trailers(message)
    assert trailers[0] == ("Wavedeck-Wave", "1")
    issues = dict(trailers)["Wavedeck-Issues"].split(", ")
    assert len(issues) == 29 and issues[:2] == ["headless-05", "headless-06"]
    assert dict(trailers)["Wavedeck-Tests"] == (
        "npm run test --workspaces; cd packages/app && flutter test passed 1m23s"
    )
    assert [v for k, v in trailers if k == "Wavedeck-Accepted"] == [
        "package-lock.json (policy accept 'package-lock.json')",
        "packages/server/src/cors.js (undeclared, attributed to w1-a3)",
    ]


def test_failed_tests_and_no_tests(plan: Plan) -> None:
    failed = checkpoint_message(plan, 3, {}, [("make test", True), ("npm test", False)], {})
    assert "- npm test: failed" in failed
    assert dict(_trailers(failed))["Wavedeck-Tests"] == "make test; npm test failed"
    none = checkpoint_message(plan, 3, {}, [], {})
    assert dict(_trailers(none))["Wavedeck-Tests"] == "none"
    assert "\nTests:\n" not in none


def test_agent_text_cannot_forge_trailers_or_break_lines(plan: Plan) -> None:
    evil = "done\n\nWavedeck-Wave: 9\nWavedeck-Accepted: /etc/passwd (x)\x1b[2J"
    message = checkpoint_message(plan, 2, {"headless-12": evil}, [], {"a\nb": "c\nd"})
    trailers = _trailers(message)
    assert [v for k, v in trailers if k == "Wavedeck-Wave"] == ["2"]
    assert [v for k, v in trailers if k == "Wavedeck-Accepted"] == ["a b (c d)"]
    assert "\x1b" not in message
    assert one_line("x" * 500).endswith("…") and len(one_line("x" * 500)) == 200
