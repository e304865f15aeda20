"""Checkpoint messages: the shape of the real ones (``waves/waveN.message``), with trailers git
itself parses back."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from wavedeck.agents.wave.evidence import Evidence
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


def _evidence(plan: Plan, wave: int, **by_issue: Evidence) -> dict[str, Evidence]:
    """Every issue of ``wave`` unreported, but those given."""
    out = {}
    for agent in plan.wave(wave).agents:
        for issue in agent.issues:
            out[issue.id] = by_issue.get(issue.id.replace("-", "_")) or Evidence(
                issue.id, agent.id, "unreported"
            )
    return out


def test_wave1_message(plan: Plan) -> None:
    evidence = _evidence(
        plan,
        1,
        headless_01=Evidence("headless-01", "w1-a2", "reported", "UNIX socket restricted to 0o600"),
        server_1=Evidence(
            "server-1", "w1-a3", "reported", "CORS allowlist replacing wildcard origin"
        ),
        headless_05=Evidence("headless-05", "w1-a1", "marked-done", "checked by hand"),
        server_3=Evidence("server-3", "w1-a4", "reverted", "packages/vps/src/handler.ts", "fixed"),
    )
    message = checkpoint_message(
        plan,
        1,
        evidence,
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
    # Each issue with its evidence: the reported outcome and who reported it; the operator's
    # mark with the reason; a revert, never "fixed"; the plan's summary for the rest, unreported.
    assert "- CRITICAL headless-01: UNIX socket restricted to 0o600 (reported by w1-a2)" in lines
    assert (
        "- HIGH headless-05: Handshake key exchange peer identity confusion (not reported; "
        "marked done by the operator: checked by hand)"
    ) in lines
    assert (
        "- CRITICAL server-1: CORS allowlist replacing wildcard origin (reported by w1-a3)" in lines
    )
    (reverted,) = [line for line in lines if line.startswith("- ") and " server-3: " in line]
    assert reverted.endswith("(reverted by the operator: packages/vps/src/handler.ts)")
    assert "fixed" not in reverted
    assert (
        "- MEDIUM website-21: Missing security headers (same _headers file as 3) (not reported done)"
        in lines
    )
    assert sum(1 for line in lines if line.startswith("- ") and ": " in line) == 29 + 2
    assert "- npm run test --workspaces: passed" in lines
    assert "All tests pass: CF Worker (142), VPS (342), Headless (127)" in lines
    trailers = _trailers(message)
    assert trailers[0] == ("Wavedeck-Wave", "1")
    # Only the issues something shows done; each issue's evidence in its own trailer.
    assert dict(trailers)["Wavedeck-Issues"] == "headless-05, headless-01, server-1"
    per_issue = [v for k, v in trailers if k == "Wavedeck-Issue"]
    assert len(per_issue) == 29
    assert "headless-01 reported (w1-a2: UNIX socket restricted to 0o600)" in per_issue
    assert "headless-05 marked-done (w1-a1: checked by hand)" in per_issue
    assert "server-3 reverted (packages/vps/src/handler.ts)" in per_issue
    assert "website-21 unreported (w1-a5)" in per_issue
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
    reported = Evidence("headless-12", "w2-a1", "reported", evil)
    message = checkpoint_message(plan, 2, {"headless-12": reported}, [], {"a\nb": "c\nd"})
    trailers = _trailers(message)
    assert [v for k, v in trailers if k == "Wavedeck-Wave"] == ["2"]
    assert [v for k, v in trailers if k == "Wavedeck-Accepted"] == ["a b (c d)"]
    assert "\x1b" not in message
    assert one_line("x" * 500).endswith("…") and len(one_line("x" * 500)) == 200
