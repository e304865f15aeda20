"""Properties that hold for any path and any text: the model and the parsers never raise, and the
kinds agree with the plan's declarations."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.ownership.planbuild import make_agent, make_plan
from wavedeck.plan.checking.suggest import PathIndex
from wavedeck.plan.fixplans import parse_files_field
from wavedeck.plan.ownership import KINDS, OwnershipIndex, apply_policy

PLAN = make_plan(
    {
        1: [
            make_agent(1, 1, "pk/a/", ["x.py", "d/y.py"]),
            make_agent(1, 2, "pk/a/", ["z.py"]),
            make_agent(1, 3, "pk/b/src/", ["m.ts"]),
        ],
        2: [make_agent(2, 1, "pk/a/", ["w.py", "x.py"])],
    }
)
INDEX = OwnershipIndex(PLAN, 1)
DECLARED = {p: a.id for a in PLAN.wave(1).agents for p in a.paths}
segment = st.sampled_from(["pk", "a", "b", "src", "d", "x.py", "z.py", "m.ts", "w.py", "n.js"])
paths = st.lists(segment, min_size=1, max_size=5).map("/".join)
writers = st.sampled_from([None, "w1-a1", "w1-a2", "w1-a3", "w2-a1"])


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(paths, writers)
def test_kinds_agree_with_declarations(path: str, writer: str | None) -> None:
    own = INDEX.classify(path, writer)
    assert own.kind in KINDS
    owner = DECLARED.get(path)
    if owner is not None:
        assert own.kind == ("owned" if writer in (None, owner) else "foreign")
    elif path in {"pk/a/w.py"}:
        assert own.kind == "other-wave"
    else:
        assert own.kind in {"undeclared", "unowned"}
        if own.kind == "undeclared":
            assert own.agent in {"w1-a1", "w1-a2", "w1-a3"}
            # Inside pk/a/ two agents tie: only a known writer among them settles it.
            if path.startswith("pk/a/"):
                assert own.agent == writer
    accepted, why = apply_policy(own, path, ["**/*.js"], True)
    assert isinstance(why, str) and why
    if own.kind == "foreign":
        assert not accepted


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_fix_plan_parser_never_raises(text: str) -> None:
    for entry in parse_files_field("**Files to modify**: " + text):
        assert entry.path and not entry.path.startswith("/")


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.lists(paths, max_size=30), paths, st.sampled_from(["", "pk/a/", "pk/b/src/"]))
def test_suggestions_only_name_existing_files(tree: list[str], path: str, package: str) -> None:
    index = PathIndex(tree)
    near = index.nearest(path)
    assert near is None or (
        near in index.paths and near.rsplit("/", 1)[-1] == path.rsplit("/", 1)[-1]
    )
    found = index.resolve(path, package)
    assert found is None or index.exists(found)
