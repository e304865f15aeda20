"""Every shell command of the README, run as written in a fresh copy of the project (issue #24).

The commands are read from README.md's ``sh`` blocks, never copied into this file: a command the
README gains that no test here runs fails ``test_every_readme_command_is_run_or_said_why_not``.
Each block runs like a shell session, in a throwaway HOME: a line starts where the one before it
left off (its ``cd`` and ``export`` carry over), and each line's exit status and key output are
checked.

- The quick start, on "your own repository" (``~/src/myproject``: two files, their issues with fix
  plans, a unittest): wavedeck installed from the copy with pip in a venv (and with pipx where
  pipx is installed), a plan made and checked, the README's ``wavedeck.toml`` for Claude Code,
  then ``wavedeck`` in tmux with the real Claude Code CLI against the scripted model on 127.0.0.1:
  wave 1 started, its agents done, tests run, the checkpoint committed. Then the same for Codex.
- The examples: checking the reference plan in the demo's sandbox; planning the reference plan's
  own repository (rebuilt by the test suite's skeleton script), with the numbers the README
  quotes; the Markdown plan and the ``wavedeck.toml`` lines shown in the quick start.
- The Scout-and-Wave commands are run as written by ``tests/e2e/test_saw_run.py``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.agent_cli_kit import require
from tests.e2e.headless_kit import kill_agents

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
NOISE = ("Warning", "warning:", "Traceback", "Deprecat")  # what a user must never see


def blocks(kind: str, text: str | None = None) -> list[tuple[str, list[str]]]:
    """The README's ``kind`` blocks (``sh``, ``toml``, ``markdown``) with the heading above each."""
    text = README.read_text("utf-8") if text is None else text
    found = []
    heading = ""
    for part in re.split(r"(^```\w*\n.*?^```\n)", text, flags=re.S | re.M):
        if part.startswith(f"```{kind}\n"):
            lines = [line.rstrip() for line in part.splitlines()[1:-1]]
            found.append((heading, [line for line in lines if line.strip()]))
        elif not part.startswith("```"):  # a code block's "## " lines are no headings
            titles = re.findall(r"^#+ (.+)$", part, flags=re.M)
            heading = titles[-1] if titles else heading
    return found


def commands() -> list[str]:
    return [line for _, lines in blocks("sh") for line in lines]


def section(title: str) -> list[str]:
    """The lines of every ``sh`` block under the heading ``title``, in order."""
    return [line for heading, lines in blocks("sh") if heading.startswith(title) for line in lines]


# Commands not run here, each with the reason. Nothing else may be left out.
NOT_RUN = {
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest -n 2": (
        "it is this test suite: .ci/run runs exactly this command in a copy of the project"
    ),
    "git clone <this repository> wavedeck": (
        "the fresh copy these tests make of the project is that clone"
    ),
}
SAW = "Running a Scout-and-Wave plan"  # run as written by tests/e2e/test_saw_run.py
# `wavedeck review` needs a wave that ran with a reviewer: each of these options is run on one by
# tests/e2e/test_review_headless.py (plain, --json, --comments, --send, --approve, --dismiss,
# --forward), which this test checks is still so.
REVIEW = "Reviewing a wave"


def _cmd(line: str) -> str:
    """The command without its trailing comment (a README line is `command   # what it does`)."""
    return line.split("  #", 1)[0].rstrip()


def test_every_readme_command_is_run_or_said_why_not() -> None:
    from tests.e2e.test_saw_run import readme_commands

    quick, top = section("Quick start"), section("wavedeck")
    # What the tests below run, line by line (they unpack these sections by position).
    ran_here = {*quick[1:], top[0], *section("Checking a plan"), *section("Making a plan")}
    skipped = {quick[0], top[1]}
    assert {_cmd(c) for c in skipped} == set(NOT_RUN)
    saw = set(section(SAW))
    review = set(section(REVIEW))
    reviewed = (ROOT / "tests/e2e/test_review_headless.py").read_text("utf-8")
    for line in review:
        for option in shlex.split(line, comments=True)[2:]:
            if option.startswith("--"):
                assert f'"{option}"' in reviewed, (line, option)
    assert [shlex.split(c, comments=True)[1:] for c in section(SAW)] == readme_commands()
    missing = [c for c in commands() if c not in ran_here | saw | review | skipped]
    assert not missing, f"README commands no test runs: {missing}"


# -- a shell session over README lines -----------------------------------------------------------


@dataclass
class Session:
    """Lines run one at a time by bash; the working folder and PATH carry over."""

    cwd: Path
    env: dict[str, str]
    log: list[str] = field(default_factory=list)
    last: subprocess.CompletedProcess[str] | None = None

    def run(self, line: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        state = Path(tempfile.gettempdir()) / f"wavedeck-readme-{uuid.uuid4().hex}"
        script = (
            f"cd {shlex.quote(str(self.cwd))}\n{line}\nrc=$?\n"
            f'printf "%s\\n%s\\n" "$PWD" "$PATH" > {shlex.quote(str(state))}\nexit $rc\n'
        )
        done = subprocess.run(
            ["bash", "-c", script],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if state.exists():
            cwd, path = state.read_text("utf-8").splitlines()[:2]
            state.unlink()
            self.cwd, self.env["PATH"] = Path(cwd), path
        self.log.append(f"$ {line}\n(exit {done.returncode})\n{done.stdout}{done.stderr}")
        self.last = done
        return done

    def expect(self, line: str, code: int = 0, *said: str, timeout: float = 300) -> str:
        done = self.run(line, timeout)
        out = done.stdout + done.stderr
        assert done.returncode == code, "\n".join(self.log[-3:])
        for text in said:
            assert text in out, f"{text!r} not in the output of {line!r}:\n{out[-3000:]}"
        quiet = [n for n in NOISE if n in done.stderr]
        assert not quiet, f"{line!r} printed {quiet}:\n{done.stderr[-3000:]}"
        return out


def fresh_copy(dest: Path) -> Path:
    """The project's tracked (and untracked, not ignored) files, as a clone has them.

    CI runs the suite in a copy without ``.git``; there an empty repository of our own lists the
    copy's files by the project's own ignore rules (a bare GIT_DIR with ROOT as its work tree).
    """
    command = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    with tempfile.TemporaryDirectory() as scratch:
        env = dict(os.environ)
        inside = subprocess.run(
            ["git", "rev-parse", "--is-inside-work-tree"], cwd=ROOT, capture_output=True
        )
        if inside.returncode != 0:
            subprocess.run(["git", "init", "-q", "--bare", scratch], check=True)
            env.update(GIT_DIR=scratch, GIT_WORK_TREE=str(ROOT))
        listed = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, check=True
        ).stdout.split(b"\0")
    for rel in (p.decode() for p in listed if p):
        source = ROOT / rel
        if source.is_file() and not source.is_symlink():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / rel)
        elif source.is_symlink():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            (dest / rel).symlink_to(os.readlink(source))
    return dest


def base_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "VIRTUAL_ENV", "WAVEDECK_", "PIP_")) and k != "HOME"
    }
    env["HOME"] = str(home)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    # pip's downloads are cached outside the throwaway HOME (they are not the user's state).
    env["PIP_CACHE_DIR"] = os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "Readme Tester"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "readme@example.invalid"
    return env


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(the folder holding the fresh copy ``wavedeck/``, the throwaway HOME)."""
    base = tmp_path_factory.mktemp("readme")
    fresh_copy(base / "src" / "wavedeck")
    home = base / "home"
    home.mkdir()
    yield base / "src", home
    for sandbox in (home / "wavedeck-demo", home / "src" / "myproject"):
        kill_agents(sandbox)


# -- the examples (no network) -------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_examples_run_as_written_from_a_fresh_copy(place: tuple[Path, Path]) -> None:
    src, home = place
    env = base_env(home)
    # The wavedeck under test (this checkout's, installed for the suite) on PATH.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    shell = Session(src / "wavedeck", env)

    demo, check, check_json, show, strict = section("Checking a plan")
    shell.expect(demo, 0, "sandbox ready")
    assert shell.cwd == home / "wavedeck-demo"
    shell.expect(check, 0, "0 errors")
    shell.expect(check_json, 0)
    found = json.loads(shell.last.stdout)
    assert any(f["code"] == "prediction-skipped" for f in found["findings"]), found
    shell.expect(show, 0, "w1-a1")
    shell.expect(strict, 0, "0 errors")

    shell = Session(src / "wavedeck", env)
    skeleton, check_zajel, made, made_11, from_issues = section("Making a plan")
    shell.expect(skeleton, 0, "944 paths")
    assert shell.cwd == home / "zajel"
    out = shell.expect(check_zajel, 1, "5 errors")
    assert out.count("error[predicted-overlap]") == 5
    shell.expect(made, 0, "1 wave of at most 5 agents, 0 errors")
    assert len(re.findall(r"^### Agent", (home / "zajel" / "made.md").read_text(), re.M)) == 5
    shell.expect(made_11, 0, "3 waves of at most 5 agents, 0 errors")
    waves = re.findall(r"^## Wave \d+ .*\((\d+) issues?, (\d+) agents?\)", (home / "zajel" / "made-11.md").read_text(), re.M)  # fmt: skip
    assert [a for _, a in waves] == ["5", "5", "1"]
    shell.expect(from_issues, 0, "0 errors")


def own_repository(root: Path) -> Path:
    """A small project of one's own: two files, two issues with fix plans, a unittest."""
    files = {
        "src/__init__.py": "",
        "src/api/__init__.py": "",
        "src/web/__init__.py": "",
        "src/api/server.py": 'def handle(err):\n    return {"error": repr(err)}\n',
        "src/web/page.py": 'def page(name):\n    return "<h1>" + name + "</h1>"\n',
        "test_smoke.py": (
            "import unittest\n\n\nclass Smoke(unittest.TestCase):\n"
            "    def test_imports(self):\n        import src.api.server, src.web.page  # noqa\n"
        ),
        "issues/issue-api-1.md": "# [HIGH] Errors leak the traceback\n",
        "issues/issue-api-1-plan.md": "**Files to modify**: `src/api/server.py`\n",
        "issues/issue-web-1.md": "# [HIGH] The page echoes its input unescaped\n",
        "issues/issue-web-1-plan.md": "**Files to modify**: `src/web/page.py`\n",
        ".gitignore": "__pycache__/\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, "utf-8")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "start"]):
        subprocess.run(
            ["git", *args], cwd=root, check=True, capture_output=True, env=base_env(root)
        )
    return root


def test_the_quick_start_plan_and_settings_are_valid(tmp_path: Path) -> None:
    """The Markdown plan reads as the quick start says (two agents, each its file), and both
    ``wavedeck.toml`` blocks of the quick start are accepted with the presets they name."""
    from wavedeck.agents.configread import load_config
    from wavedeck.plan.checking.checks import run_checks
    from wavedeck.plan.reading.loader import load_plan

    text = README.read_text("utf-8")
    quick = text[text.index("## Quick start") : text.index("## Commands")]
    [(_, plan_lines)] = blocks("markdown", quick)
    repo = own_repository(tmp_path / "myproject")
    (repo / "waves.md").write_text("\n".join(plan_lines) + "\n", "utf-8")
    plan = load_plan(repo / "waves.md").plan
    assert [(a.id, a.paths) for a in plan.agents] == [
        ("w1-a1", ("src/api/server.py",)),
        ("w1-a2", ("src/web/page.py",)),
    ]
    assert not [f for f in run_checks(plan, ()) if f.level == "error"]
    settings = [lines for _, lines in blocks("toml", quick)]
    assert len(settings) == 2
    for lines, preset in zip(settings, ("claude", "codex"), strict=True):
        assert len([line for line in lines if not line.startswith("#")]) == 3
        (repo / "wavedeck.toml").write_text("\n".join(lines) + "\n", "utf-8")
        config = load_config(repo)
        assert (config.plan, config.agent.preset) == ("waves.md", preset)
        assert config.tests.commands


# -- the quick start, end to end (network for pip, tmux, the real agent CLIs) ---------------------


class Tmux:
    def __init__(self) -> None:
        self.socket = f"wavedeck-readme-{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def run(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20
        ).stdout

    def start(self, script: str, cwd: Path, env: dict[str, str]) -> None:
        subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", "new-session", "-d", "-x", "120",
             "-y", "40", "-s", "room", "-c", str(cwd), "bash", "-c", f"{script}; sleep 60"],
            check=True, env=env, timeout=20,
        )  # fmt: skip

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-J", "-t", "room")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "room", *keys)

    def wait_for(self, *texts: str, timeout: float = 90, times: int = 1) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if all(screen.count(t) >= times for t in texts):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{texts} not on screen within {timeout}s:\n{screen}")
            time.sleep(0.2)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=20)


@pytest.fixture(scope="module")
def installed(place: tuple[Path, Path]) -> tuple[Path, dict[str, str]]:
    """The quick start's install lines, as written, in the throwaway HOME (once): the folder
    they end in and the environment (PATH) they leave."""
    shell, _home = _installed(place)
    return shell.cwd, dict(shell.env)


def _installed(place: tuple[Path, Path]) -> tuple[Session, Path]:
    src, home = place
    env = base_env(home)
    shell = Session(src, env)
    _clone, pipx, venv, export = section("Quick start")[:4]
    if shutil.which("pipx") is None:
        # .ci/run installs pipx (Debian's package); elsewhere, say what is not checked.
        if os.environ.get("CI"):
            pytest.fail("pipx is not installed: the README's pipx line cannot be run")
        print("pipx is not installed: the README's pipx line was not run")
    else:
        shell.expect(pipx, 0, timeout=600)
        pipx_bin = home / ".local" / "bin" / "wavedeck"
        assert subprocess.run([str(pipx_bin), "--version"], capture_output=True).returncode == 0
    shell.expect(venv, 0, timeout=600)
    shell.expect(export, 0)
    assert shell.env["PATH"].startswith(f"{home}/.venvs/wavedeck/bin")
    return shell, home


def _room(preset: str, place: tuple[Path, Path], installed: tuple[Path, dict[str, str]]) -> None:
    """From ``cd ~/src/myproject`` to a committed wave 1, with the real CLI of ``preset``."""
    program = require(preset)
    _src, home = place
    shell = Session(installed[0], dict(installed[1]))
    repo = home / "src" / "myproject"
    if repo.exists():  # the other preset's run: one's repository as it was before it
        kill_agents(repo)
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    own_repository(repo)
    cd, make, check = section("Quick start")[4:7]
    [open_room] = section("Quick start")[7:]
    shell.expect(cd, 0)
    assert shell.cwd == repo
    shell.expect(make, 0, "2 issues, 1 wave", "0 errors")
    shell.expect(check, 0, "0 errors, 0 warnings")
    text = README.read_text("utf-8")
    quick = text[text.index("## Quick start") : text.index("## Commands")]
    settings = {preset: lines for (_, lines), preset in zip(blocks("toml", quick), ("claude", "codex"), strict=True)}  # fmt: skip
    (repo / "wavedeck.toml").write_text("\n".join(settings[preset]) + "\n", "utf-8")

    env = dict(shell.env)
    env["PATH"] = f"{env['PATH']}{os.pathsep}{program.parent}"  # the CLI, as the user has it
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    heads = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=repo, capture_output=True, text=True, check=True).stdout  # fmt: skip
    tmux = Tmux()
    try:
        with _model(preset, repo, home) as extra:
            env.update(extra)
            tmux.start(f"cd {shlex.quote(str(repo))} && {open_room}", repo, env)
            tmux.wait_for("1 w1-a1", "2 w1-a2", "Wave 1 ready", timeout=60)
            tmux.keys("s")
            tmux.wait_for("✔ succeeded", timeout=150, times=2)
            tmux.keys("t")
            tmux.wait_for("Tests — wave 1", "passed in", timeout=90)
            tmux.keys("Escape")
            tmux.wait_for("s Start", timeout=20)
            tmux.keys("c")
            tmux.wait_for("Checkpoint — wave 1", "ready to commit", timeout=30)
            tmux.keys("C-s")
            tmux.wait_for("plan complete", timeout=30)
            count = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=repo, capture_output=True, text=True, check=True).stdout  # fmt: skip
            assert int(count) == int(heads) + 1
            tmux.keys("q")  # no agent runs: it quits
            deadline = time.monotonic() + 20
            while "^p Commands" in (screen := tmux.screen()) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert "^p Commands" not in screen, screen
            assert not [n for n in NOISE if n in screen], screen  # the exit prints no warning
    finally:
        tmux.kill()
        kill_agents(repo)


class _model:
    """The scripted model for ``preset`` on 127.0.0.1, and the variables that point its CLI
    there (as a user's login would)."""

    def __init__(self, preset: str, repo: Path, home: Path) -> None:
        self.preset, self.repo, self.home = preset, repo, home

    def __enter__(self) -> dict[str, str]:
        from tests.e2e.real_cli_kit import FILES, key

        if self.preset == "claude":
            from tests.e2e.claude_kit import fixes
            from tests.e2e.model_server import ModelServer, claude_env

            self.server = ModelServer({key(a): fixes(self.repo, a) for a in FILES})
            url = self.server.__enter__().url
            return claude_env(url, self.home)
        from tests.e2e.codex_server import CodexServer, codex_env, write_codex_config
        from tests.e2e.test_real_codex import fixes as codex_fixes

        self.server = CodexServer({key(a): codex_fixes(a) for a in FILES})
        url = self.server.__enter__().url
        write_codex_config(self.home, url)
        return codex_env(self.home)

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(None, None, None)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_the_quick_start_with_claude_code(
    place: tuple[Path, Path], installed: tuple[Path, dict[str, str]]
) -> None:
    _room("claude", place, installed)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_the_quick_start_with_codex(
    place: tuple[Path, Path], installed: tuple[Path, dict[str, str]]
) -> None:
    _room("codex", place, installed)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_the_first_line_installs_and_opens_the_demo(place: tuple[Path, Path]) -> None:
    """``python3 -m venv .venv && … && .venv/bin/wavedeck demo`` in the fresh copy: the control
    room opens on the demo's sandbox; quitting prints where it is, and nothing else."""
    src, home = place
    env = base_env(home)
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    line = section("wavedeck")[0]
    tmux = Tmux()
    try:
        tmux.start(line, src / "wavedeck", env)
        tmux.wait_for("1 w1-a1", "5 w1-a5", "s Start", timeout=600)
        tmux.keys("q")  # nothing started: it quits
        screen = tmux.wait_for("demo sandbox kept at", timeout=30)
        assert not [n for n in NOISE if n in screen.split("Successfully installed")[-1]], screen
    finally:
        tmux.kill()
        for sandbox in Path(tempfile.gettempdir()).glob("wavedeck-demo-*"):
            kill_agents(sandbox)
