"""Starting a wave lists the repository once (shared by every agent's prompt), off the event loop.

Before, each issue's prompt section ran its own ``git ls-files`` on the event loop (29 for wave 1
of the demo plan): one ~200 ms turn in which the control room could not react to a key.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.unit.wave.enginekit import sandbox, supervisor, wait_agents
from wavedeck.agents import repoview
from wavedeck.agents.wave.prompt import ISSUE_PATTERNS, render_prompt

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every repository listing (``git ls-files``) made, with the thread it ran in."""
    calls: list[str] = []
    real = repoview.git_paths

    def counted(root: Path) -> frozenset[str] | None:
        calls.append(threading.current_thread().name)
        return real(root)

    monkeypatch.setattr(repoview, "git_paths", counted)
    return calls


@pytest.mark.slow
async def test_wave_start_lists_the_repository_once_off_the_loop(
    root: Path, listings: list[str]
) -> None:
    sandbox(root, tests=["true"])
    (root / "issues").mkdir()
    (root / "issues" / "issue-headless-01.md").write_text("# headless-01\n\nSocket perms.\n")
    sup = supervisor(root)
    await sup.open()
    try:
        listings.clear()
        await sup.start_wave(1)
        wave = sup.plan.wave(1)
        assert {a.id: sup.agent_record(a.id).launches for a in wave.agents} == {
            a.id: 1 for a in wave.agents
        }
        assert len(listings) == 1, listings  # one listing for the whole wave...
        assert listings[0] != threading.main_thread().name  # ...made in a worker thread
        # The shared listing still finds each issue's detail file for its agent's prompt.
        owner = next(a.id for a in wave.agents if "headless-01" in {i.id for i in a.issues})
        prompt = (root / ".wavedeck" / "prompts" / f"{owner}.md").read_text("utf-8")
        assert "Socket perms." in prompt
        await wait_agents(sup, 1, timeout=45)
    finally:
        await sup.close()


def test_a_shared_view_renders_the_same_prompt(root: Path, listings: list[str]) -> None:
    sandbox(root, tests=["true"])
    (root / "issues").mkdir()
    (root / "issues" / "issue-server-1.md").write_text("# server-1\n\nCORS.\n")
    (root / "issues" / "issue-server-1-plan.md").write_text("Pin the origin.\n")
    sup = supervisor(root)
    owner = next(a.id for a in sup.plan.wave(1).agents if a.issues[0].id == "server-1")
    alone = render_prompt(sup.plan, owner, root)
    view = repoview.repo_view(root, ISSUE_PATTERNS)
    listings.clear()
    shared = render_prompt(sup.plan, owner, root, view=view)
    assert shared == alone and "Pin the origin." in shared
    assert listings == []  # the view was not listed again
