"""B1's opt-in restart policy (``[agent.restart]``) on a real demo sandbox: real git, real
simulated agents that fail (``--fail N``, ``--exit-signal``), real logs.

The backoff is checked on an injected clock whose ``sleep`` advances it at once (the spacing is
asserted on the clock, not waited for). Cancelling a waiting restart: ``test_restart_cancel.py``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from tests.unit.wave.enginekit import (
    Collector,
    collecting,
    sandbox,
    supervisor,
    wait_agents,
)
from wavedeck.agents.config import RestartConfig
from wavedeck.agents.configread import ConfigError, load_config
from wavedeck.agents.events import AgentOutput, AgentStateChanged, Notice
from wavedeck.agents.kinds import AgentStanding
from wavedeck.agents.wave.restart import backoff_delay, decide
from wavedeck.agents.wave.supervisor import Supervisor

pytestmark = pytest.mark.timeout(60)

FAILING = "w1-a3"
STARTED = f"sim-agent {FAILING} started"


class FakeClock:
    """Monotonic time plus what the policy slept: a sleep returns at once and moves time on."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return time.monotonic() + self.offset

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += seconds
        await asyncio.sleep(0)


def _supervisor(
    root: Path, extra: dict[str, list[str]], restart: RestartConfig, clock: FakeClock | None
) -> Supervisor:
    sandbox(root, extra=extra)
    config = load_config(root)
    config.agent.restart = restart
    sup = supervisor(root, config)
    if clock is not None:
        sup.restarts.clock, sup.restarts.sleep = clock.now, clock.sleep
    return sup


def _states(col: Collector, agent: str) -> list[AgentStateChanged]:
    return [e for e in col.events if isinstance(e, AgentStateChanged) and e.agent == agent]


def _shown(col: Collector, agent: str) -> list[str]:
    return [e.line for e in col.events if isinstance(e, AgentOutput) and e.agent == agent]


def _log(root: Path, agent: str) -> str:
    return (root / ".wavedeck" / "logs" / f"{agent}.log").read_text("utf-8")


# -- the arithmetic and the decision (pure) ---------------------------------------------------


def test_backoff_doubles_from_initial_and_is_capped() -> None:
    cfg = RestartConfig(enabled=True, backoff_initial_s=1.0, backoff_max_s=30.0)
    assert [backoff_delay(cfg, n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff_delay(cfg, 10_000) == 30.0  # no overflow however long the series
    assert backoff_delay(RestartConfig(backoff_initial_s=0.0), 5) == 0.0


def test_decision_counts_fast_failures_and_a_long_run_resets() -> None:
    cfg = RestartConfig(enabled=True, max_restarts=3, min_run_s=10.0)
    first = decide(cfg, 0, 2.0)
    assert (first.restart, first.attempt, first.delay_s) == (True, 1, 1.0)
    assert first.note == "restart 1 of 3 in 1 s"
    third = decide(cfg, 2, 2.0)
    assert (third.restart, third.attempt, third.delay_s) == (True, 3, 4.0)
    fatal = decide(cfg, 3, 9.99)
    assert not fatal.restart and fatal.note == "gave up after 3 restarts (each run under 10 s)"
    reset = decide(cfg, 3, 10.0)  # the run lasted min_run_s: a new series, from the first delay
    assert (reset.restart, reset.attempt, reset.delay_s) == (True, 1, 1.0)
    capped = decide(RestartConfig(enabled=True, max_total_restarts=10), 0, 60.0, total=10)
    assert not capped.restart
    assert capped.note == "gave up after 10 restarts in all (agent.restart.max_total_restarts)"
    assert decide(RestartConfig(enabled=True), 0, 60.0, total=9).restart
    never = decide(RestartConfig(enabled=True, max_restarts=0), 0, 0.0)
    assert not never.restart and "max_restarts = 0" in never.note


# -- configuration ----------------------------------------------------------------------------


def test_restart_is_off_by_default_with_documented_values(tmp_path: Path) -> None:
    default = load_config(tmp_path).agent.restart
    assert not default.enabled
    assert (default.max_restarts, default.min_run_s) == (3, 10.0)
    assert (default.backoff_initial_s, default.backoff_max_s) == (1.0, 30.0)
    assert default.max_total_restarts == 10


def test_restart_from_the_table_keeps_the_other_defaults(tmp_path: Path) -> None:
    (tmp_path / "wavedeck.toml").write_text(
        "[agent.restart]\nenabled = true\nmax_restarts = 5\n", "utf-8"
    )
    table = load_config(tmp_path).agent.restart
    assert table.enabled and table.max_restarts == 5 and table.backoff_max_s == 30.0


def test_restart_switched_on_by_a_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAVEDECK_AGENT__RESTART__ENABLED", "true")
    assert load_config(tmp_path).agent.restart.enabled


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        (
            "backoff_initial_s = 5\nbackoff_max_s = 2",
            "agent.restart.backoff_max_s",
            "must be at least backoff_initial_s (5), got 2",
        ),
        ("max_restarts = -1", "agent.restart.max_restarts", "greater than or equal to 0"),
        ("min_run_s = -0.5", "agent.restart.min_run_s", "greater than or equal to 0"),
        ("backoff_initial_s = -1", "agent.restart.backoff_initial_s", "greater than or equal"),
        ('enabled = "sometimes"', "agent.restart.enabled", "valid boolean"),
        ("max_total_restarts = -2", "agent.restart.max_total_restarts", "greater than or equal"),
        ("retries = 3", "agent.restart.retries", "unknown key"),
    ],
)
def test_a_bad_restart_setting_is_refused_naming_the_file_and_key(
    tmp_path: Path, body: str, key: str, message: str
) -> None:
    toml = tmp_path / "wavedeck.toml"
    toml.write_text(f"[agent.restart]\n{body}\n", "utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    text = str(info.value)
    assert text.startswith(f"{toml}: ") and key in text and message in text, text


# -- real agents ------------------------------------------------------------------------------


@pytest.mark.slow
async def test_default_a_failing_agent_is_not_restarted(root: Path) -> None:
    sup = _supervisor(root, {FAILING: ["--fail", "3"]}, RestartConfig(), FakeClock())
    async with collecting(sup) as col:
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        await sup.drain()
        rec = sup.agent_record(FAILING)
        assert rec.state == "failed" and rec.launches == 1 and rec.exit_code == 3
        assert rec.reason.startswith("exit code 3; last output:")
        assert not sup.restarts.pending(FAILING) and not sup.restarts.history
        assert [e.state for e in _states(col, FAILING)] == ["running", "failed"]
        assert _log(root, FAILING).count(STARTED) == 1
        assert "wavedeck: restart" not in _log(root, FAILING)


@pytest.mark.slow
async def test_restarts_with_backoff_then_gives_up_and_the_log_keeps_every_run(
    root: Path,
) -> None:
    clock = FakeClock()
    policy = RestartConfig(
        enabled=True, max_restarts=3, min_run_s=1000.0, backoff_initial_s=1.0, backoff_max_s=3.0
    )
    sup = _supervisor(root, {FAILING: ["--fail", "3"]}, policy, clock)
    async with collecting(sup) as col:
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        await sup.drain()

        # Capped exponential backoff, measured on the policy's clock.
        assert clock.sleeps == [1.0, 2.0, 3.0]
        history = list(sup.restarts.history)
        assert [(h.agent, h.attempt, h.delay_s) for h in history] == [
            (FAILING, 1, 1.0),
            (FAILING, 2, 2.0),
            (FAILING, 3, 3.0),
        ]
        for entry in history:
            assert entry.relaunched_at is not None
            spacing = entry.relaunched_at - entry.failed_at
            assert entry.delay_s <= spacing < entry.delay_s + 5.0, (entry, spacing)

        # FATAL: four runs (one launch and three restarts), then it stays failed.
        rec = sup.agent_record(FAILING)
        assert rec.launches == 4 and rec.state == "failed" and rec.exit_code == 3
        assert rec.reason.startswith(
            "gave up after 3 restarts (each run under 1000 s); exit code 3"
        )
        assert not sup.restarts.pending(FAILING)
        states = _states(col, FAILING)
        assert [e.state for e in states] == ["running", "failed"] * 4
        assert [e.reason.split(";")[0] for e in states if e.state == "failed"] == [
            "restart 1 of 3 in 1 s",
            "restart 2 of 3 in 2 s",
            "restart 3 of 3 in 3 s",
            "gave up after 3 restarts (each run under 1000 s)",
        ]
        # The same facts as fields: the pane and the JSON read these, never the reason text.
        failures = [e.restart for e in states if e.state == "failed"]
        assert [(r.kind, r.attempt, r.of, r.delay_s) for r in failures if r] == [
            ("waiting", 1, 3, 1.0),
            ("waiting", 2, 3, 2.0),
            ("waiting", 3, 3, 3.0),
            ("gave-up", 3, 3, 0.0),
        ]
        assert all(
            r is not None and r.note == e.reason.split("; ")[0]
            for r, e in zip(failures, [e for e in states if e.state == "failed"], strict=True)
        )
        assert rec.restart is not None and rec.restart.kind == "gave-up"
        assert [e.restart for e in states if e.state == "running"] == [None] * 4
        notices = [e.message for e in col.events if isinstance(e, Notice) and e.agent == FAILING]
        assert sum("restart " in m and " in " in m for m in notices) == 3
        assert any("gave up after 3 restarts" in m for m in notices)

        # One log holds every run, each restart after its marker line.
        markers = [
            f"── wavedeck: restart {n} of 3 after {d} s (exit 3) ──"
            for n, d in ((1, 1), (2, 2), (3, 3))
        ]
        log = _log(root, FAILING).splitlines()
        assert log.count(f"sim-agent {FAILING} failing with exit code 3") == 4
        starts = [i for i, line in enumerate(log) if line.startswith(STARTED)]
        marks = [log.index(m) for m in markers]
        assert len(starts) == 4 and starts[0] < marks[0] < starts[1] < marks[1] < starts[2]
        assert marks[2] < starts[3]
        # The consumer saw each line once: the restarted runs are not read twice.
        shown = _shown(col, FAILING)
        assert shown == log

        # The wave is over: the failed agent blocks the tests, and nothing else starts.
        assert sup.wave_agents_done(1)
        refused = sup.can_run_tests(1)
        assert refused is not None and refused.code == "agents-unfinished"
        assert AgentStanding(FAILING, "failed") in refused.agents


@pytest.mark.slow
async def test_long_runs_reset_the_count_until_the_total_cap(root: Path) -> None:
    """``min_run_s = 0``: every run counts as long, so the count never reaches max_restarts and
    the backoff never grows; ``max_total_restarts`` ends the series."""
    clock = FakeClock()
    policy = RestartConfig(
        enabled=True,
        max_restarts=1,
        min_run_s=0.0,
        backoff_initial_s=0.5,
        backoff_max_s=8.0,
        max_total_restarts=4,
    )
    sup = _supervisor(root, {FAILING: ["--fail", "4"]}, policy, clock)
    async with collecting(sup) as col:
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        await sup.drain()
        rec = sup.agent_record(FAILING)
        assert rec.launches == 5 and rec.state == "failed"  # 4 restarts > max_restarts (1)
        assert rec.reason.startswith(
            "gave up after 4 restarts in all (agent.restart.max_total_restarts); exit code 4"
        )
        assert [(h.attempt, h.delay_s) for h in sup.restarts.history] == [(1, 0.5)] * 4
        assert clock.sleeps == [0.5] * 4
        log = _log(root, FAILING)
        assert log.count(STARTED) == 5
        assert log.count("── wavedeck: restart 1 of 1 after 0.5 s (exit 4) ──") == 4
        assert _shown(col, FAILING) == log.splitlines()


@pytest.mark.slow
async def test_a_restart_before_the_consumer_caught_up_repeats_no_line(root: Path) -> None:
    """The policy relaunches while the failed run's lines still wait in the queue (nobody
    consumes yet): the consumer later sees every line of both runs, and the marker, once."""
    clock = FakeClock()
    policy = RestartConfig(enabled=True, max_restarts=1, min_run_s=1000.0, backoff_initial_s=0.1)
    sup = _supervisor(root, {FAILING: ["--fail", "3"]}, policy, clock)
    await sup.open()
    col: Collector | None = None
    try:
        await sup.start_wave(1)  # nobody consumes yet: the consumer's offset does not advance

        async def relaunched() -> None:
            while sup.agent_record(FAILING).launches < 2:
                await asyncio.wait_for(sup.wait_changed(), 30)

        await asyncio.wait_for(relaunched(), 30)
        assert sup.agent_record(FAILING).offset == 0  # still nothing consumed
        col = Collector(sup)
        await wait_agents(sup, 1)
        await sup.drain()
        assert sup.agent_record(FAILING).reason.startswith("gave up after 1 restart (")
        shown = _shown(col, FAILING)
        assert shown == _log(root, FAILING).splitlines()
        assert shown.count("── wavedeck: restart 1 of 1 after 0.1 s (exit 3) ──") == 1
    finally:
        if col is not None:
            await col.stop()
        await sup.close()


@pytest.mark.slow
async def test_an_adopted_agent_killed_from_outside_is_restarted(root: Path) -> None:
    """A signal wavedeck did not send is a failure: an agent a later control room adopted is
    restarted when something else kills it (its run time read from its start on the boot
    clock, since no reading of this control room's clock exists)."""
    policy = RestartConfig(enabled=True, min_run_s=1000.0, backoff_initial_s=2.0)
    first = _supervisor(root, {FAILING: ["--hang"]}, policy, None)
    await first.open()
    col = Collector(first)
    try:
        await first.start_wave(1)
        await col.until(lambda _: any(STARTED in line for line in _shown(col, FAILING)))
    finally:
        await col.stop()
        await first.close()  # the agents run on, detached

    clock = FakeClock()
    config = load_config(root)
    config.agent.restart = policy
    second = supervisor(root, config)
    second.restarts.clock, second.restarts.sleep = clock.now, clock.sleep
    await second.open()
    col = Collector(second)
    try:
        handle = second.agent_record(FAILING).handle
        assert handle is not None and second.agent_state(FAILING) == "running"
        wrapper = handle.pid
        children = Path(f"/proc/{wrapper}/task/{wrapper}/children").read_text().split()
        os.kill(int(children[0]), signal.SIGKILL)  # the agent, not its wrapper
        await col.until(lambda _: second.agent_record(FAILING).launches == 2)
        assert clock.sleeps == [2.0]
        ran = [
            float(e.message.split("failed after ")[1].split(" s:")[0])
            for e in col.events
            if isinstance(e, Notice) and e.message.startswith(f"{FAILING} failed after ")
        ]
        assert len(ran) == 1 and 0.0 < ran[0] < 60.0, ran  # from its start, not from adoption
        states = [(e.state, e.signal) for e in _states(col, FAILING)]
        assert ("failed", "SIGKILL") in states and states[-1] == ("running", None)
        await col.until(lambda _: _log(root, FAILING).count(STARTED) == 2)
        assert "── wavedeck: restart 1 of 3 after 2 s (SIGKILL) ──" in _log(root, FAILING)
    finally:
        await second.close(stop_agents=True)
        await col.stop()
        await second.close()
    assert second.agent_state(FAILING) == "stopped"
    assert not second.restarts.pending(FAILING)


@pytest.mark.slow
async def test_a_restart_by_hand_before_the_consumer_caught_up_repeats_no_line(
    root: Path,
) -> None:
    """``restart_agent`` called while the failed run's lines still wait in the queue (a headless
    caller, a fast operator): the new run's follower starts where the old one stopped reading,
    not at the consumer's offset, so every line is delivered exactly once."""
    sup = _supervisor(root, {FAILING: ["--fail", "3"]}, RestartConfig(), None)
    await sup.open()
    col: Collector | None = None
    try:
        await sup.start_wave(1)  # nobody consumes yet: the consumer's offset stays put

        async def failed() -> None:
            while not (sup.agent_state(FAILING) == "failed" and sup.wave_agents_done(1)):
                await asyncio.wait_for(sup.wait_changed(), 30)

        await asyncio.wait_for(failed(), 30)
        await sup.restart_agent(FAILING)
        assert sup.agent_record(FAILING).launches == 2
        col = Collector(sup)
        await wait_agents(sup, 1)
        await sup.drain()
        shown = _shown(col, FAILING)
        assert shown == _log(root, FAILING).splitlines()
        assert sum(line.startswith(STARTED) for line in shown) == 2  # both runs, once each
    finally:
        if col is not None:
            await col.stop()
        await sup.close()
