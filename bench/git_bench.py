"""Benchmark of the git layer's review listing against plain git, measured in the same run.

A repository of 2,000 files (4 folders deep) with 50 changed (45 edited, 5 new untracked) is
built in a temporary folder. Timed, median of several runs each:

- ``list_ms``: ``GitRepo.changed_files(base)`` (tracked diff with renames and counts, plus the
  untracked files with their line counts);
- ``raw_list_ms``: ``git diff --numstat base`` run directly with ``subprocess`` (the baseline);
- ``first_diff_ms``: ``GitRepo.file_diff`` of the first listed file; ``raw_diff_ms`` the same
  ``git diff base -- FILE`` run directly.

The four are interleaved run by run so that load from other processes affects all of them alike.

Prints one JSON object; exits 1 if ``ratio_list`` > 2 or ``first_diff_ms`` > 100.
Usage: ``python3 bench/git_bench.py [--quick]`` (``--quick``: fewer repetitions).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wavedeck.agents.git.repo import GitRepo

FILES = 2000
EDITED = 45
UNTRACKED = 5
MAX_RATIO = 2.0
MAX_FIRST_DIFF_MS = 100.0


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def build(root: Path) -> str:
    """Create the repository; return the base commit."""
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "bench@example.com")
    _git(root, "config", "user.name", "Bench")
    for i in range(FILES):
        folder = root / f"pkg{i % 10}" / f"mod{i % 7}" / f"sub{i % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        body = "".join(f"def f{j}_{i}(x):\n    return x + {j}\n\n" for j in range(20))
        (folder / f"file{i}.py").write_text(body)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    base = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()
    tracked = sorted(root.glob("pkg*/mod*/sub*/file*.py"))
    for path in tracked[:: FILES // EDITED][:EDITED]:
        with path.open("a") as out:
            out.write("\ndef added(x):\n    return -x\n")
    for i in range(UNTRACKED):
        (root / "pkg0" / f"new{i}.py").write_text("NEW = True\n" * (i + 1))
    return base


def medians_ms(actions: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Median wall time of each action; the actions are interleaved run by run, so a burst of
    load on a shared machine hits ours and the baseline alike."""
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for action in actions.values():
        action()  # warm the page cache and git's own start-up
    for _ in range(runs):
        for name, action in actions.items():
            started = time.perf_counter()
            action()
            samples[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    runs = 9 if quick else 31
    with tempfile.TemporaryDirectory(prefix="wavedeck-git-bench-") as tmp:
        root = Path(tmp)
        env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
        os.environ.update(env)
        base = build(root)
        repo = GitRepo(root)
        files = repo.changed_files(base)
        assert len(files) == EDITED + UNTRACKED, len(files)
        first = files[0].path

        def raw_list() -> object:
            return subprocess.run(
                ["git", "diff", "--numstat", base], cwd=root, check=True, capture_output=True
            )

        def raw_diff() -> object:
            return subprocess.run(
                ["git", "diff", base, "--", first], cwd=root, check=True, capture_output=True
            )

        timed = medians_ms(
            {
                "list": lambda: repo.changed_files(base),
                "raw_list": raw_list,
                "first_diff": lambda: repo.file_diff(first, base),
                "raw_diff": raw_diff,
            },
            runs,
        )
        list_ms, raw_list_ms = timed["list"], timed["raw_list"]
        first_diff_ms, raw_diff_ms = timed["first_diff"], timed["raw_diff"]
        repo.close()
    ratio = list_ms / raw_list_ms
    result = {
        "files": FILES,
        "changed": len(files),
        "runs": runs,
        "list_ms": round(list_ms, 2),
        "raw_list_ms": round(raw_list_ms, 2),
        "ratio_list": round(ratio, 2),
        "first_diff_ms": round(first_diff_ms, 2),
        "raw_diff_ms": round(raw_diff_ms, 2),
        "targets": {"ratio_list": MAX_RATIO, "first_diff_ms": MAX_FIRST_DIFF_MS},
    }
    result["ok"] = ratio <= MAX_RATIO and first_diff_ms <= MAX_FIRST_DIFF_MS
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
