"""Hostile and unlucky repositories: matrix rows C4, C5, C8, C11, C14, and the opt-in hooks policy
(C6 and C7, planted hooks and settings: test_planted.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.unit.git.repokit import Repo, wait_until
from wavedeck.agents.git.errors import CheckpointIndexStale, CheckpointRefused, GitError
from wavedeck.agents.git.repo import GitRepo


def _pids_with(token: str) -> list[int]:
    """Live processes whose command line holds ``token`` (killed zombies awaiting init's reaping
    are dead and not counted)."""
    out = subprocess.run(["pgrep", "-f", token], capture_output=True, text=True).stdout
    alive = []
    for pid in out.split():
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            alive.append(int(pid))
    return alive


# -- C4: a held index.lock -----------------------------------------------------------------------


@pytest.mark.slow
def test_a_held_index_lock_is_waited_for_then_reported_and_never_deleted(repo: Repo) -> None:
    lock = repo.root / ".git" / "index.lock"
    lock.write_text("")
    repo.write("a.txt", "agent\n")
    waits: list[str] = []
    git_repo = GitRepo(repo.root, lock_wait_s=0.6, on_lock_wait=waits.append)
    started = time.monotonic()
    with pytest.raises(GitError, match=r"another git process holds .*index\.lock") as err:
        git_repo.checkpoint(["a.txt"], "wave")
    elapsed = time.monotonic() - started
    assert 0.55 < elapsed < 3
    assert len(waits) >= 2 and waits[0] == str(lock)  # retried, not a single attempt
    assert f"rm {lock}" in str(err.value)
    assert lock.exists()


def test_a_lock_released_during_the_retries_lets_the_checkpoint_through(repo: Repo) -> None:
    lock = repo.root / ".git" / "index.lock"
    lock.write_text("")
    repo.write("a.txt", "agent\n")
    waiting = threading.Event()
    git_repo = GitRepo(repo.root, lock_wait_s=20, on_lock_wait=lambda _: waiting.set())
    result: list[str | BaseException] = []

    def run() -> None:
        try:
            result.append(git_repo.checkpoint(["a.txt"], "wave"))
        except BaseException as exc:
            result.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    assert waiting.wait(10)
    lock.unlink()  # the other git process finished
    worker.join(20)
    assert result and isinstance(result[0], str), result
    assert repo.head() == result[0]


@pytest.mark.slow
def test_a_held_branch_lock_is_retried_then_reported(repo: Repo) -> None:
    ref_lock = repo.root / ".git" / "refs" / "heads" / "main.lock"
    ref_lock.write_text("")
    base = repo.head()
    repo.write("a.txt", "agent\n")
    git_repo = GitRepo(repo.root, lock_wait_s=0.5)
    with pytest.raises(GitError, match=r"main\.lock"):
        git_repo.checkpoint(["a.txt"], "wave")
    assert ref_lock.exists()
    assert repo.head() == base


# -- C5: our own concurrent calls ------------------------------------------------------------------


@pytest.mark.slow
def test_concurrent_reads_during_checkpoints_are_serialised_without_errors(repo: Repo) -> None:
    base = repo.head()
    for i in range(30):
        repo.write(f"lib/m{i}.py", f"v = {i}\n")
    errors: list[BaseException] = []
    stop = threading.Event()
    reads = [0]
    # Two GitRepo objects on one repository (supervisor and TUI) share the process-wide lock.
    checkpointing = GitRepo(repo.root)
    refreshing = GitRepo(repo.root)

    def refresh() -> None:
        while not stop.is_set():
            try:
                files = refreshing.changed_files(base)
                if files:
                    refreshing.file_diff(files[0].path, base, old_path=files[0].old_path)
                refreshing.in_progress_state()
                reads[0] += 1
            except BaseException as exc:
                errors.append(exc)
                return

    workers = [threading.Thread(target=refresh) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        head = base
        for i in range(6):
            repo.write("a.txt", f"round {i}\n")
            head = checkpointing.checkpoint(
                ["a.txt", f"lib/m{i}.py"], f"round {i}", expected_head=head
            )
    finally:
        stop.set()
        for worker in workers:
            worker.join(20)
    assert errors == []
    assert reads[0] > 0
    assert repo.git("rev-list", "--count", f"{base}..HEAD").strip() == "6"
    assert not (repo.root / ".git" / "index.lock").exists()


# -- C8: signing ------------------------------------------------------------------------------------


def test_a_broken_signer_fails_fast_with_a_clear_error(repo: Repo) -> None:
    repo.git("config", "commit.gpgsign", "true")
    base = repo.head()
    repo.write("a.txt", "agent\n")
    started = time.monotonic()
    with pytest.raises(GitError, match="signing the checkpoint with /bin/false failed"):
        GitRepo(repo.root, sign_program="/bin/false").checkpoint(["a.txt"], "wave")
    assert time.monotonic() - started < 5
    assert repo.head() == base


@pytest.mark.slow
def test_a_hanging_signer_is_stopped_within_five_seconds(repo: Repo) -> None:
    token = f"wdgpg{uuid.uuid4().hex[:10]}"
    signer = repo.script(f"{token}.sh", "sleep 60")
    base = repo.head()
    repo.write("a.txt", "agent\n")
    started = time.monotonic()
    try:
        with pytest.raises(GitError, match="did not finish within 3 s"):
            GitRepo(repo.root, sign=True, sign_program=str(signer)).checkpoint(["a.txt"], "wave")
        assert time.monotonic() - started <= 5
        assert repo.head() == base
        assert wait_until(lambda: not _pids_with(token), 5)
    finally:
        for pid in _pids_with(token):
            os.kill(pid, 9)


@pytest.mark.slow
def test_team_ssh_signing_is_honoured_and_a_planted_signer_never_runs(
    repo: Repo, tmp_path: Path
) -> None:
    key = tmp_path / "signing_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30
    )
    repo.git("config", "gpg.format", "ssh")
    repo.git("config", "user.signingkey", str(key))
    repo.git("config", "commit.gpgsign", "true")
    git_repo = GitRepo(repo.root)  # the team's policy is read here
    canary = tmp_path / "signer-ran"
    evil = repo.script("evil-signer.sh", f"touch '{canary}'\nexit 1")
    repo.git("config", "gpg.ssh.program", str(evil))  # planted during the wave
    repo.git("config", "gpg.program", str(evil))
    repo.write("a.txt", "agent\n")
    sha = git_repo.checkpoint(["a.txt"], "wave")
    assert "gpgsig -----BEGIN SSH SIGNATURE-----" in repo.git("cat-file", "commit", sha)
    assert not canary.exists()


def test_the_signer_is_only_the_program_wavedeck_toml_names(repo: Repo, tmp_path: Path) -> None:
    # gpg.program in git's configuration (the repository's or the user's: an agent can write
    # both) is never run, even when it was there before wavedeck started.
    canary = tmp_path / "signer-ran"
    evil = repo.script("evil-signer.sh", f"touch '{canary}'\nexit 1")
    repo.git("config", "commit.gpgsign", "true")
    repo.git("config", "gpg.program", str(evil))
    repo.git("config", "gpg.openpgp.program", str(evil))
    signer = repo.script("team-signer.sh", f"touch '{tmp_path / 'team-ran'}'\nexit 1")
    repo.write("a.txt", "agent\n")
    with pytest.raises(GitError, match=r"team-signer\.sh failed"):
        GitRepo(repo.root, sign_program=str(signer)).checkpoint(["a.txt"], "wave")
    assert (tmp_path / "team-ran").exists()
    assert not canary.exists()


@pytest.mark.slow
def test_signing_switched_on_by_an_agent_is_ignored(repo: Repo, tmp_path: Path) -> None:
    git_repo = GitRepo(repo.root)
    canary = tmp_path / "signer-ran"
    evil = repo.script("evil-signer.sh", f"touch '{canary}'\nexit 1")
    repo.git("config", "commit.gpgsign", "true")
    repo.git("config", "gpg.program", str(evil))
    repo.write("a.txt", "agent\n")
    sha = git_repo.checkpoint(["a.txt"], "wave")
    assert "gpgsig" not in repo.git("cat-file", "commit", sha)
    assert not canary.exists()


# -- C11: a file still being written -----------------------------------------------------------


@pytest.mark.slow
def test_a_file_being_written_is_committed_only_once_it_is_quiet(repo: Repo) -> None:
    """Approach: stage, then compare each file's stat signature before and after git hashed it;
    a file that changed meanwhile is staged again after a short back-off, so the committed blob
    is what git read while the file was not changing. A writer that stops within
    ``write_wait_s`` is waited for; one that never stops is refused by name."""
    target = repo.root / "a.txt"
    target.write_text("")
    started = threading.Event()
    lines = 400

    def append() -> None:
        with target.open("a") as out:
            for i in range(lines):
                out.write(f"line {i:04d}\n")
                out.flush()
                if i == 5:
                    started.set()
                time.sleep(0.001)  # the simulated slow writer, not a test wait

    writer = threading.Thread(target=append)
    writer.start()
    assert started.wait(10)
    sha = GitRepo(repo.root, write_wait_s=10).checkpoint(["a.txt"], "wave")
    writer.join(20)
    committed = repo.show(sha, "a.txt")
    final = target.read_text()
    # Consistent: whole lines, a prefix of what was finally written (all of it unless the
    # writer paused longer than the quiet period on a loaded machine).
    assert committed.endswith("\n") and final.startswith(committed)
    assert len(committed.splitlines()) > 6


@pytest.mark.slow
def test_a_file_that_never_stops_changing_is_refused_by_name(repo: Repo) -> None:
    # A separate process, so the writer does not wait for this process's GIL.
    token = f"wdchurn{uuid.uuid4().hex[:10]}"
    churn = (
        "import sys, itertools\n"
        "for i in itertools.count():\n"
        "    open(sys.argv[1], 'w').write(f'{i}\\n' * (i % 50 + 1))\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", churn, str(repo.root / "a.txt"), token])
    try:
        assert wait_until(
            lambda: repo.read("a.txt") != "".join(f"line {i}\n" for i in range(1, 21))
        )
        base = repo.head()
        with pytest.raises(CheckpointRefused) as refused:
            GitRepo(repo.root, write_wait_s=1).checkpoint(["a.txt", "b.txt"], "wave")
        assert (refused.value.code, refused.value.paths) == ("files-changing", ("a.txt",))
        assert refused.value.detail == "1 s"  # how long it waited
        assert repo.head() == base
    finally:
        writer.kill()
        writer.wait(10)


# -- C14: a repository owned by someone else --------------------------------------------------------


def test_dubious_ownership_is_surfaced_verbatim(repo: Repo, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give the repository to another user")
    other = tmp_path / "others"
    shutil.copytree(repo.root, other, symlinks=True)
    subprocess.run(["chown", "-R", "nobody", str(other)], check=True)
    with pytest.raises(GitError) as err:
        GitRepo(other)
    message = str(err.value)
    assert "detected dubious ownership in repository at" in message
    assert f"git config --global --add safe.directory {other}" in message
    assert "safe.directory = *" not in (tmp_path / "global.gitconfig").read_text()


# -- the opt-in hooks policy ---------------------------------------------------------------------


def test_opted_in_hooks_run_against_the_checkpoint(repo: Repo, tmp_path: Path) -> None:
    seen = tmp_path / "pre-commit-saw"
    repo.hook("pre-commit", f"git diff --cached --name-only > '{seen}'")
    repo.hook("commit-msg", 'echo "Signed-off-by: Hook <hook@example.com>" >> "$1"')
    repo.write("a.txt", "agent\n")
    repo.write("b.txt", "undeclared\n")
    sha = GitRepo(repo.root, run_hooks=True).checkpoint(["a.txt"], "wave")
    assert seen.read_text().split() == ["a.txt"]
    assert "Signed-off-by: Hook" in repo.git("log", "-1", "--format=%B", sha)


def test_an_opted_in_failing_hook_refuses_with_its_output(repo: Repo) -> None:
    repo.hook("pre-commit", "echo 'lint: a.txt is ugly' >&2; exit 3")
    base = repo.head()
    repo.write("a.txt", "agent\n")
    with pytest.raises(CheckpointRefused) as refused:
        GitRepo(repo.root, run_hooks=True).checkpoint(["a.txt"], "wave")
    # The hook's name, its exit code and what it said.
    assert refused.value.code == "hook-failed"
    assert refused.value.detail == "pre-commit exited 3: lint: a.txt is ugly"
    assert repo.head() == base


@pytest.mark.slow
def test_an_opted_in_hanging_hook_is_stopped_at_its_timeout(repo: Repo) -> None:
    token = f"wdhook{uuid.uuid4().hex[:10]}"
    repo.hook("pre-commit", f"sleep 60 # {token}\nsleep 60")
    script = repo.script(f"{token}.sh", "sleep 60")
    repo.hook("pre-commit", f"exec '{script}'")
    base = repo.head()
    repo.write("a.txt", "agent\n")
    started = time.monotonic()
    try:
        with pytest.raises(CheckpointRefused) as refused:
            GitRepo(repo.root, run_hooks=True, hook_timeout_s=1).checkpoint(["a.txt"], "wave")
        assert refused.value.code == "hook-timed-out"
        assert refused.value.detail == "pre-commit, stopped after 1 s"
        assert time.monotonic() - started < 5
        assert repo.head() == base
        assert wait_until(lambda: not _pids_with(token), 5)
    finally:
        for pid in _pids_with(token):
            os.kill(pid, 9)


@pytest.mark.slow
def test_opted_in_hooks_come_from_the_folder_known_at_start(repo: Repo, tmp_path: Path) -> None:
    canary = tmp_path / "planted-hook-ran"
    ran = tmp_path / "team-hook-ran"
    repo.hook("pre-commit", f"touch '{ran}'")
    git_repo = GitRepo(repo.root, run_hooks=True)
    planted = tmp_path / "planted-hooks"
    planted.mkdir()
    (planted / "pre-commit").write_text(f"#!/bin/sh\ntouch '{canary}'\n")
    (planted / "pre-commit").chmod(0o755)
    repo.git("config", "core.hooksPath", str(planted))
    repo.write("a.txt", "agent\n")
    git_repo.checkpoint(["a.txt"], "wave")
    assert ran.exists() and not canary.exists()


@pytest.mark.slow
def test_an_index_locked_after_the_commit_reports_the_commit_and_the_fix(repo: Repo) -> None:
    lock = repo.root / ".git" / "index.lock"
    repo.write("a.txt", "agent\n")
    git_repo = GitRepo(repo.root, lock_wait_s=0.3)
    git_repo._checkpointer.before_update_ref = lambda: lock.write_text("")
    with pytest.raises(CheckpointIndexStale, match=r"git reset -q --") as err:
        git_repo.checkpoint(["a.txt"], "wave")
    assert repo.head() == err.value.sha  # the commit is made and the branch points at it
    assert err.value.paths == ("a.txt",)
    assert lock.exists()
    lock.unlink()
    repo.git("reset", "-q", "--", "a.txt")
    assert repo.git("status", "--porcelain") == ""
