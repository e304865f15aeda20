"""Where the real agent CLIs are, and what a test does when one is missing.

``.ci/run`` installs the pinned versions (``tests/e2e/agent_clis/package.json`` and its lock) with
``npm install --no-save`` into ``tests/e2e/agent_clis/node_modules`` (Claude Code, Codex, Gemini CLI, opencode,
Qwen Code), and aider (``aider-requirements.txt``, PyPI) into a venv of its own,
``tests/e2e/agent_clis/aider-venv`` (its exact pins clash with wavedeck's); a developer can run
the same commands or have the CLIs on PATH. A test that needs a CLI that is not there skips, saying how to install it;
under CI (``WAVEDECK_REQUIRE_AGENT_CLIS=1``, set by ``.ci/run``) it fails instead, so a broken
install cannot pass as a green run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

CLIS = Path(__file__).resolve().parent / "agent_clis"
BIN = CLIS / "node_modules" / ".bin"
AIDER_VENV = CLIS / "aider-venv"
INSTALL = f"npm install --no-save --prefix {CLIS} --no-audit --no-fund"
INSTALL_AIDER = (
    f"python3 -m venv {AIDER_VENV} && {AIDER_VENV}/bin/pip install -r {CLIS}/aider-requirements.txt"
)
NPM_PACKAGES = {
    "claude": "@anthropic-ai/claude-code",
    "codex": "@openai/codex",
    "gemini": "@google/gemini-cli",
    "opencode": "opencode-ai",
    "qwen": "@qwen-code/qwen-code",
}


def _find(name: str) -> Path | None:
    if name == "aider" and os.environ.get("WAVEDECK_AIDER"):  # .ci/run: the checkout's venv
        return Path(os.environ["WAVEDECK_AIDER"])
    local = AIDER_VENV / "bin" / name if name == "aider" else BIN / name
    if local.exists():
        return local
    found = shutil.which(name)
    return Path(found) if found else None


def claude_program() -> Path | None:
    return _find("claude")


def codex_program() -> Path | None:
    return _find("codex")


def program(name: str) -> Path | None:
    """Where the CLI ``name`` is (the pinned install first, then PATH)."""
    return _find(name)


@cache
def _version(program: Path) -> str | None:
    """``program --version`` (None when it does not run: a stub left by a failed install)."""
    try:
        done = subprocess.run(
            [str(program), "--version"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "DISABLE_AUTOUPDATER": "1"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def require(name: str) -> Path:
    """The CLI ``name`` ready to run, else skip (or fail under CI) with the reason."""
    program = _find(name)
    reason = None
    install = INSTALL_AIDER if name == "aider" else INSTALL
    if program is None:
        reason = f"the real `{name}` CLI is not installed: run `{install}`"
    elif _version(program) is None:
        reason = f"`{program} --version` fails: reinstall with `{install}`"
    if reason is None:
        assert program is not None
        return program
    if os.environ.get("WAVEDECK_REQUIRE_AGENT_CLIS") == "1":
        pytest.fail(reason + " (WAVEDECK_REQUIRE_AGENT_CLIS=1)")
    pytest.skip(reason)


def version(program: Path) -> str:
    return _version(program) or "?"


def pinned() -> dict[str, str]:
    """Binary name -> the version ``package.json`` (aider: ``aider-requirements.txt``) pins."""
    deps = json.loads((CLIS / "package.json").read_text("utf-8"))["dependencies"]
    out = {name: deps[package] for name, package in NPM_PACKAGES.items()}
    for line in (CLIS / "aider-requirements.txt").read_text("utf-8").splitlines():
        if line.startswith("aider-chat=="):
            out["aider"] = line.split("==", 1)[1].strip()
    return out


def installed(verbose: bool = False, only: str | None = None) -> bool:
    """Every pinned CLI (``only``: ``npm`` or ``aider``) installed here answers ``--version``
    with its pinned version."""
    ok = True
    for name, wanted in pinned().items():
        if only is not None and (name == "aider") != (only == "aider"):
            continue
        program = AIDER_VENV / "bin" / name if name == "aider" else BIN / name
        got = _version(program) if program.exists() else None
        good = got is not None and wanted in got.split()
        ok = ok and good
        if verbose:
            print(f"{name}: {got or 'not installed'} (pinned {wanted})", file=sys.stderr)
    return ok


if __name__ == "__main__":
    # `.ci/run`: exit 0 when the pinned CLIs are installed (--verbose: say what is there;
    # --npm / --aider: only those)
    group = "npm" if "--npm" in sys.argv else "aider" if "--aider" in sys.argv else None
    sys.exit(0 if installed("--verbose" in sys.argv, group) else 1)
