"""A huge file an agent writes costs wavedeck a bounded amount of memory (issue #20).

A 1 GiB sparse file (and a 64 MiB text file whose diff is twice that) go through what wavedeck
reads: the changed-file listing, the fingerprint of what the tests saw, the diff review (one
file's, and the review's patch of the wave), the digests of ``.git``'s files. Each step runs in a child Python process that measures its own peak
resident memory (``VmHWM``, reset before each step through ``/proc/self/clear_refs``), so git's
own memory is not counted and nothing is timed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.git.repokit import Repo

GiB = 1 << 30
LIMIT_MB = 80  # growth over the imports allowed for any step (the file is 1,024 MB)

PROBE = r"""
import json, sys
from pathlib import Path
from wavedeck.agents.git import content
from wavedeck.agents.git.repo import GitRepo

def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

def reset():
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")

root, base = Path(sys.argv[1]), sys.argv[2]
repo = GitRepo(root)
steps = {
    "changed_files": lambda: repo.changed_files(base),
    "fingerprint": lambda: content.fingerprint(root, ["big.txt", "huge.bin", "new-big.txt"]),
    "file_diff_text": lambda: repo.file_diff("big.txt", base),
    "file_diff_huge_new": lambda: repo.file_diff("huge.bin", base),
    "file_diff_untracked": lambda: repo.file_diff("new-big.txt", base),
    "count_lines": lambda: content.count_lines(root / "new-big.txt"),
    # the review's patch of the whole wave: start tree against the working tree's
    "tree_patch": lambda: repo.tree_patch(base, repo.worktree_tree(), ["big.txt"]),
}
reset()
result = {"baseline": peak_mb()}
for name, step in steps.items():
    reset()
    before = peak_mb()
    step()
    result[name] = peak_mb() - before
print(json.dumps(result))
"""


def _sparse(path: Path, size: int) -> None:
    with path.open("wb") as fh:
        fh.truncate(size)


@pytest.mark.timeout(300)
def test_huge_files_are_read_in_bounded_memory(repo: Repo, tmp_path: Path) -> None:
    with open("/proc/self/clear_refs", "w") as fh:  # the probe's way to reset its peak
        fh.write("5")
    big = "".join(f"line {i}\n" for i in range(4_000_000))  # ~50 MB of text
    repo.write("big.txt", big)
    repo.git("add", "big.txt")
    repo.git("commit", "-q", "-m", "a file that will change")
    base = repo.head()
    repo.write("big.txt", big.replace("line", "LINE"))  # a diff of ~100 MB
    # Untracked (an agent's new file): listed without git hashing it, read by the fingerprint.
    _sparse(repo.root / "huge.bin", GiB)
    repo.write("new-big.txt", big[: 40 * 1024 * 1024])  # under the 50 MB counting cap
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(repo.root), base],
        capture_output=True,
        text=True,
        timeout=280,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    growth = json.loads(done.stdout)
    too_much = {k: round(v) for k, v in growth.items() if k != "baseline" and v > LIMIT_MB}
    assert too_much == {}, growth
