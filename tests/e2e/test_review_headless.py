"""End to end: ``wavedeck review`` and ``wavedeck run --headless --review`` as a user runs them.

A demo sandbox whose agents are the stand-in Claude CLI (tests/unit/presets/fake_claude.py) and
whose ``[review]`` reviewer is tests/unit/review/fake_reviewer.py (it tries to write, the kernel
refuses, it reports two findings a agent). ``run --headless --review`` stops at the checkpoint
(``review-findings-open``); ``review --json`` lists the agents, issues, hunks and findings; a bad
comments file is refused naming its lines; ``review --comments --forward --dismiss --send``
sends one follow-up and waits for it; the next run commits with the review recorded.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.headless_kit import events, kill_agents, run
from tests.unit.review.test_review_engine import reviewer_sandbox
from wavedeck.agents.local import landlock

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(landlock.abi() < landlock.MIN_ABI, reason="no Landlock on this kernel"),
]


@pytest.mark.timeout(300)
def test_review_headless_from_findings_to_a_reviewed_checkpoint(tmp_path: Path) -> None:
    repo = reviewer_sandbox(tmp_path / "s")
    try:
        first = run(
            repo, "run", "--headless", "--wave", "1", "--yes", "--review", "--json", timeout=180
        )
        assert first.returncode == 1, first.stderr
        refused = [e for e in events(first.stdout) if e["event"] == "gate_refused"]
        assert refused[-1]["code"] == "review-findings-open" and len(refused[-1]["paths"]) == 5
        assert "forward them to their agent or dismiss them" in refused[-1]["reason"]

        shown = run(repo, "review", "--wave", "1", "--json")
        assert shown.returncode == 0, shown.stderr
        data = json.loads(shown.stdout)
        a1 = next(a for a in data["agents"] if a["agent"] == "w1-a1")
        assert [i["id"] for i in a1["issues"]][:1] and all(i["done"] for i in a1["issues"])
        hunk = a1["files"][0]["hunks"][0]
        assert hunk["issue"]["kind"] == "exact" and hunk["issue"]["issues"] == [
            a1["issues"][0]["id"]
        ]
        findings = [c for c in data["comments"] if c["author"] == "reviewer"]
        assert len(findings) == 10
        assert all(r["state"] == "done" for r in data["reviewers"].values())
        text = run(repo, "review", "--wave", "1").stdout
        assert "w1-a1 Headless" in text and f"while working on {a1['issues'][0]['id']}" in text

        path = a1["files"][0]["path"]
        bad = tmp_path / "bad.txt"
        bad.write_text(f"{path}:1: fine\nnot a comment\nsrc/nowhere.py:0: zero\n")
        refused_file = run(repo, "review", "--wave", "1", "--comments", str(bad))
        assert refused_file.returncode == 2
        assert f"{bad}:2: not 'path:line: text'" in refused_file.stderr
        assert f"{bad}:3: line numbers start at 1" in refused_file.stderr
        elsewhere = tmp_path / "elsewhere.txt"
        elsewhere.write_text("README.md:1: not changed\n")
        refused_place = run(repo, "review", "--wave", "1", "--comments", str(elsewhere))
        assert refused_place.returncode == 2
        assert f"{elsewhere}:1: README.md is not changed in wave 1" in refused_place.stderr
        assert not json.loads(run(repo, "review", "--wave", "1", "--json").stdout)["comments"][10:]

        good = tmp_path / "comments.txt"
        good.write_text(f"# the operator's review\n{path}:1: Explain the new line in a comment.\n")
        high = [c for c in findings if c["severity"] == "high"]
        mine = next(c for c in high if c["agent"] == "w1-a1")
        args = ["--forward", str(mine["id"])]
        for other in high:
            if other is not mine:
                args += ["--dismiss", str(other["id"])]
        sent = run(repo, "review", "--wave", "1", "--json", "--comments", str(good), "--send",
                   "--approve", "w1-a2", *args, timeout=180)  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        after = json.loads(sent.stdout)
        a1 = next(a for a in after["agents"] if a["agent"] == "w1-a1")
        assert a1["requests"][0]["follow_up"] == 1 and not a1["waiting"]
        assert {c["status"] for c in after["comments"] if c["agent"] == "w1-a1" and
                (c["author"] == "operator" or c["forwarded"])} == {"sent"}  # fmt: skip
        log = (repo / ".wavedeck" / "logs" / "w1-a1.log").read_text("utf-8")
        assert "Explain the new line in a comment." in log and "reviewer finding, high" in log

        last = run(repo, "run", "--headless", "--wave", "1", "--yes", "--json", timeout=180)
        assert last.returncode == 0, last.stdout[-3000:] + last.stderr
        message = subprocess.run(
            ["git", "-C", str(repo), "log", "-1", "--format=%B"], capture_output=True, text=True
        ).stdout
        assert "Wavedeck-Reviewed-By: " in message
        assert "1 of 5 agents approved; 1 change request, 1 answered; 1 comment" in message
        assert "- w1-a1: changes requested in follow-up 1 (2 comments), answered" in message
        assert "reviewer agent (claude) on w1-a1: 2 findings (1 forwarded, 0 dismissed)" in message
    finally:
        kill_agents(repo)
