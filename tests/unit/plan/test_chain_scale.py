"""``plan check --repo`` on a long dependency chain stays linear (issue #20): one wave per step,
3,000 steps, each issue's fix plan read and its path classified for its wave. The per-wave
ownership indexes share one map of the plan's paths; each copied the whole plan before (813 MB
and 20 s at 3,000 waves). Memory is what this test holds (deterministic, unlike time); the
speed is held by ``bench/plan_bench.py`` (``chain_linear``, ``chain_ratio``)."""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

from wavedeck.plan.checking.checks import run_checks
from wavedeck.plan.ownership import OwnershipIndex
from wavedeck.plan.reading.loader import parse_plan

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from plan_bench import chain_repo, make_chain_plan

WAVES = 3000


def test_a_3000_wave_chain_is_checked_against_the_repo_in_bounded_memory() -> None:
    result = parse_plan(make_chain_plan(WAVES), "chain.md")
    repo = chain_repo(WAVES)
    tracemalloc.start()
    try:
        findings = run_checks(result.plan, result.findings, repo)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [f for f in findings if f.level == "error"] == []
    assert peak < 40 * 1024 * 1024, f"{peak / 1e6:.0f} MB for {WAVES} waves"


def test_every_waves_index_classifies_as_one_built_alone() -> None:
    plan = parse_plan(make_chain_plan(40), "chain.md").plan
    shared = OwnershipIndex.for_plan(plan)
    for wave in (1, 7, 40):
        alone = OwnershipIndex(plan, wave)
        for path in ("pkg/mod_1.py", "pkg/mod_7.py", "pkg/mod_40.py", "pkg/new.py", "x/y.py"):
            assert shared[wave].classify(path) == alone.classify(path)
            assert shared[wave].classify(path, writer="w2-a1") == alone.classify(
                path, writer="w2-a1"
            )
    assert shared[7].classify("pkg/mod_1.py").kind == "other-wave"
    assert shared[7].classify("pkg/mod_1.py").owners == ("w1-a1",)
