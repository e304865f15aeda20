"""End to end: the demo's stray write and its test file, through the one ownership model.

Real `wavedeck demo --no-ui --fast` sandboxes and real `wavedeck run --headless` processes, wave 1
only. The stray ``cli/daemon.py`` is reported with the kind and candidates of
``wavedeck.plan.ownership.OwnershipIndex`` (the same model the gate and ``audit`` use); the test file
``w1-a1`` writes is accepted by the sandbox's ``[policy] accept`` glob, never a violation, and
both acceptances are recorded as ``Wavedeck-Accepted`` trailers of the checkpoint commit.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.headless_kit import events, kill_agents, make_demo, run
from wavedeck.agents.tools.demo import (
    ACCEPT_GLOBS,
    PLAN_IN_SANDBOX,
    STRAY_AGENT,
    STRAY_ARGS,
    STRAY_PATH,
    TEST_PATH,
)
from wavedeck.agents.wave.gates import OPERATOR_ACCEPT
from wavedeck.plan.ownership import OwnershipIndex
from wavedeck.plan.reading.loader import load_plan

WAVE1 = ("run", "--headless", "--wave", "1", "--yes", "--json")
TEST_GLOB = "**/tests/**"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]  # an end-to-end run


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "sandbox"
    yield folder
    kill_agents(folder)


def _git(folder: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=folder, input=stdin, capture_output=True, text=True, check=True
    )
    return done.stdout


def _trailers(folder: Path) -> list[tuple[str, str]]:
    """The trailers of HEAD's message, as git itself parses them."""
    message = _git(folder, "log", "-1", "--format=%B")
    parsed = _git(folder, "interpret-trailers", "--parse", stdin=message)
    out = []
    for line in parsed.splitlines():
        key, _, value = line.partition(": ")
        out.append((key, value))
    return out


def _accepted(folder: Path) -> dict[str, str]:
    """``Wavedeck-Accepted: PATH (REASON)`` trailers of HEAD as path -> reason."""
    out = {}
    for key, value in _trailers(folder):
        if key == "Wavedeck-Accepted":
            path, _, reason = value.partition(" (")
            assert reason.endswith(")"), value
            out[path] = reason[:-1]
    return out


def _touched(evs: list[dict[str, Any]], path: str) -> bool:
    return any(e["event"] == "file_touched" and e["path"] == path for e in evs)


def _committed_paths(folder: Path) -> set[str]:
    return set(_git(folder, "show", "--name-only", "--format=", "HEAD").split())


def test_sandbox_config_declares_the_policy(sandbox: Path) -> None:
    make_demo(sandbox)
    text = (sandbox / "wavedeck.toml").read_text("utf-8")
    assert f"accept = {json.dumps(list(ACCEPT_GLOBS))}" in text
    assert TEST_GLOB in ACCEPT_GLOBS
    assert f"{json.dumps(STRAY_AGENT)} = {json.dumps(list(STRAY_ARGS))}" in text
    assert TEST_PATH in STRAY_ARGS and STRAY_PATH in STRAY_ARGS
    assert not (sandbox / TEST_PATH).exists()  # the agent creates it during the wave


def test_stray_is_classified_by_the_model_and_accepting_records_both_reasons(
    sandbox: Path,
) -> None:
    make_demo(sandbox)
    plan = load_plan(sandbox / PLAN_IN_SANDBOX).plan
    # Read independently from the plan: no wave-1 agent declares the stray path, and it lies
    # inside the package that w1-a1 and w1-a2 share, so neither owns it: an ``unowned`` tie.
    wave1 = plan.wave(1).agents
    assert not [a.id for a in wave1 if STRAY_PATH in a.paths]
    sharing = sorted(a.id for a in wave1 if STRAY_PATH.startswith(a.package))
    assert sharing == ["w1-a1", "w1-a2"]
    model = OwnershipIndex(plan, 1).classify(STRAY_PATH)
    assert (model.kind, list(model.candidates)) == ("unowned", sharing)

    first = run(sandbox, *WAVE1)
    assert first.returncode == 1, first.stderr
    evs = events(first.stdout)
    found = [e for e in evs if e["event"] == "violation_found"]
    stray = [e for e in found if e["path"] == STRAY_PATH]
    assert len(stray) == 1, found
    assert (stray[0]["kind"], stray[0]["candidates"]) == (model.kind, list(model.candidates))
    assert stray[0]["detail"] == model.describe() and stray[0]["agent"] == model.agent
    # The test file was written (and seen), but the accept glob makes it no violation.
    assert _touched(evs, TEST_PATH) and (sandbox / TEST_PATH).is_file()
    assert [e["path"] for e in found] == [STRAY_PATH]
    refused = [e for e in evs if e["event"] == "gate_refused"]
    assert [r["paths"] for r in refused] == [[STRAY_PATH]]
    assert not any(e["event"] == "checkpoint_committed" for e in evs)

    second = run(sandbox, *WAVE1, "--accept-violations")
    assert second.returncode == 0, second.stderr + second.stdout[-2000:]
    commits = [e for e in events(second.stdout) if e["event"] == "checkpoint_committed"]
    assert [c["wave"] for c in commits] == [1]
    assert _git(sandbox, "rev-parse", "HEAD").strip() == commits[0]["commit"]
    assert _accepted(sandbox) == {
        TEST_PATH: f"policy accept {TEST_GLOB!r}",
        STRAY_PATH: f"{OPERATOR_ACCEPT}; writer unknown",  # an unowned tie: no writer named
    }
    assert ("Wavedeck-Wave", "1") in _trailers(sandbox)
    assert {TEST_PATH, STRAY_PATH} <= _committed_paths(sandbox)


def _drop_stray_write(folder: Path) -> None:
    """Drop w1-a2's ``--touch-unowned`` of the stray: only the policy-covered test file stays."""
    config = folder / "wavedeck.toml"
    text = config.read_text("utf-8")
    old = f"{json.dumps(STRAY_AGENT)} = {json.dumps(list(STRAY_ARGS))}"
    new = f"{json.dumps(STRAY_AGENT)} = {json.dumps(['--touch-unowned', TEST_PATH])}"
    assert old in text
    config.write_text(text.replace(old, new), "utf-8")


def _accept_stray_by_glob(folder: Path) -> None:
    """Add the stray's own path to ``[policy] accept``: every stray is then covered."""
    config = folder / "wavedeck.toml"
    text = config.read_text("utf-8")
    old = f"accept = {json.dumps(list(ACCEPT_GLOBS))}"
    assert old in text
    config.write_text(
        text.replace(old, f"accept = {json.dumps([*ACCEPT_GLOBS, STRAY_PATH])}"), "utf-8"
    )


@pytest.mark.parametrize("how", ["no-stray-write", "stray-in-accept"])
def test_strays_covered_by_the_policy_pass_the_gate_without_accepting(
    sandbox: Path, how: str
) -> None:
    make_demo(sandbox)
    if how == "no-stray-write":
        _drop_stray_write(sandbox)
        expected = {TEST_PATH: f"policy accept {TEST_GLOB!r}"}
    else:
        _accept_stray_by_glob(sandbox)
        expected = {
            TEST_PATH: f"policy accept {TEST_GLOB!r}",
            STRAY_PATH: f"policy accept {STRAY_PATH!r}",
        }
    # The operator commits the policy change (an uncommitted config would itself be a stray).
    _git(sandbox, "commit", "-q", "-m", "Demo policy for this test", "--", "wavedeck.toml")
    done = run(sandbox, *WAVE1)  # no --accept-violations
    assert done.returncode == 0, done.stderr + done.stdout[-2000:]
    evs = events(done.stdout)
    assert not [e for e in evs if e["event"] in ("violation_found", "gate_refused")]
    assert _touched(evs, TEST_PATH)
    commits = [e for e in evs if e["event"] == "checkpoint_committed"]
    assert [c["wave"] for c in commits] == [1]
    assert _git(sandbox, "rev-parse", "HEAD").strip() == commits[0]["commit"]
    assert _accepted(sandbox) == expected
    assert set(expected) <= _committed_paths(sandbox)
    assert _git(sandbox, "status", "--porcelain", "--", *expected) == ""
