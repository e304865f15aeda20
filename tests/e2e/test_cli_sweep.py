"""Every command on every kind of folder a new user may try it in: never a traceback (issue #12.3).

Folders: not a repository, an empty repository (no commit), a bare repository, a detached HEAD,
a read-only clone. A command that cannot work there exits 2 with a message naming the folder
(the control room before it opens its UI; with ``--json``, an ``{"error": ...}`` object on
stdout too); one that can work there (checking a plan, auditing a read-only clone) does. Also the
one exit-status rule for the control room (#12.9): a missing plan, bad TOML, a misspelt key (with
its "did you mean") and a second control room all exit 2, as ``wavedeck run`` does.

The read-only folder's folders are mode 555; as root (who writes anywhere) the commands there run
without the capabilities that override file permissions (``setpriv --bounding-set``), so the
kernel refuses the writes as it would for any user.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REFERENCE_PLAN
from tests.e2e.headless_kit import env, wavedeck_argv
from wavedeck.agents.state import StateStore

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # an end-to-end run

FOLDERS = ("nonrepo", "empty", "bare", "detached", "readonly")
NO_OVERRIDE = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--")


def _git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=folder,
        check=True,
        capture_output=True,
    )


def _clone_with_two_commits(folder: Path) -> None:
    _git(folder, "init", "-q", "-b", "main")
    (folder / "README.md").write_text("one\n", "utf-8")
    _git(folder, "add", "-A")
    _git(folder, "commit", "-q", "-m", "one")
    (folder / "README.md").write_text("two\n", "utf-8")
    _git(folder, "commit", "-q", "-am", "two")


def _make(base: Path, kind: str) -> Path:
    folder = base / kind
    folder.mkdir()
    if kind == "empty":
        _git(folder, "init", "-q")
    elif kind == "bare":
        _git(folder, "init", "-q", "--bare")
    elif kind in ("detached", "readonly"):
        _clone_with_two_commits(folder)
        if kind == "detached":
            _git(folder, "checkout", "-q", "--detach")
    shutil.copy(REFERENCE_PLAN, folder / "plan.md")
    if kind == "readonly":
        for path in [folder, *folder.rglob("*")]:
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o555)
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    base = tmp_path_factory.mktemp("sweep")
    made = {kind: _make(base, kind) for kind in FOLDERS}
    yield made
    for path in [made["readonly"], *made["readonly"].rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)


def _wavedeck(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = env()
    environ["HOME"] = str(folder.parent)  # nothing of the user's git config
    argv = wavedeck_argv(*args)
    if folder.name == "readonly" and os.geteuid() == 0:
        argv = [*NO_OVERRIDE, *argv]
    return subprocess.run(
        argv,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,  # the control room must fail before its UI, never wait for a terminal
        env=environ,
        stdin=subprocess.DEVNULL,
        check=False,
    )


# command -> the folders where it cannot work (exit 2); elsewhere it works (exit 0 or 1).
CASES: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "control room": (("plan.md",), frozenset(FOLDERS)),
    "demo": (("demo", "--no-ui", "--fast", "--dir", "sandbox"), frozenset({"readonly"})),
    "plan check": (("plan", "check", "plan.md", "--repo", "."), frozenset()),
    "plan show": (("plan", "show", "plan.md"), frozenset()),
    "run": (("run", "plan.md", "--headless", "--yes"), frozenset(FOLDERS)),
    "run --json": (("run", "plan.md", "--headless", "--yes", "--json"), frozenset(FOLDERS)),
    "status": (("status",), frozenset(FOLDERS)),
    "status --json": (("status", "--json"), frozenset(FOLDERS)),
    "audit": (
        ("audit", "plan.md", "--wave", "1", "HEAD~1..HEAD"),
        frozenset({"nonrepo", "empty", "bare"}),
    ),
    "audit --json": (
        ("audit", "plan.md", "--wave", "1", "HEAD~1..HEAD", "--json"),
        frozenset({"nonrepo", "empty", "bare"}),
    ),
    "hosts check": (("hosts", "check"), frozenset()),
    "hosts check --json": (("hosts", "check", "--json"), frozenset()),
}


@pytest.mark.parametrize("kind", FOLDERS)
def test_every_command_fails_cleanly_or_works(folders: dict[str, Path], kind: str) -> None:
    folder = folders[kind]
    problems = []
    for name, (args, cannot) in CASES.items():
        done = _wavedeck(folder, *args)
        said = done.stdout + done.stderr
        if "Traceback" in said:
            problems.append(f"{name}: a traceback:\n{said[-3000:]}")
            continue
        if kind in cannot:
            if done.returncode != 2:
                problems.append(f"{name}: exit {done.returncode}, not 2: {said[-600:]}")
            elif str(folder) not in done.stderr and str(folder.resolve()) not in done.stderr:
                problems.append(f"{name}: the message does not name {folder}: {done.stderr}")
            if "--json" in args:
                last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
                try:
                    error = json.loads(last)["error"]
                except (ValueError, KeyError, TypeError):
                    problems.append(f"{name}: no JSON error object on stdout: {done.stdout!r}")
                else:
                    assert error["exit"] == 2 and error["message"]
        elif done.returncode not in (0, 1):
            problems.append(f"{name}: exit {done.returncode} where it can work: {said[-600:]}")
    assert not problems, "\n".join(problems)


def _good_repo(tmp_path: Path) -> Path:
    folder = tmp_path / "repo"
    folder.mkdir()
    _clone_with_two_commits(folder)
    shutil.copy(REFERENCE_PLAN, folder / "plan.md")
    return folder


def test_the_control_room_exits_2_for_every_reason_it_cannot_start(tmp_path: Path) -> None:
    repo = _good_repo(tmp_path)
    missing = _wavedeck(repo, "no-such-plan.md")
    assert missing.returncode == 2 and "no-such-plan.md" in missing.stderr, missing.stderr

    (repo / "wavedeck.toml").write_text("[agent\n", "utf-8")
    bad = _wavedeck(repo, "plan.md")
    assert bad.returncode == 2 and "wavedeck.toml" in bad.stderr, bad.stderr

    (repo / "wavedeck.toml").write_text("[agent]\nretsart = {}\n", "utf-8")
    typo = _wavedeck(repo, "plan.md")
    assert typo.returncode == 2 and "did you mean agent.restart?" in typo.stderr, typo.stderr
    (repo / "wavedeck.toml").unlink()

    holder = StateStore(repo / ".wavedeck")
    holder.lock()  # another control room
    try:
        second = _wavedeck(repo, "plan.md")
        run = _wavedeck(repo, "run", "plan.md", "--headless", "--yes")
    finally:
        holder.unlock()
    assert second.returncode == 2 and "already running" in second.stderr, second.stderr
    assert run.returncode == 2 and "already running" in run.stderr, run.stderr
    for done in (missing, bad, typo, second, run):
        assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.timeout(120)
def test_without_a_terminal_the_control_room_refuses_instead_of_drawing(tmp_path: Path) -> None:
    """Issue #20: ``wavedeck </dev/null >out 2>err`` (and ``run`` without ``--headless``) drew
    the control room into the files and waited for keys for ever. Exit 2 instead, saying how to
    run without it; nothing drawn (no escape sequence)."""
    repo = _good_repo(tmp_path)
    out, err = tmp_path / "out", tmp_path / "err"
    demo = ["demo", "--fast", "--dir", str(tmp_path / "demo")]
    for args in (["plan.md"], ["run", "plan.md", "--yes"], demo):
        with out.open("wb") as stdout, err.open("wb") as stderr:
            code = subprocess.run(
                wavedeck_argv(*args),
                cwd=repo,
                env=env(),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                timeout=60,
                check=False,
            ).returncode
        said = err.read_text("utf-8")
        assert code == 2, (args, said)
        assert "not a terminal; use `run --headless`" in said, (args, said)
        assert "\x1b" not in out.read_text("utf-8") + said, args
        assert "Traceback" not in said
    assert not (repo / ".wavedeck" / "state.json").exists()  # nothing was started
