"""A real temporary git repository for the git-layer tests, with helpers for odd states.

Every helper runs the real ``git`` binary (with the test's isolated global config, set by the
``repo`` fixture), so a test sees exactly what a user's repository would show.
"""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from wavedeck.agents.git.cmd import git_process


def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    """Poll ``predicate`` until it is true or ``timeout_s`` passed (file-system waits only)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def stream_head_pack(root: Path) -> bytes:
    """What ``git_process`` streams for ``pack-objects --revs`` of HEAD in ``root`` (the pack
    sent to a host), asserting the command ended with status 0."""

    async def stream() -> bytes:
        async with git_process(root, ("pack-objects", "--revs", "--stdout", "-q")) as proc:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(b"HEAD\n")
            proc.stdin.close()
            data = await proc.stdout.read()
            assert await proc.wait() == 0
            return data

    return asyncio.run(stream())


class Repo:
    """A working tree at ``root`` with one initial commit (``a.txt``, ``b.txt``, ``lib/c.py``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "dev@example.com")
        self.git("config", "user.name", "Dev")
        self.write("a.txt", "".join(f"line {i}\n" for i in range(1, 21)))
        self.write("b.txt", "bee\n")
        self.write("lib/c.py", "print('c')\n")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "initial")

    def git(self, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
        full_env = {**os.environ, **(env or {})}
        result = subprocess.run(
            ["git", *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def rc(self, *args: str) -> int:
        return subprocess.run(
            ["git", *args], cwd=self.root, capture_output=True, timeout=60
        ).returncode

    def write(self, path: str, text: str | bytes, mode: int | None = None) -> Path:
        full = self.root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            full.write_bytes(text)
        else:
            full.write_text(text)
        if mode is not None:
            full.chmod(mode)
        return full

    def read(self, path: str) -> str:
        return (self.root / path).read_text()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def show(self, rev: str, path: str) -> str:
        return self.git("show", f"{rev}:{path}")

    def commit_files(self, rev: str = "HEAD") -> list[str]:
        """Paths the commit ``rev`` changed relative to its parent."""
        out = self.git("diff-tree", "--no-commit-id", "--name-only", "-r", "-z", f"{rev}^", rev)
        return sorted(p for p in out.split("\0") if p)

    def commit(self, message: str, **files: str) -> str:
        for path, text in files.items():
            self.write(path, text)
            self.git("add", "--", path)
        self.git("commit", "-q", "-m", message)
        return self.head()

    def hook(self, name: str, body: str) -> Path:
        """Install an executable hook script in ``.git/hooks``."""
        path = self.root / ".git" / "hooks" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n" + body + "\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return path

    def script(self, name: str, body: str) -> Path:
        """An executable shell script outside the work tree's tracked files (in ``.git``)."""
        path = self.root / ".git" / name
        path.write_text("#!/bin/sh\n" + body + "\n")
        path.chmod(0o755)
        return path

    def make_conflict(self, op: str = "merge") -> None:
        """Leave the repository in the middle of a conflicted ``merge``, ``rebase``,
        ``cherry-pick`` or ``revert`` on ``a.txt``."""
        self.git("checkout", "-q", "-b", "side")
        side = self.commit("side change", **{"a.txt": "side\n"})
        self.git("checkout", "-q", "main")
        self.commit("main change", **{"a.txt": "main\n"})
        if op == "merge":
            assert self.rc("merge", "side") != 0
        elif op == "cherry-pick":
            assert self.rc("cherry-pick", side) != 0
        elif op == "rebase":
            assert self.rc("rebase", "side") != 0
        elif op == "revert":
            self.commit("main again", **{"a.txt": "main 2\n"})
            assert self.rc("revert", "--no-edit", "HEAD~1") != 0
        else:
            raise ValueError(op)
