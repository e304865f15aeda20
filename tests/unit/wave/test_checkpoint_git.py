"""The checkpoint's git edges on a real demo sandbox: a commit made while the user's index is
locked counts as committed (with a warning), a held index.lock is surfaced while git waits, and
the ``[git]`` timeouts are configuration."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.unit.wave.enginekit import (
    Collector,
    git,
    opened,
    sandbox,
    supervisor,
    wait_agents,
)
from wavedeck.agents.config import GitConfig
from wavedeck.agents.configread import ConfigError, load_config
from wavedeck.agents.events import CheckpointCommitted, GateRefused, Notice, ViolationFound
from wavedeck.agents.wave.refusals import describe
from wavedeck.agents.wave.supervisor import Supervisor

pytestmark = pytest.mark.timeout(90)


def _notices(col: Collector, words: str) -> list[Notice]:
    return [e for e in col.of(Notice) if words in e.message]


async def _tested_wave(sup: Supervisor) -> None:
    await sup.start_wave(1)
    await wait_agents(sup, 1)
    assert await sup.run_tests(1)


@asynccontextmanager
async def _index_lock_case(
    root: Path, *, lock_wait_s: float
) -> AsyncIterator[tuple[Supervisor, Collector, Path]]:
    """The sandbox opened with ``[git] lock_wait_s``, and where its ``.git/index.lock`` goes: a
    lock the test left is removed before the supervisor closes."""
    sandbox(root)
    cfg = load_config(root)
    cfg.git.lock_wait_s = lock_wait_s
    lock = root / ".git" / "index.lock"
    async with opened(root, cfg) as (sup, col):
        try:
            yield sup, col, lock
        finally:
            lock.unlink(missing_ok=True)


def test_git_timeouts_are_configuration(tmp_path: Path) -> None:
    assert GitConfig().sign_timeout_s == 3.0 and GitConfig().write_wait_s == 5.0
    assert GitConfig.model_fields["sign_timeout_s"].description
    assert GitConfig.model_fields["write_wait_s"].description
    (tmp_path / "wavedeck.toml").write_text("[git]\nsign_timeout_s = 1.5\nwrite_wait_s = 0\n")
    cfg = load_config(tmp_path)
    assert (cfg.git.sign_timeout_s, cfg.git.write_wait_s) == (1.5, 0.0)
    (tmp_path / "wavedeck.toml").write_text("[git]\nsign_timeout_s = 0\n")
    with pytest.raises(ConfigError, match=r"git\.sign_timeout_s"):
        load_config(tmp_path)


@pytest.mark.slow
async def test_a_commit_with_a_stale_index_is_recorded_as_committed(root: Path) -> None:
    async with _index_lock_case(root, lock_wait_s=0.3) as (sup, col, lock):
        await _tested_wave(sup)
        # Another git process takes the index right after the commit is made.
        sup.git._checkpointer.before_update_ref = lambda: lock.write_text("")
        sha = await sup.checkpoint(1, accept_violations=True)
        assert sha is not None and git(root, "rev-parse", "HEAD") == sha
        assert sup.state.waves[1].checkpoint == sha
        assert sup.wave_state(1) == "committed" and sup.can_start_wave(2) is None
        await col.until(lambda _evs: bool(col.of(CheckpointCommitted)))
        warning = _notices(col, "git reset -q")
        assert warning and warning[0].level == "warning" and sha[:12] in warning[0].message
        assert not col.of(GateRefused)


@pytest.mark.slow
async def test_a_held_index_lock_is_a_notice_while_the_checkpoint_waits(root: Path) -> None:
    async with _index_lock_case(root, lock_wait_s=30) as (sup, col, lock):
        await _tested_wave(sup)
        lock.write_text("")  # another git process (an editor's git integration) is working
        commit = asyncio.create_task(sup.checkpoint(1, accept_violations=True))
        await col.until(lambda _evs: bool(_notices(col, "waiting for .git/index.lock")))
        assert not commit.done()
        lock.unlink()  # the other process finished
        sha = await asyncio.wait_for(commit, 30)
        assert sha is not None and git(root, "rev-parse", "HEAD") == sha
        assert len(_notices(col, "waiting for .git/index.lock")) == 1  # not one per retry


@pytest.mark.slow
async def test_an_edited_message_still_gets_the_current_trailers(root: Path) -> None:
    """The operator rewrites the message before accepting a stray: the commit still records the
    acceptance (and the tests) as trailers, and stale trailers they left are replaced."""
    sandbox(root)
    sup = supervisor(root, load_config(root))
    await sup.open()
    try:
        await _tested_wave(sup)
        stale = (await sup.checkpoint_preview(1)).message  # written before anything was accepted
        assert "Wavedeck-Accepted: packages/headless-client/zajel/cli/daemon.py" not in stale
        await sup.accept_violation(1, "packages/headless-client/zajel/cli/daemon.py", "real path")
        edited = (
            "Wave 1: security fixes\n\nReviewed by the operator.\n\n"
            + stale.split("Wavedeck-Wave:")[0].split("\n\n")[-1]
            + "Wavedeck-Wave: 9\n"
        )
        sha = await sup.checkpoint(1, message=edited)
        assert sha is not None
        body = git(root, "log", "-1", "--format=%B")
        trailers = git(root, "interpret-trailers", "--parse", input_text=body)
        assert body.startswith("Wave 1: security fixes\n\nReviewed by the operator.")
        assert "Wavedeck-Wave: 1" in trailers and "Wavedeck-Wave: 9" not in body
        assert (
            "Wavedeck-Accepted: packages/headless-client/zajel/cli/daemon.py (real path; writer unknown)"
            in trailers
        )
        assert "Wavedeck-Tests:" in trailers and "Wavedeck-Issues: headless-05" in trailers
    finally:
        await sup.close()


@pytest.mark.slow
async def test_hooks_and_fsmonitor_planted_before_a_wave_never_run_and_are_reported(
    root: Path, tmp_path: Path
) -> None:
    """Matrix C6/C7 on the demo sandbox: whatever ``.git`` holds when a wave starts, wavedeck's
    git commands (status, diff, checkpoint) never run it, and the operator is told it is there."""
    sandbox(root)
    canaries = tmp_path / "canaries"
    canaries.mkdir()
    hooks = root / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    for hook in ("pre-commit", "commit-msg", "post-commit", "reference-transaction"):
        script = hooks / hook
        script.write_text(f"#!/bin/sh\ntouch {canaries / hook}\n")
        script.chmod(0o755)
    git(root, "config", "core.fsmonitor", f"touch {canaries / 'fsmonitor'}")
    async with opened(root) as (sup, col):
        await _tested_wave(sup)
        sha = await sup.checkpoint(1, accept_violations=True)
        assert sha is not None and git(root, "rev-parse", "HEAD") == sha
        await col.until(lambda _evs: bool(_notices(col, "can run programs")))
        reported = _notices(col, "can run programs")[0]
        assert reported.level == "warning" and "core.fsmonitor" in reported.message
        assert ".git/hooks/pre-commit" in reported.message
        # The same facts as a field (the keys): nobody parses the message for them.
        programs = reported.programs
        assert "core.fsmonitor" in programs and ".git/hooks/pre-commit" in programs
        assert sorted(p.name for p in canaries.iterdir()) == []  # nothing ran


async def test_a_filter_in_the_users_config_is_named_at_wave_start_and_never_run(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #20: a filter driver the user's own git configuration defines (git-lfs, or one an
    agent planted in ~/.gitconfig) is not run by wavedeck unless [git.filters] names it, and
    the operator is told so when the wave starts."""
    sandbox(root)
    canary = tmp_path / "filter-ran"
    user = tmp_path / "user.gitconfig"
    user.write_text(f'[filter "lfsish"]\n\tclean = touch {canary}\n\tprocess = touch {canary}\n')
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(user))
    (root / ".git" / "info").mkdir(exist_ok=True)
    (root / ".git" / "info" / "attributes").write_text("*.py filter=lfsish\n")
    async with opened(root) as (sup, col):
        await _tested_wave(sup)
        assert await sup.checkpoint(1, accept_violations=True) is not None
        reported = _notices(col, "can run programs")[0]
        assert "filter lfsish" in reported.message and "[git.filters.lfsish]" in reported.message
        assert "filter.lfsish" in reported.programs
    assert not canary.exists()


@pytest.mark.slow
async def test_a_file_turned_into_a_symbolic_link_is_refused_and_an_ignored_one_left_out(
    root: Path,
) -> None:
    """#19: an owner's file replaced by a link to another agent's file (mode 100644 ->
    120000) is never committed as the owner's work (a write through it lands in the other
    file): a ``symlink`` stray path, and the checkpoint is refused; the watcher saw it too.
    A file git ignores is the checkpoint's nothing, as it is the watcher's."""
    sandbox(root)
    (root / ".git" / "info" / "exclude").write_text("*.scratch\n")
    head = git(root, "rev-parse", "HEAD")
    async with opened(root) as (sup, col):
        await _tested_wave(sup)
        owned = root / "packages/headless-client/zajel/client.py"
        owned.unlink()
        owned.symlink_to("daemon.py")  # w1-a2's file, next to it
        (root / "packages/headless-client/zajel/notes.scratch").write_text("mine\n")
        await col.until(
            lambda evs: any(isinstance(e, ViolationFound) and e.kind == "symlink" for e in evs)
        )
        preview = await sup.checkpoint_preview(1)
        links = [s for s in preview.stray if s.kind == "symlink"]
        assert [s.path for s in links] == ["packages/headless-client/zajel/client.py"]
        assert "100644 -> 120000" in links[0].detail
        assert not any("notes.scratch" in p for p in (*preview.paths, *preview.ignored))
        assert await sup.checkpoint(1) is None
        await col.until(lambda _evs: bool(col.of(GateRefused)))
        refused = col.of(GateRefused)[0]
        assert "packages/headless-client/zajel/client.py" in refused.paths, refused
        assert git(root, "rev-parse", "HEAD") == head  # nothing committed


@pytest.mark.slow
async def test_the_git_layers_refusals_reach_the_operator_by_code(
    root: Path, tmp_path: Path
) -> None:
    """A checkpoint the git layer refuses is a ``GateRefused`` with its own code (not one
    code for all, the reason in prose): an opted-in hook refusing the commit (``prepare``), then
    a commit made on the branch while it moves (``land``). The wave stays tested; the words
    show what the hook and git said."""
    sandbox(root)
    hook = root / ".git" / "hooks" / "pre-commit"
    hook.parent.mkdir(exist_ok=True)
    passes = tmp_path / "hook-passes"  # outside .git: changing the hook would be tampering
    hook.write_text(
        f"#!/bin/sh\ntest -e '{passes}' && exit 0\necho 'lint: not today' >&2\nexit 3\n"
    )
    hook.chmod(0o755)
    cfg = load_config(root)
    cfg.git.run_hooks = True
    head = git(root, "rev-parse", "HEAD")
    async with opened(root, cfg) as (sup, col):
        await _tested_wave(sup)
        assert await sup.checkpoint(1, accept_violations=True) is None
        await col.until(lambda _evs: bool(col.of(GateRefused)))
        refused = col.of(GateRefused)[-1].refusal
        assert (refused.code, refused.detail) == (
            "hook-failed",
            "pre-commit exited 3: lint: not today",
        )
        assert refused.detail in describe(refused)
        assert sup.wave_state(1) == "tested" and git(root, "rev-parse", "HEAD") == head

        passes.write_text("")
        sup.git._checkpointer.before_update_ref = lambda: git(
            root, "commit", "-q", "--allow-empty", "-m", "meanwhile"
        )
        assert await sup.checkpoint(1, accept_violations=True) is None
        await col.until(lambda _evs: len(col.of(GateRefused)) == 2)
        refused = col.of(GateRefused)[-1].refusal
        assert refused.code == "branch-moved" and refused.detail in describe(refused)
        record = sup.wave_record(1)
        assert record is not None and record.checkpoint_intent is None  # abandoned
        assert sup.wave_state(1) == "tested"
        assert git(root, "rev-parse", "HEAD^") == head  # their commit stays, nothing overwritten
