"""Issue #20 end to end: programs planted for git never run from ``wavedeck`` itself.

Every kind (filters, textconv, diff and merge drivers, signers, pagers, editors, ssh commands,
askpass, credential helpers, fsmonitor, hooks) planted in the system, user, XDG, repository and
included configuration, named by ``.gitattributes`` and the other attribute files, stays unrun
through a whole headless run of the demo's three waves (agents, tests, checkpoints), ``wavedeck
status``, ``wavedeck audit`` and the diff review; and a signer planted *during* a wave is a
change of ``.git`` that ``--accept-violations`` never accepts: the checkpoint waits until the
operator undoes it, and the planted program never runs.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.headless_kit import (
    events,
    file_events,
    kill_agents,
    make_demo,
    run,
    start,
    wait_running,
)
from tests.unit.git import plantkit
from wavedeck.agents.git.repo import GitRepo
from wavedeck.agents.tools.demo import PLAN_IN_SANDBOX

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "sandbox"
    yield folder
    kill_agents(folder)


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=60)
    return done.stdout.strip()


def test_nothing_planted_runs_in_a_headless_run_status_audit_or_diff_review(
    sandbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_demo(sandbox)
    for name in plantkit.tracked_files():
        (sandbox / name).write_text(f"{name} at the start\n")
    _git(sandbox, "add", "-A")
    _git(sandbox, "commit", "-q", "-m", "files the planted attributes name")
    base = _git(sandbox, "rev-parse", "HEAD")
    plants = plantkit.plant_everything(sandbox, tmp_path)
    with (sandbox / ".gitattributes").open("a") as fh:
        # The agents' own files pass through a planted filter and diff driver too.
        fh.write("packages/** filter=a=brepo diff=commandrepo merge=driverrepo\n")
    system = tmp_path / "system.gitconfig"
    system.write_text((plants.home / ".gitconfig").read_text().replace("@global", "@system"))
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    monkeypatch.delenv("GIT_CONFIG_NOSYSTEM", raising=False)
    monkeypatch.setenv("GIT_CONFIG_SYSTEM", str(system))
    monkeypatch.setenv("HOME", str(plants.home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(plants.xdg))

    done = run(sandbox, "run", "--headless", "--all", "--yes", "--accept-violations", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    committed = [e["wave"] for e in events(done.stdout) if e["event"] == "checkpoint_committed"]
    assert committed == [1, 2, 3]
    # What was planted before the run is told, by name (wavedeck's git never runs it).
    assert "can run programs" in done.stdout + done.stderr

    status = run(sandbox, "status", "--json")
    assert status.returncode == 0, status.stderr
    wave1 = _git(sandbox, "rev-parse", "HEAD~2")
    audit = run(sandbox, "audit", PLAN_IN_SANDBOX, "--repo", ".", "--wave", "1", f"{base}..{wave1}")
    assert audit.returncode in (0, 1), audit.stderr
    # The diff review: the changed files of the last wave and each file's diff.
    repo = GitRepo(sandbox)
    last = _git(sandbox, "rev-parse", "HEAD~1")
    (sandbox / "f-repo.txt").write_text("edited after the run\n")
    changed = repo.changed_files(last)
    assert changed
    for item in changed:
        repo.file_diff(item.path, last, old_path=item.old_path)
    repo.close()

    assert plants.ran() == [], plants.ran()
    # The control: plain git in the same repository and environment runs them.
    subprocess.run(["git", "diff"], cwd=sandbox, capture_output=True, timeout=60)
    assert "clean@repo" in plants.ran()


def test_a_signer_planted_during_a_wave_is_never_accepted_in_bulk_nor_run(
    sandbox: Path, tmp_path: Path
) -> None:
    make_demo(sandbox, speed="0.3")
    marker = tmp_path / "signer-ran"
    signer = tmp_path / "evil-gpg.sh"
    signer.write_text(f"#!/bin/sh\ntouch '{marker}'\nexit 1\n")
    signer.chmod(0o755)
    out = tmp_path / "run.jsonl"
    args = ("run", "--headless", "--wave", "1", "--yes", "--accept-violations", "--json")
    proc = start(sandbox, out, *args)
    try:
        wait_running(out)
        # What an agent could do while its wave runs.
        _git(sandbox, "config", "commit.gpgsign", "true")
        _git(sandbox, "config", "gpg.program", str(signer))
        assert proc.wait(timeout=180) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
    refused = [e for e in file_events(out) if e["event"] == "gate_refused"]
    assert refused, out.with_suffix(".err").read_text()
    reason = refused[-1]["reason"]
    assert "(git) .git/config gpg.program" in reason
    assert "(git) .git/config commit.gpgsign" in reason
    assert "--accept-violations never accepts" in reason
    state = json.loads((sandbox / ".wavedeck" / "state.json").read_text())
    assert not [k for k in state["waves"]["1"]["accepted"] if k.startswith("(git)")]
    assert not marker.exists()

    # The operator puts it back by hand (the demo's own commit.gpgsign is false); the next run
    # commits, still never running the signer.
    _git(sandbox, "config", "commit.gpgsign", "false")
    _git(sandbox, "config", "--unset", "gpg.program")
    again = run(sandbox, "run", "--headless", "--wave", "1", "--yes", "--accept-violations")
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "gpgsig" not in _git(sandbox, "cat-file", "commit", "HEAD")
    assert not marker.exists()
