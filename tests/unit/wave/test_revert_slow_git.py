"""A revert on a loaded machine: the watchers take writes within a second of a revert for the
revert itself, and git (its lock, three processes) can take longer than that; the revert's own
write must not come back as a new violation. Found by the TUI test
``test_violations_screen_and_diff_revert`` failing under load (the stray path's violation never
went). The git is the real one, its ``checkout-index`` started 1.5 s late by a PATH shim: the
slowness of a loaded machine, made certain."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.unit.wave.enginekit import opened, sandbox, wait_agents
from wavedeck.agents.events import FileTouched, ViolationFound
from wavedeck.agents.tools.demo import STRAY_PATH

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


async def test_the_reverts_own_write_is_not_a_new_violation(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_git = shutil.which("git")
    assert real_git is not None
    shim = tmp_path / "slow-git"
    shim.mkdir()
    (shim / "git").write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do [ "$a" = checkout-index ] && sleep 1.5; done\n'
        f'exec {real_git} "$@"\n'
    )
    (shim / "git").chmod(0o755)
    sandbox(root)  # w1-a2 writes the demo's stray file
    monkeypatch.setenv("PATH", f"{shim}:{os.environ['PATH']}")
    async with opened(root) as (sup, col):
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        await col.first(ViolationFound, lambda e: e.path == STRAY_PATH, timeout=30)
        seen = len(col.events)
        await sup.revert_path(1, STRAY_PATH)
        # The watcher saw the revert's write (a touch), judged with it in the same batch.
        await col.until(
            lambda evs: any(isinstance(e, FileTouched) and e.path == STRAY_PATH for e in evs[seen:])
        )
        again = [e for e in col.events[seen:] if isinstance(e, ViolationFound)]
        assert again == []
        assert not any(v.path == STRAY_PATH for v in sup.violations(1))
