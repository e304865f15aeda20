"""End to end: `wavedeck demo` + `wavedeck run --headless` on the reference plan, real processes.

The gate stops wave 1 at its checkpoint on the demo's stray file; accepting it runs all three
waves (94 issues, three checkpoint commits); a SIGKILLed control room leaves its agents running and
the next one adopts them without a second launch or a gap or repeat in the logs (B10); signals
persist the state and leave agents running (B9); a second control room is refused (B12); a
failing agent is failed, not restarted (B1).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.headless_kit import (
    alive_handles,
    env,
    events,
    file_events,
    git_log,
    kill_agents,
    make_demo,
    run,
    set_extra_args,
    start,
    state,
    wait_for,
    wait_running,
    wavedeck_argv,
)
from tests.sandboxkit import configure
from wavedeck.agents.tools.demo import STRAY_PATH

pytestmark = pytest.mark.slow  # end-to-end runs of the wavedeck command

WAVE_ISSUES = {1: 29, 2: 38, 3: 27}
RUN_ALL = ("run", "--headless", "--all", "--yes", "--json")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "sandbox"
    yield folder
    kill_agents(folder)


@pytest.mark.timeout(180)
def test_gate_stops_on_stray_then_accepting_runs_every_wave(sandbox: Path) -> None:
    make_demo(sandbox)
    first = run(sandbox, *RUN_ALL)
    assert first.returncode == 1, first.stderr
    evs = events(first.stdout)
    refused = [e for e in evs if e["event"] == "gate_refused"]
    assert len(refused) == 1 and refused[0]["wave"] == 1
    assert refused[0]["paths"] == [STRAY_PATH] and refused[0]["code"] == "stray-paths"
    assert STRAY_PATH in refused[0]["reason"]  # the words, for whoever reads the JSON
    assert any(e["event"] == "violation_found" and e["path"] == STRAY_PATH for e in evs)
    assert not any(e["event"] == "checkpoint_committed" for e in evs)
    assert not any(str(e.get("agent")).startswith("w2-") for e in evs)
    assert len(git_log(sandbox)) == 1  # nothing committed
    assert [e["passed"] for e in evs if e["event"] == "tests_finished"] == [True]

    # The operator edits an owned file after the tests passed: they must run again.
    client = sandbox / "packages/headless-client/zajel/client.py"
    client.write_text(client.read_text("utf-8") + "# reviewed by the operator\n", "utf-8")

    second = run(sandbox, *RUN_ALL, "--accept-violations", timeout=150)
    assert second.returncode == 0, second.stderr + second.stdout[-2000:]
    evs2 = events(second.stdout)
    commits = [e for e in evs2 if e["event"] == "checkpoint_committed"]
    assert [c["wave"] for c in commits] == [1, 2, 3]
    log = git_log(sandbox)
    assert len(log) == 4
    for commit in commits:
        message = next(m for m in log if m.startswith(commit["commit"]))
        assert len(commit["issues"]) == WAVE_ISSUES[commit["wave"]]
        for issue in commit["issues"]:
            assert issue in message
    wave1 = next(m for m in log if m.startswith(commits[0]["commit"]))
    assert STRAY_PATH in wave1  # the accepted stray path is named in the trailers
    # Tests ran between the waves: every checkpoint follows a passing test run of its wave.
    order = [
        (e["event"], e.get("wave"))
        for e in evs2
        if e["event"] in ("tests_finished", "checkpoint_committed", "wave_state_changed")
        and (e["event"] != "wave_state_changed" or e["state"] == "running")
    ]
    assert order.index(("tests_finished", 1)) < order.index(("checkpoint_committed", 1))
    assert order.index(("tests_finished", 2)) < order.index(("checkpoint_committed", 2))
    assert order.index(("checkpoint_committed", 2)) < order.index(("wave_state_changed", 3))
    done = [e["issue"] for e in events(first.stdout) + evs2 if e["event"] == "issue_done"]
    assert len(done) == 94 and len(set(done)) == 94
    status = run(sandbox, "status", "--json")
    assert status.returncode == 0
    assert json.loads(status.stdout)["issues_done"] == 94
    readable = run(sandbox, "status")
    assert "issues done: 94" in readable.stdout
    assert "wave 3: committed" in readable.stdout


@pytest.mark.timeout(180)
@pytest.mark.parametrize("flood", [0, 60_000], ids=["steady", "flooding"])
def test_sigkill_then_rerun_adopts_agents_and_resumes_logs_exactly(
    sandbox: Path, flood: int
) -> None:
    make_demo(sandbox, speed="0.4")
    # One agent is slow enough to outlive a second control room's start on a loaded machine
    # (the rest may end before it: the test then checks their ends were recorded, not relaunched).
    extra = {"w1-a1": ["--speed", "3"]}
    if flood:  # one agent writes fast: the kill lands in the middle of big batches
        extra["w1-a4"] = ["--flood", str(flood)]
    configure(sandbox, extra=extra, keep_extra=not flood)
    out1 = sandbox.parent / "run1.jsonl"
    proc = start(sandbox, out1, "run", "--headless", "--wave", "1", "--yes", "--json")
    try:
        wait_for(
            lambda: sum(e["event"] == "agent_output" for e in file_events(out1)) >= 12,
            60,
            "agent output from the first control room",
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    running = alive_handles(sandbox)
    assert len(running) == 5, f"agents should outlive the control room: {running}"

    second = run(
        sandbox,
        "run",
        "--headless",
        "--wave",
        "1",
        "--yes",
        "--json",
        "--accept-violations",
        timeout=150,
    )
    assert second.returncode == 0, second.stderr
    before = file_events(out1)
    after = events(second.stdout)
    adopted = {
        e["agent"]
        for e in after
        if e["event"] == "agent_state_changed" and e["reason"] == "adopted"
    }
    assert adopted and adopted <= set(running)
    # On a loaded machine an agent may end between the kill and the second run: then it is not
    # adopted, but its end was recorded by its wrapper, never by a second launch.
    for agent in set(running) - adopted:
        assert (sandbox / ".wavedeck" / "run" / f"{agent}.exit").exists(), agent
    for agent in sorted(running):
        log = (sandbox / ".wavedeck" / "logs" / f"{agent}.log").read_text("utf-8").splitlines()
        started = [line for line in log if line.startswith(f"sim-agent {agent} started")]
        assert len(started) == 1, f"{agent} launched more than once"
        shown = [
            e["line"]
            for e in before + after
            if e["event"] == "agent_output" and e["agent"] == agent
        ]
        assert shown == log, f"{agent}: the two runs' output is not the log exactly once"
        assert state(sandbox)["agents"][agent]["launches"] == 1
    assert any(e["event"] == "checkpoint_committed" and e["wave"] == 1 for e in after)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)]
)
def test_signal_persists_state_and_leaves_agents_running(
    sandbox: Path, signum: signal.Signals, code: int
) -> None:
    make_demo(sandbox, speed="2")
    out = sandbox.parent / "run.jsonl"
    proc = start(sandbox, out, *RUN_ALL)
    try:
        wait_running(out)
        proc.send_signal(signum)
        assert proc.wait(30) == code
    finally:
        if proc.poll() is None:
            proc.kill()
    saved = state(sandbox)
    wave1 = {a: r for a, r in saved["agents"].items() if a.startswith("w1-")}
    assert len(wave1) == 5
    assert all(r["state"] == "running" and r["launches"] == 1 for r in wave1.values())
    assert set(alive_handles(sandbox)) == set(wave1)
    err = out.with_suffix(".err").read_text("utf-8")
    assert "Traceback" not in err
    assert signal.Signals(signum).name in err


@pytest.mark.timeout(120)
def test_second_control_room_is_refused(sandbox: Path) -> None:
    make_demo(sandbox, speed="2")
    out = sandbox.parent / "run.jsonl"
    proc = start(sandbox, out, *RUN_ALL)
    try:
        wait_for(
            lambda: any(e["event"] == "agent_state_changed" for e in file_events(out)),
            60,
            "the first control room to start agents",
        )
        second = run(sandbox, *RUN_ALL, timeout=30)
        assert second.returncode == 2
        assert "already running" in second.stderr
        assert "Traceback" not in second.stderr
        assert proc.poll() is None  # the first one is unaffected
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


@pytest.mark.timeout(120)
def test_failing_agent_is_failed_not_restarted_and_blocks_the_wave(sandbox: Path) -> None:
    make_demo(sandbox)
    set_extra_args(sandbox, "w1-a3", ["--fail", "3"])
    done = run(sandbox, *RUN_ALL)
    assert done.returncode == 1
    evs = events(done.stdout)
    failed = [e for e in evs if e["event"] == "agent_state_changed" and e["state"] == "failed"]
    assert [e["agent"] for e in failed] == ["w1-a3"]
    assert failed[0]["exit_code"] == 3
    assert "exit code 3" in failed[0]["reason"]
    assert "failing with exit code 3" in failed[0]["reason"]  # its last lines are quoted
    refused = [e for e in evs if e["event"] == "gate_refused"]
    assert refused and refused[0]["code"] == "agents-unfinished"
    assert refused[0]["agents"] == [{"agent": "w1-a3", "state": "failed"}]
    assert not any(e["event"] == "tests_started" for e in evs)
    assert state(sandbox)["agents"]["w1-a3"]["launches"] == 1
    log = (sandbox / ".wavedeck" / "logs" / "w1-a3.log").read_text("utf-8")
    assert log.count("sim-agent w1-a3 started") == 1


@pytest.mark.timeout(60)
def test_bad_input_gives_a_clear_error_and_exit_2(sandbox: Path, tmp_path: Path) -> None:
    make_demo(sandbox)
    config = sandbox / "wavedeck.toml"
    good = config.read_text("utf-8")
    config.write_text('[agent]\nstop_grace_s = "soon"\n', "utf-8")
    bad_config = run(sandbox, *RUN_ALL)
    assert bad_config.returncode == 2
    assert "agent.stop_grace_s" in bad_config.stderr and "Traceback" not in bad_config.stderr
    config.write_text(good, "utf-8")

    missing = run(sandbox, "run", "nope.md", "--headless", "--yes")
    assert missing.returncode == 2 and "no such file" in missing.stderr

    nonempty = tmp_path / "full"
    nonempty.mkdir()
    (nonempty / "x").write_text("x", "utf-8")
    refused = run(tmp_path, "demo", "--dir", str(nonempty), "--no-ui")
    assert refused.returncode == 2 and "not empty" in refused.stderr

    no_tty = run(sandbox, "run", "plans/security-waves.md", "--headless")
    assert no_tty.returncode == 2 and "--yes" in no_tty.stderr
    assert not os.path.exists(sandbox / ".wavedeck" / "state.json")  # nothing was started


@pytest.mark.timeout(60)
def test_demo_without_dir_uses_a_fresh_temporary_folder(tmp_path: Path) -> None:
    import shutil

    done = run(tmp_path, "demo", "--no-ui", "--fast")
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip())
    try:
        assert folder.is_dir() and folder != tmp_path
        assert (folder / ".git").is_dir() and (folder / "wavedeck.toml").is_file()
        status = run(folder, "status")
        assert status.returncode == 2 and "no run recorded" in status.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.timeout(120)
def test_readable_output_names_progress_violations_and_the_refusal(sandbox: Path) -> None:
    make_demo(sandbox)
    done = run(sandbox, "run", "--headless", "--wave", "1", "--yes")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert "w1-a2: done headless-01: fixed" in lines
    assert "w1-a1: succeeded" in lines
    assert any(line.startswith(f"VIOLATION unowned: {STRAY_PATH}") for line in lines)
    assert "wave 1: tests passed" in "\n".join(lines)
    refused = lines.index(next(line for line in lines if line.startswith("wave 1: REFUSED:")))
    assert lines[refused + 1] == f"  {STRAY_PATH}"
    assert "tests between waves (run with sh -c)" in done.stderr  # shown before running
    # Without --wave or --all, each run takes the current wave: first the open wave 1, then 2.
    again = run(sandbox, "run", "--headless", "--yes", "--json", "--accept-violations")
    assert again.returncode == 0, again.stderr
    assert [e["wave"] for e in events(again.stdout) if e["event"] == "checkpoint_committed"] == [1]
    assert "wave(s) 1 " in again.stderr
    following = run(sandbox, "run", "--headless", "--yes", "--json")
    assert following.returncode == 0, following.stderr
    assert [
        e["wave"] for e in events(following.stdout) if e["event"] == "checkpoint_committed"
    ] == [2]


@pytest.mark.timeout(120)
def test_plan_errors_and_a_missing_agent_program(sandbox: Path) -> None:
    make_demo(sandbox)
    plan = sandbox / "plans" / "security-waves.md"
    good = plan.read_text("utf-8")
    # Give w1-a2 a file w1-a1 owns: the plan's core invariant breaks.
    plan.write_text(good.replace("`daemon.py`, `protocol.py`", "`client.py`, `protocol.py`", 1))
    broken = run(sandbox, *RUN_ALL)
    assert broken.returncode == 2
    assert "error[overlap]" in broken.stderr and "Traceback" not in broken.stderr
    plan.write_text(good, "utf-8")

    config = sandbox / "wavedeck.toml"
    text = config.read_text("utf-8")
    start = text.index("command = [")
    end = text.index("\n", start)
    config.write_text(text[:start] + 'command = ["no-such-agent-program-x1"]' + text[end:])
    done = run(sandbox, "run", "--headless", "--wave", "1", "--yes", "--json")
    assert done.returncode == 1
    failed = [
        e
        for e in events(done.stdout)
        if e["event"] == "agent_state_changed" and e["state"] == "failed"
    ]
    assert len(failed) == 5 and all("exit code 127" in e["reason"] for e in failed)
    log = (sandbox / ".wavedeck" / "logs" / "w1-a1.log").read_text("utf-8")
    assert "no-such-agent-program-x1" in log


@pytest.mark.timeout(120)
def test_signal_with_stop_agents_on_signal_stops_them(sandbox: Path) -> None:
    make_demo(sandbox, speed="2")
    out = sandbox.parent / "run.jsonl"
    proc = start(sandbox, out, *RUN_ALL, "--stop-agents-on-signal")
    try:
        wait_running(out)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 143
    finally:
        if proc.poll() is None:
            proc.kill()
    assert alive_handles(sandbox) == {}
    saved = state(sandbox)["agents"]
    assert {a: r["state"] for a, r in saved.items()} == {f"w1-a{i}": "stopped" for i in range(1, 6)}
    stopped = [
        e["agent"]
        for e in file_events(out)
        if e["event"] == "agent_state_changed" and e["state"] == "stopped"
    ]
    assert sorted(stopped) == [f"w1-a{i}" for i in range(1, 6)]


def test_events_that_cannot_be_written_stop_the_run_naming_standard_output(
    sandbox: Path,
) -> None:
    """Issue #20: stdout redirected to a full disk (/dev/full) is exit 2 naming standard output,
    never a traceback; the agents keep running for the next run to adopt."""
    make_demo(sandbox, speed="0.3")
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            wavedeck_argv("run", "--headless", "--wave", "1", "--yes", "--json"),
            cwd=sandbox,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=90,
            env=env(),
            check=False,
        )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "cannot write the run's events to standard output: No space left" in done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert state(sandbox)["waves"]["1"].get("checkpoint") is None  # it stopped, unseen


def _piped_to_head(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``wavedeck ARGS | head -3`` through a real shell pipe: wavedeck's stdout is closed
    after three lines; ``PIPESTATUS`` gives wavedeck's own exit code on the last line."""
    argv = " ".join(shlex.quote(a) for a in wavedeck_argv(*args))
    script = f'{argv} | head -3; echo "rc=${{PIPESTATUS[0]}}"'
    return subprocess.run(
        ["bash", "-c", script],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=150,
        env=env(),
        check=False,
    )


@pytest.mark.timeout(180)
def test_a_closed_stdout_ends_quietly_and_a_refusal_still_reaches_stderr(sandbox: Path) -> None:
    """#19: ``--json | head -3`` once made a run that committed every wave exit 1 without a
    word. The pipe closing ends the printing, not the run: its exit code is the run's, no
    traceback, and a gate refusal's reason is on stderr (the JSON with it went nowhere)."""
    make_demo(sandbox)
    refused = _piped_to_head(sandbox, *RUN_ALL)
    assert refused.stdout.splitlines()[-1] == "rc=1", refused.stderr
    assert len(refused.stdout.splitlines()) == 4  # head's three lines and the exit code
    assert "Traceback" not in refused.stderr and "BrokenPipe" not in refused.stderr
    assert "wave 1: REFUSED: " in refused.stderr and STRAY_PATH in refused.stderr
    assert len(git_log(sandbox)) == 1  # nothing committed

    done = _piped_to_head(sandbox, *RUN_ALL, "--accept-violations")
    assert done.stdout.splitlines()[-1] == "rc=0", done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
    assert "plan complete: all 3 waves committed" in done.stderr
    assert len(git_log(sandbox)) == 4  # every wave committed, as the exit code says
