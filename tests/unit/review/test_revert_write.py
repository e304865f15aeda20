"""A hunk revert (and its undo) rewrites the operator's file crash-safely (issue #20, "nothing of
the operator's is lost"): the file keeps its mode, and a write cut short mid-way (a real file
size limit, ``RLIMIT_FSIZE``: the same ``EFBIG`` a quota gives, and what a full disk does to a
write) leaves the file exactly as it was, with no temporary left behind.

``replace_file`` is driven in a child process so the limit is that process's alone; the engine
test lowers the limit of this process around the one revert call."""

from __future__ import annotations

import errno
import os
import resource
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.unit.wave.enginekit import opened, sandbox, wait_agents
from wavedeck.agents.events import GateRefused
from wavedeck.agents.wave.file_write import replace_file

LIMIT = 64 * 1024  # bytes any file may grow to while the limit is on
ODD_MODE = 0o640  # neither the temporary's 0o600 nor the umask's 0o644: only a kept mode gives it

CUT_SHORT = """
import os, resource, signal, sys
from pathlib import Path
from wavedeck.agents.wave.file_write import replace_file

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG from write(), not a killed process
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), resource.RLIM_INFINITY))
try:
    replace_file(Path(sys.argv[1]), b"new line\\n" * 100_000, mode=0o600)
except OSError as exc:
    print(exc.errno)
else:
    print("written")
"""


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp." in p.name)


@contextmanager
def _file_size_limit(limit: int) -> Iterator[None]:
    """Writes past ``limit`` bytes fail with ``EFBIG`` in this process, for the ``with``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    was = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, was)


def test_replace_file_writes_whole_with_the_mode_given(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_bytes(b"old\n")
    os.chmod(target, 0o644)
    replace_file(target, b"new\n", mode=ODD_MODE)
    assert target.read_bytes() == b"new\n"
    assert _mode(target) == ODD_MODE
    assert _leftovers(tmp_path) == []


@pytest.mark.timeout(60)
def test_a_write_cut_short_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    original = b"the operator's notes\n" * 100  # 2 KiB: well under the limit
    target.write_bytes(original)
    os.chmod(target, ODD_MODE)
    done = subprocess.run(
        [sys.executable, "-c", CUT_SHORT, str(target), str(LIMIT)],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # The write really failed part-way (an in-place write would have left 64 KiB of new lines).
    assert done.stdout.strip() == str(errno.EFBIG)
    assert target.read_bytes() == original
    assert _mode(target) == ODD_MODE
    assert _leftovers(tmp_path) == []


@pytest.mark.timeout(120)
async def test_a_hunk_revert_keeps_the_mode_and_a_failed_one_keeps_the_file(root: Path) -> None:
    repo = sandbox(root)
    async with opened(repo) as (sup, col):
        await sup.start_wave(1)
        await wait_agents(sup, 1)
        a1 = (await sup.review_changes(1)).of("w1-a1")
        assert a1 is not None and a1.files
        path = a1.files[0].path
        target = repo / path
        agent_text = target.read_text()
        # The operator's own lines at the top, more than the limit: a revert has to write them.
        own = "".join(f"# the operator's line {i}\n" for i in range(LIMIT // 20))
        target.write_text(own + agent_text)
        os.chmod(target, ODD_MODE)
        change = (await sup.review_changes(1)).file(path)
        assert change is not None and len(change.patch.hunks) == 2

        before = target.read_bytes()
        with _file_size_limit(LIMIT):
            reverted = await sup.revert_hunk(1, change, 1)
        assert not reverted
        await col.until(
            lambda ev: any(isinstance(e, GateRefused) and e.code == "revert-failed" for e in ev)
        )
        (refused,) = [e for e in col.of(GateRefused) if e.code == "revert-failed"]
        assert refused.paths == (path,)
        assert target.read_bytes() == before  # all of it: the operator's lines and the agent's
        assert _mode(target) == ODD_MODE
        assert _leftovers(target.parent) == []
        assert not sup.review_record(1).reverts  # nothing recorded for a revert not made

        assert await sup.revert_hunk(1, change, 1)  # no limit: the agent's hunk goes
        assert target.read_text().startswith(own)
        assert "sim-agent" not in target.read_text()
        assert _mode(target) == ODD_MODE
        assert await sup.undo_revert(1) == path
        assert target.read_bytes() == before
        assert _mode(target) == ODD_MODE
        assert _leftovers(target.parent) == []
