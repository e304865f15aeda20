"""An issue is done only when something shows it (#19): real git, real agent processes.

An agent that exits 0 without reporting every issue ends incomplete (needs you, naming them);
marking it done records the operator's reason; a file the operator reverts makes its owner's
issues reverted, never fixed; the checkpoint says each issue's evidence in its message and its
trailers, and lists as done only the issues something shows done.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.e2e.headless_kit import env, wavedeck_argv
from tests.sandboxkit import git
from tests.unit.wave.enginekit import collecting, kill_agents, wait_agents
from tests.unit.wave.scriptkit import FILES, PLAN, script_repo, supervisor
from wavedeck.agents.events import AgentStateChanged, GateRefused, PathReverted
from wavedeck.agents.kinds import IssuesUnreported

FIXED = {
    "src/api/server.py": 'def handle(err):\n    return {"error": "internal error"}\n',
    "src/web/page.py": "import html\n\n\ndef page(name):\n    return html.escape(name)\n",
}


def _trailers(repo: Path) -> list[tuple[str, str]]:
    text = git(repo, "log", "-1", "--format=%B")
    parsed = git(repo, "interpret-trailers", "--parse", input_text=text + "\n")
    return [tuple(line.split(": ", 1)) for line in parsed.splitlines()]  # type: ignore[misc]


async def test_an_agent_exiting_0_without_its_done_line_is_incomplete_until_marked_done(
    tmp_path: Path,
) -> None:
    repo = script_repo(
        tmp_path / "repo",
        {
            # w1-a1 fixes its file and exits 0, saying nothing about its issue
            "w1-a1": ["--write", FILES["w1-a1"], FIXED[FILES["w1-a1"]], "--say", "All good."],
            "w1-a2": ["--write", FILES["w1-a2"], FIXED[FILES["w1-a2"]], "--say",
                      "wavedeck: done web-1 escaped"],
        },
    )  # fmt: skip
    sup = supervisor(repo)
    try:
        async with collecting(sup, stop_agents=True) as col:
            await sup.start_wave(1)
            await wait_agents(sup, 1)
            assert sup.agent_state("w1-a1") == "needs_you"
            assert sup.agent_state("w1-a2") == "succeeded"
            record = sup.agent_record("w1-a1")
            assert record.needs == IssuesUnreported(("api-1",))
            assert record.reason.startswith("incomplete: ")
            await col.until(
                lambda evs: any(
                    isinstance(e, AgentStateChanged)
                    and e.agent == "w1-a1"
                    and isinstance(e.needs, IssuesUnreported)
                    for e in evs
                )
            )
            # it holds the wave like a failure: no tests, no checkpoint
            assert not await sup.run_tests(1)
            await col.until(lambda evs: any(isinstance(e, GateRefused) for e in evs))
            (refused,) = [e for e in col.events if isinstance(e, GateRefused)]
            assert refused.code == "agents-unfinished"

            await sup.mark_done("w1-a1", "checked the handler by hand")
            assert await sup.run_tests(1)
            assert await sup.checkpoint(1) is not None
    finally:
        kill_agents(repo)
    message = git(repo, "log", "-1", "--format=%B")
    assert "(not reported; marked done by the operator: checked the handler by hand)" in message
    assert "web-1: escaped (reported by w1-a2)" in message
    trailers = _trailers(repo)
    issue = [v for k, v in trailers if k == "Wavedeck-Issue"]
    assert issue == [
        "api-1 marked-done (w1-a1: checked the handler by hand)",
        "web-1 reported (w1-a2: escaped)",
    ]
    assert dict(trailers)["Wavedeck-Issues"] == "api-1, web-1"


async def test_a_file_the_operator_reverts_makes_its_issue_reverted_not_fixed(
    tmp_path: Path,
) -> None:
    repo = script_repo(
        tmp_path / "repo",
        {
            "w1-a1": ["--write", FILES["w1-a1"], FIXED[FILES["w1-a1"]], "--say",
                      "wavedeck: done api-1 fixed"],
            "w1-a2": ["--write", FILES["w1-a2"], FIXED[FILES["w1-a2"]], "--say",
                      "wavedeck: done web-1 fixed"],
        },
    )  # fmt: skip
    sup = supervisor(repo)
    page = FILES["w1-a2"]
    try:
        async with collecting(sup, stop_agents=True) as col:
            await sup.start_wave(1)
            await wait_agents(sup, 1)
            assert sup.agent_state("w1-a2") == "succeeded"
            await sup.revert_path(1, page)  # the diff review's x
            await col.until(lambda evs: any(isinstance(e, PathReverted) for e in evs))
            (reverted,) = [e for e in col.events if isinstance(e, PathReverted)]
            assert reverted == PathReverted(1, page, ("w1-a2",))
            preview = await sup.checkpoint_preview(1)
            assert preview.issues_done == ("api-1",)
            assert await sup.run_tests(1)
            sha = await sup.checkpoint(1)
            assert sha is not None
    finally:
        kill_agents(repo)
    message = git(repo, "log", "-1", "--format=%B")
    (line,) = [ln for ln in message.splitlines() if ln.startswith("- ") and " web-1: " in ln]
    assert line.endswith(f"(reverted by the operator: {page})")
    assert "fixed" not in line
    trailers = _trailers(repo)
    assert dict(trailers)["Wavedeck-Issues"] == "api-1"
    assert f"web-1 reverted ({page})" in [v for k, v in trailers if k == "Wavedeck-Issue"]
    assert git(repo, "show", f"HEAD:{page}") == git(repo, "show", f"HEAD~1:{page}")


async def test_a_review_reverting_hunks_records_them_and_a_new_run_clears_them(
    tmp_path: Path,
) -> None:
    """``Supervisor.record_revert``: what a review screen that puts hunks back itself calls."""
    repo = script_repo(
        tmp_path / "repo",
        {
            "w1-a1": ["--write", FILES["w1-a1"], FIXED[FILES["w1-a1"]], "--say",
                      "wavedeck: done api-1 fixed"],
            "w1-a2": ["--append", FILES["w1-a2"], "# more\n", "--say",
                      "wavedeck: done web-1 fixed"],
        },
    )  # fmt: skip
    sup = supervisor(repo)
    page = FILES["w1-a2"]
    try:
        async with collecting(sup, stop_agents=True):
            await sup.start_wave(1)
            await wait_agents(sup, 1)
            sup.record_revert(1, page, partial=True)
            preview = await sup.checkpoint_preview(1)
            assert preview.issues_done == ("api-1",)
            assert f"(reverted by the operator: part of {page})" in preview.message
            record = sup.wave_record(1)
            assert record is not None and record.reverted[page].partial
            # another run of the owner: what it reports now is the evidence
            await sup.restart_agent("w1-a2")
            await wait_agents(sup, 1)
            preview = await sup.checkpoint_preview(1)
            assert preview.issues_done == ("api-1", "web-1")
            assert "web-1: fixed (reported by w1-a2)" in preview.message
    finally:
        kill_agents(repo)


def _audit(repo: Path, rev: str) -> tuple[int, list[dict[str, object]]]:
    args = ("audit", str(repo / PLAN), "--repo", str(repo), "--wave", "1", rev, "--json")
    done = subprocess.run(
        wavedeck_argv(*args),
        capture_output=True,
        text=True,
        timeout=60,
        env=env(),
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)["findings"]


async def test_audit_reads_what_the_checkpoint_accepted(tmp_path: Path) -> None:
    """A path the operator accepted in a checkpoint (its ``Wavedeck-Accepted`` trailer) is
    ``audit-accepted`` when that commit is audited, not ``audit-unowned``."""
    repo = script_repo(
        tmp_path / "repo",
        {
            "w1-a1": ["--write", FILES["w1-a1"], FIXED[FILES["w1-a1"]], "--write", "NOTES.txt",
                      "notes\n", "--say", "wavedeck: done api-1 fixed"],
            "w1-a2": ["--say", "wavedeck: done web-1 already safe"],
        },
    )  # fmt: skip
    sup = supervisor(repo)
    try:
        async with collecting(sup, stop_agents=True):
            await sup.start_wave(1)
            await wait_agents(sup, 1)
            await sup.accept_violation(1, "NOTES.txt", "meeting notes, kept")
            assert await sup.run_tests(1)
            assert await sup.checkpoint(1) is not None
    finally:
        kill_agents(repo)
    accepted = [v for k, v in _trailers(repo) if k == "Wavedeck-Accepted"]
    assert accepted == ["NOTES.txt (meeting notes, kept; writer unknown)"]
    code, findings = _audit(repo, "HEAD")
    assert code == 0
    (finding,) = [f for f in findings if f["path"] == "NOTES.txt"]
    assert finding["code"] == "audit-accepted" and "meeting notes, kept" in str(finding["message"])
    # The same change committed by hand, with no checkpoint's word: unowned
    git(repo, "revert", "--no-edit", "HEAD")
    (repo / "NOTES.txt").write_text("notes\n", "utf-8")
    git(repo, "add", "NOTES.txt")
    git(repo, "commit", "-qm", "notes by hand")
    code, findings = _audit(repo, "HEAD")
    assert code == 1
    assert [f["code"] for f in findings if f["path"] == "NOTES.txt"] == ["audit-unowned"]
