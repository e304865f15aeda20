"""The test runner (sh -c, streaming, timeout kills the group) and the pure gate functions."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.eventkit import until
from wavedeck.agents.kinds import AgentStanding, Refusal
from wavedeck.agents.lines import MAX_LINE_BYTES, SPLIT_MARK
from wavedeck.agents.wave import gates
from wavedeck.agents.wave.gates import WaveView
from wavedeck.agents.wave.testrun import TIMEOUT_EXIT, run_tests
from wavedeck.plan.reading.loader import load_plan

PLAN = Path(__file__).resolve().parents[3] / "agents" / "data" / "security-waves.md"


async def test_commands_run_in_order_from_the_repo_root(tmp_path: Path) -> None:
    (tmp_path / "marker.txt").write_text("here\n", "utf-8")
    lines: list[str] = []
    result = await run_tests(
        ["cat marker.txt", "printf 'a\\nb'; exit 0"], tmp_path, 30, lines.append
    )
    assert result.passed
    assert lines == ["$ cat marker.txt", "here", "$ printf 'a\\nb'; exit 0", "a", "b"]
    assert result.results == (("cat marker.txt", 0), ("printf 'a\\nb'; exit 0", 0))


async def test_a_failure_fails_the_run_but_every_command_runs(tmp_path: Path) -> None:
    lines: list[str] = []
    result = await run_tests(["exit 4", "echo after"], tmp_path, 30, lines.append)
    assert not result.passed
    assert result.results == (("exit 4", 4), ("echo after", 0))
    assert "after" in lines


async def test_no_commands_is_not_a_pass(tmp_path: Path) -> None:
    assert not (await run_tests([], tmp_path, 30, lambda _l: None)).passed


@pytest.mark.slow
async def test_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "bg.pid"
    start = time.monotonic()
    lines: list[str] = []
    result = await run_tests(
        [f"sleep 60 & echo $! > {pidfile}; echo started; wait"], tmp_path, 1.0, lines.append
    )
    assert time.monotonic() - start < 10
    assert not result.passed and result.results[0][1] == TIMEOUT_EXIT
    assert "started" in lines and any("timed out" in line for line in lines)
    pid = int(pidfile.read_text().strip())

    def gone() -> bool:  # exited (a zombie until its parent reaps it, or reaped)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        return stat[stat.rfind(")") + 2] == "Z"

    await until(gone, 5, "the background child of a timed-out test command to be killed")


async def test_bad_bytes_and_huge_lines_do_not_break_streaming(tmp_path: Path) -> None:
    lines: list[str] = []
    cmd = "printf 'ok\\377\\n'; head -c 200000 /dev/zero | tr '\\0' x; echo"
    result = await run_tests([cmd], tmp_path, 30, lines.append)
    assert result.passed
    assert lines[1] == "ok\ufffd"
    assert "".join(line.removesuffix(SPLIT_MARK) for line in lines[2:]) == "x" * 200000
    assert all(len(line) <= MAX_LINE_BYTES + len(SPLIT_MARK) for line in lines)


async def test_test_output_follows_the_one_line_rule(tmp_path: Path) -> None:
    """The same rule as an agent's pane: \\r progress keeps its last state, a last line without
    its newline is still shown (``wavedeck.agents.lines``)."""
    lines: list[str] = []
    cmd = "printf '10%%\\r50%%\\r100%%\\r\\ndone'"
    result = await run_tests([cmd], tmp_path, 30, lines.append)
    assert result.passed
    assert lines == [f"$ {cmd}", "100%", "done"]


@pytest.fixture(scope="module")
def plan():  # type: ignore[no-untyped-def]
    return load_plan(PLAN).plan


def _ok(view_states: dict[str, str]) -> dict[str, str]:
    return view_states


def _code(refusal: Refusal | None) -> str | None:
    return refusal.code if refusal is not None else None


def test_start_gates_follow_the_previous_wave(plan) -> None:  # type: ignore[no-untyped-def]
    ids1 = [a.id for a in plan.wave(1).agents]
    views: dict[int, WaveView] = {}
    assert gates.can_start_wave(plan, views, 1) is None
    assert gates.can_start_wave(plan, views, 3) == Refusal("previous-not-run", 3, other=2)
    assert gates.can_start_wave(plan, views, 9) == Refusal("no-such-wave", 9)
    states = dict.fromkeys(ids1, "succeeded") | {ids1[2]: "failed"}
    views[1] = WaveView(1, started=True, agent_states=states)
    refused = gates.can_start_wave(plan, views, 2)
    assert refused is not None and refused.code == "previous-unfinished" and refused.other == 1
    assert refused.agents == (AgentStanding(ids1[2], "failed"),)
    assert _code(gates.can_start_wave(plan, views, 1)) == "wave-started"
    views[1] = WaveView(1, True, agent_states=states, marked_done={ids1[2]: "done by hand"})
    assert _code(gates.can_start_wave(plan, views, 2)) == "previous-untested"
    views[1] = WaveView(1, True, tests_passed=True, agent_states=states, marked_done={ids1[2]: "x"})
    assert _code(gates.can_start_wave(plan, views, 2)) == "previous-uncommitted"
    assert gates.wave_state(plan, views, 1) == "tested"
    assert gates.wave_state(plan, views, 2) == "locked"
    views[1] = WaveView(1, True, committed=True, tests_passed=True, agent_states=states)
    assert gates.can_start_wave(plan, views, 2) is None
    assert gates.wave_state(plan, views, 2) == "ready"


def test_test_and_commit_gates(plan) -> None:  # type: ignore[no-untyped-def]
    ids = [a.id for a in plan.wave(1).agents]
    running = WaveView(1, True, agent_states=dict.fromkeys(ids, "running"))
    assert _code(gates.can_run_tests(plan, {1: running}, 1, ["true"])) == "agents-unfinished"
    done = WaveView(1, True, agent_states=dict.fromkeys(ids, "succeeded"))
    assert gates.can_run_tests(plan, {1: done}, 1, ["true"]) is None
    assert _code(gates.can_run_tests(plan, {1: done}, 1, [])) == "no-test-commands"
    assert _code(gates.can_commit(plan, {1: done}, 1)) == "tests-not-run"
    failed = WaveView(1, True, tests_passed=False, agent_states=dict.fromkeys(ids, "succeeded"))
    assert _code(gates.can_commit(plan, {1: failed}, 1)) == "tests-failed"
    testing = WaveView(1, True, testing=True, agent_states=dict.fromkeys(ids, "succeeded"))
    assert _code(gates.can_commit(plan, {1: testing}, 1)) == "tests-running"
    assert gates.wave_state(plan, {1: testing}, 1) == "testing"


def test_classify_changes_stages_owned_and_accepted_and_lists_the_rest(plan) -> None:  # type: ignore[no-untyped-def]
    changed = [
        "packages/headless-client/zajel/client.py",  # w1-a1 owns it
        "packages/website/app/root.tsx",  # w1-a5
        "packages/headless-client/zajel/cli/daemon.py",  # nobody in wave 1
        "packages/website/app/routes/home.tsx",  # declared only in waves 2 and 3
        "package-lock.json",  # accepted by a policy glob
        "README.md",  # accepted by the operator
    ]
    staged, why, stray = gates.classify_changes(
        plan,
        1,
        changed,
        accepted={"README.md": "docs for the fix"},
        accept_globs=["package-lock.json"],
        accept_undeclared=False,
    )
    assert staged["w1-a1"] == ("packages/headless-client/zajel/client.py",)
    assert staged["w1-a5"] == ("packages/website/app/root.tsx",)
    assert why["README.md"] == "docs for the fix"
    assert "policy" in why["package-lock.json"]
    assert {s.path: s.kind for s in stray} == {
        "packages/headless-client/zajel/cli/daemon.py": "unowned",
        "packages/website/app/routes/home.tsx": "other-wave",
    }
