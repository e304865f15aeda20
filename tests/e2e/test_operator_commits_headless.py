"""End to end: the operator commits mid-wave, and `wavedeck run --headless` goes on (#20).

Before, every headless run after such a commit exited 1 ("HEAD moved since the wave started"),
forever. Now the checkpoint is built on top of the operator's commit when their paths and the
wave's do not meet; when a file was changed by both, the refusal names it and the command to
adopt it (`--adopt-head`), which commits it as it is now on top of their commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.headless_kit import events, kill_agents, make_demo, run
from tests.sandboxkit import git

OWNED = "packages/headless-client/zajel/client.py"  # w1-a1's in the demo
WAVE_1 = ("run", "--headless", "--wave", "1", "--yes", "--json")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "sandbox"
    yield folder
    kill_agents(folder)


def _refusals(stdout: str) -> list[dict[str, object]]:
    return [e for e in events(stdout) if e["event"] == "gate_refused"]


@pytest.mark.timeout(120)
def test_a_headless_run_goes_on_on_top_of_the_operators_commit(sandbox: Path) -> None:
    make_demo(sandbox)
    first = run(sandbox, *WAVE_1)  # stops at the demo's stray file, the wave tested
    assert first.returncode == 1
    assert [r["code"] for r in _refusals(first.stdout)] == ["stray-paths"]
    (sandbox / "README.md").write_text("the operator's own docs\n", "utf-8")
    git(sandbox, "commit", "-qm", "docs, mid-wave", "--", "README.md")
    mine = git(sandbox, "rev-parse", "HEAD")

    second = run(sandbox, *WAVE_1, "--accept-violations")
    assert second.returncode == 0, second.stdout[-3000:]
    sha = next(e["commit"] for e in events(second.stdout) if e["event"] == "checkpoint_committed")
    assert git(sandbox, "rev-parse", f"{sha}^") == mine
    assert git(sandbox, "show", "HEAD:README.md") == "the operator's own docs"
    assert "wavedeck-sim" in git(sandbox, "show", f"HEAD:{OWNED}")


@pytest.mark.timeout(120)
def test_a_file_both_changed_is_named_with_the_command_that_adopts_it(sandbox: Path) -> None:
    make_demo(sandbox)
    assert run(sandbox, *WAVE_1).returncode == 1  # agents done, tested, stopped at the stray
    # The operator commits a line of theirs to the agent's file (from its committed version),
    # and keeps it in the file as well.
    line = "# the operator's own line\n"
    committed = git(sandbox, "show", f"HEAD:{OWNED}") + "\n"
    blob = git(sandbox, "hash-object", "-w", "--stdin", input_text=line + committed)
    git(sandbox, "update-index", "--cacheinfo", f"100644,{blob},{OWNED}")
    git(sandbox, "commit", "-qm", "my line")
    mine = git(sandbox, "rev-parse", "HEAD")
    path = sandbox / OWNED
    path.write_text(line + path.read_text("utf-8"), "utf-8")

    second = run(sandbox, *WAVE_1, "--accept-violations")
    assert second.returncode == 1
    refused = _refusals(second.stdout)[-1]
    assert refused["code"] == "head-moved" and refused["paths"] == [OWNED]
    assert "--adopt-head" in str(refused["reason"])
    assert git(sandbox, "rev-parse", "HEAD") == mine

    third = run(sandbox, *WAVE_1, "--accept-violations", "--adopt-head")
    assert third.returncode == 0, third.stdout[-3000:]
    assert git(sandbox, "rev-parse", "HEAD^") == mine
    text = git(sandbox, "show", f"HEAD:{OWNED}")
    assert text.startswith(line.strip()) and "wavedeck-sim" in text
