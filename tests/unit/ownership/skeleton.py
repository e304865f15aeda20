"""A skeleton of the zajel repository: its 944 paths at the plan's commit, and three commits that
touch the same paths as the real waves. Built with plumbing (one placeholder blob, the real issue
files, ``update-index --index-info``, ``commit-tree``) so it takes well under a second."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_OPTIONAL_LOCKS": "0",
}


def git(repo: Path, *args: str, data: bytes | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=repo, input=data, capture_output=True, env=ENV, check=True, timeout=60
    )
    return proc.stdout.decode().strip()


def _blob(repo: Path, content: bytes) -> str:
    return git(repo, "hash-object", "-w", "--stdin", data=content)


def _commit(repo: Path, index_lines: list[str], message: str, parent: str | None) -> str:
    git(repo, "update-index", "--index-info", data=("\n".join(index_lines) + "\n").encode())
    tree = git(repo, "write-tree")
    args = ["commit-tree", tree, "-m", message] + (["-p", parent] if parent else [])
    commit = git(repo, *args)
    git(repo, "update-ref", "refs/heads/main", commit)
    return commit


def build_skeleton(zajel: Path, repo: Path, plan: Path) -> dict[str, str]:
    """Build the repo at ``repo``; return the commits (also tags) ``base``, ``wave1..3``."""
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    placeholder = _blob(repo, b"placeholder\n")
    tree = (zajel / "tree-021f36e.txt").read_text().split("\n")
    paths = [p for p in tree if p]
    # The real issue files where they were; the plan itself lived next to them.
    real = {p: zajel / "issues" / p.rsplit("/", 1)[-1] for p in paths if p.startswith("issues/")}
    real["issues/PARALLEL-EXECUTION-PLAN.md"] = plan
    sources = "\n".join(str(f) for f in real.values()) + "\n"
    blobs = dict(
        zip(
            real,
            git(repo, "hash-object", "-w", "--stdin-paths", data=sources.encode()).split(),
            strict=True,
        )
    )
    lines = [f"100644 {blobs.get(path, placeholder)}\t{path}" for path in paths]
    commits = {"base": _commit(repo, lines, "zajel at 021f36e (skeleton)", None)}
    parent = commits["base"]
    for n in (1, 2, 3):
        changed = _blob(repo, f"changed by wave {n}\n".encode())
        wave_lines = []
        for row in (zajel / "waves" / f"wave{n}.name-status").read_text().splitlines():
            status, path = row.split("\t")[:2]
            assert status in {"A", "M"}, row  # the real waves only add and modify
            wave_lines.append(f"100644 {changed}\t{path}")
        parent = _commit(repo, wave_lines, f"wave {n}", parent)
        commits[f"wave{n}"] = parent
    # The work tree and main stay at the plan's commit (what ``plan check --repo`` sees); the
    # waves are tags, for audits.
    for name, commit in commits.items():
        git(repo, "update-ref", f"refs/tags/{name}", commit)
    git(repo, "update-ref", "refs/heads/main", commits["base"])
    git(repo, "read-tree", commits["base"])
    git(repo, "checkout-index", "-a", "-f")
    return commits


if __name__ == "__main__":
    # `python3 tests/unit/ownership/skeleton.py DIR` (README, "Making a plan"): the reference
    # plan's repository at DIR, to try plan check and plan make on the data the README quotes.
    import sys

    data = Path(__file__).resolve().parents[2] / "data"
    if len(sys.argv) != 2 or Path(sys.argv[1]).exists():
        sys.exit("usage: skeleton.py DIR (a folder that does not exist yet)")
    build_skeleton(data / "zajel", Path(sys.argv[1]), data / "plans" / "security-waves.md")
    print(f"{sys.argv[1]}: the zajel skeleton (944 paths, issues/ with the fix plans)")
