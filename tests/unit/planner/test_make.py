"""The planner's decisions and refusals, one small case each."""

from __future__ import annotations

import pytest

from wavedeck.plan.making.graph import find_cycle, priority_order, strongly_connected
from wavedeck.plan.making.model import IssueSpec, MakeError, MakeOptions
from wavedeck.plan.making.planner import make_plan
from wavedeck.plan.making.render import cell, explain_lines

P = "packages/a/"


def spec(
    i: str, sev: str = "HIGH", files: tuple[str, ...] = (), deps: tuple[str, ...] = ()
) -> IssueSpec:
    return IssueSpec(
        id=i,
        severity=sev,
        title=i,
        depends_on=deps,
        paths=tuple(P + f for f in files),
        group=P,
        files_from="fix plan" if files else "none",
    )


def where(made, issue_id: str) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    for w in made.waves:
        for a in w.agents:
            for pos, i in enumerate(a.issues):
                if i.id == issue_id:
                    return w.number, a.number, pos
    raise AssertionError(issue_id)


def test_shared_file_one_agent_and_dependency_inside_it() -> None:
    made = make_plan([spec("a-2", "CRITICAL", ("x.py",), ("a-1",)), spec("a-1", "LOW", ("x.py",))])
    assert len(made.waves) == 1 and len(made.waves[0].agents) == 1
    assert [i.id for i in made.waves[0].agents[0].issues] == ["a-1", "a-2"]
    assert any("x.py (a-1, a-2)" in n for n in made.notes)


def test_dependency_between_file_groups_forces_a_later_wave() -> None:
    made = make_plan([spec("a-1", files=("x.py",)), spec("a-2", files=("y.py",), deps=("a-1",))])
    assert where(made, "a-1")[0] == 1 and where(made, "a-2")[0] == 2
    assert made.lower_bound == 2 and "a-2 needs a-1" in made.bound_reason
    assert any("a-2 depends on a-1" in n and "wave 2" in n for n in made.notes)


def test_groups_depending_both_ways_are_merged() -> None:
    issues = [
        spec("a-1", files=("x.py",)),
        spec("a-2", files=("y.py",), deps=("a-1",)),
        spec("a-3", files=("x.py",), deps=("a-2",)),
    ]
    made = make_plan(issues)
    assert len(made.waves) == 1 and len(made.waves[0].agents) == 1
    assert [i.id for i in made.waves[0].agents[0].issues] == ["a-1", "a-2", "a-3"]
    assert any("both ways" in n for n in made.notes)


def test_cycle_is_an_error_naming_it() -> None:
    with pytest.raises(MakeError) as exc:
        make_plan([spec("a-1", deps=("a-2",)), spec("a-2", deps=("a-1",))])
    assert "dependency cycle: a-1 -> a-2 -> a-1" in exc.value.problems[0]


def test_max_waves_below_the_bound() -> None:
    chain = [spec("a-1", files=("x.py",)), spec("a-2", files=("y.py",), deps=("a-1",))]
    with pytest.raises(MakeError) as exc:
        make_plan(chain, MakeOptions(max_waves=1))
    assert "at least 2 waves" in str(exc.value) and "a-2 needs a-1" in str(exc.value)


def test_max_issues_splits_a_file_group_in_severity_order() -> None:
    issues = [
        spec(f"a-{k}", sev, ("x.py",)) for k, sev in enumerate(("LOW", "CRITICAL", "HIGH"), 1)
    ]
    made = make_plan(issues, MakeOptions(max_issues=2))
    assert [[i.id for i in w.agents[0].issues] for w in made.waves] == [["a-2", "a-3"], ["a-1"]]
    assert any("more than --max-issues 2" in n for n in made.notes)


def test_bad_input_is_refused_with_every_problem() -> None:
    with pytest.raises(MakeError) as exc:
        make_plan([spec("a-1", sev="SEVERE"), spec("a-01"), spec("bad id")])
    text = " / ".join(exc.value.problems)
    assert "severity 'SEVERE'" in text and "given twice" in text and "not a usable issue id" in text
    with pytest.raises(MakeError):
        make_plan([])
    with pytest.raises(MakeError):
        make_plan([spec("a-1")], MakeOptions(max_agents=0))


def test_fileless_issue_joins_an_owning_agent_and_says_so() -> None:
    made = make_plan([spec("a-1", files=("x.py",)), spec("a-2")])
    assert len(made.waves[0].agents) == 1
    assert any("a-2 names no file" in n for n in made.notes)


def test_unknown_dependency_ignored_and_said() -> None:
    made = make_plan([spec("a-1", files=("x.py",), deps=("zz-9",))])
    assert made.ignored_dependencies == [("a-1", "zz-9")]
    assert any("zz-9" in line for line in explain_lines(made))


def test_packages_balance_agents() -> None:
    issues = [spec(f"a-{k}", files=(f"f{k}.py",)) for k in range(1, 11)]
    made = make_plan(issues, MakeOptions(max_agents=3))
    sizes = sorted(len(a.issues) for a in made.waves[0].agents)
    assert sizes == [3, 3, 4]


def test_graph_helpers() -> None:
    assert find_cycle([[1], [2], []]) is None
    assert find_cycle([[1], [0]]) == [0, 1, 0]
    assert strongly_connected([[1], [0], [0]]) == [[0, 1]]
    # 2 (LOW) is needed by 1 (CRITICAL): it goes before 0 (MEDIUM).
    rank = {0: 2, 1: 0, 2: 3}
    assert priority_order([0, 1, 2], lambda n: [2] if n == 1 else [], rank.__getitem__) == [2, 1, 0]


def test_cell_is_one_safe_line() -> None:
    assert cell("a | b\n\x1b[2Jc") == r"a \| b [2Jc"
    assert cell("x" * 500).endswith("…")


@pytest.mark.slow
def test_same_plan_under_any_hash_seed() -> None:
    # Sets of strings iterate in a different order per process: none of it may reach the plan.
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    code = (
        "import sys, json; sys.path.insert(0, 'bench');"
        "from planner_bench import make_issues;"
        "from wavedeck.plan.making.planner import make_plan; from wavedeck.plan.making.model import MakeOptions;"
        "from wavedeck.plan.making.render import made_dict;"
        "print(json.dumps(made_dict(make_plan(make_issues(400), MakeOptions(max_issues=9)))))"
    )
    outs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)}
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        outs.add(done.stdout)
    assert len(outs) == 1
