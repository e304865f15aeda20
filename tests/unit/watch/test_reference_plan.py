"""The watcher on the reference plan (security-waves.md), wave 1, in a shared tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.watch.watchkit import Collector, write
from wavedeck.agents.events import ViolationFound
from wavedeck.agents.watch.rules import ownership_attributor
from wavedeck.agents.watch.watcher import WorkspaceWatcher
from wavedeck.plan.reading.loader import load_plan

pytestmark = pytest.mark.timeout(60)

ZAJEL = "packages/headless-client/zajel/"
EXPECTED = {
    # path: (kind or None when fine, agent, candidates)
    f"{ZAJEL}client.py": (None, "w1-a1", ()),
    f"{ZAJEL}daemon.py": ("foreign", "w1-a1", ("w1-a2",)),  # w1-a1 is known to write it
    f"{ZAJEL}new_util.py": ("unowned", None, ("w1-a1", "w1-a2")),  # two agents share the package
    f"{ZAJEL}groups.py": ("other-wave", None, ("w2-a1",)),
    "packages/server/src/helpers/rate.js": ("undeclared", "w1-a3", ()),
    "packages/server/src/index.js": (None, "w1-a3", ()),
    "docs/NOTES.md": ("unowned", None, ()),
}


async def test_reference_plan_wave_1(tmp_path: Path, reference_plan_path: Path) -> None:
    plan = load_plan(reference_plan_path).plan
    attribute = ownership_attributor(
        plan, 1, writer_of=lambda p: "w1-a1" if p == f"{ZAJEL}daemon.py" else None
    )
    async with Collector(WorkspaceWatcher(tmp_path, attribute=attribute)) as c:
        write(*(tmp_path / p for p in EXPECTED))
        for path in EXPECTED:
            await c.touched(path)
        flagged = [p for p, (kind, _, _) in EXPECTED.items() if kind]
        await c.wait_for(lambda e: {v.path for v in c.violations()} >= set(flagged))
    found = {v.path: v for v in c.violations()}
    assert set(found) == set(flagged)
    for path, (kind, agent, candidates) in EXPECTED.items():
        touched = c.touches(path)[0]
        if kind is None:
            assert touched.agent == agent
            continue
        v = found[path]
        assert isinstance(v, ViolationFound)
        assert (v.kind, v.agent, v.candidates) == (kind, agent, candidates), path
        assert v.detail
