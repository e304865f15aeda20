"""Each ownership kind, the attribution rules, the policy and the speed of ``classify``."""

from __future__ import annotations

import pytest

from tests.unit.ownership.planbuild import make_agent, make_plan
from wavedeck.plan.ownership import (
    KINDS,
    Ownership,
    OwnershipIndex,
    apply_policy,
    classify,
    glob_regex,
)

ZAJEL = "packages/headless-client/zajel/"


@pytest.fixture(scope="module")
def index() -> OwnershipIndex:
    plan = make_plan(
        {
            1: [
                make_agent(1, 1, ZAJEL, ["client.py", "crypto.py"]),
                make_agent(1, 2, ZAJEL, ["daemon.py", "protocol.py"]),
                make_agent(1, 3, "packages/server/src/", ["index.js"]),
                make_agent(1, 4, "packages/server-vps/src/", ["index.ts"]),
                make_agent(1, 5, "packages/website/app/", ["root.tsx", "public/_headers"]),
            ],
            2: [
                make_agent(2, 1, ZAJEL, ["groups.py"]),
                make_agent(2, 2, "packages/server/src/", ["crypto/attestation.js"]),
            ],
        }
    )
    return OwnershipIndex(plan, 1)


def test_owned_by_exactly_one_agent(index: OwnershipIndex) -> None:
    got = index.classify(ZAJEL + "client.py")
    assert got == Ownership("owned", "w1-a1", owners=("w1-a1",))
    assert index.classify(ZAJEL + "client.py", writer="w1-a1").kind == "owned"


def test_foreign_when_another_agent_of_the_wave_declares_it(index: OwnershipIndex) -> None:
    got = index.classify(ZAJEL + "client.py", writer="w1-a2")
    assert got.kind == "foreign"
    assert got.owners == ("w1-a1",)
    assert got.writer == "w1-a2"


def test_other_wave_when_declared_only_elsewhere(index: OwnershipIndex) -> None:
    got = index.classify(ZAJEL + "groups.py")
    assert got.kind == "other-wave"
    assert got.owners == ("w2-a1",)
    assert index.classify("packages/server/src/crypto/attestation.js").owners == ("w2-a2",)


def test_undeclared_inside_one_package(index: OwnershipIndex) -> None:
    # A new helper module inside the CF Worker's package.
    got = index.classify("packages/server/src/rate-limiter.js")
    assert (got.kind, got.agent) == ("undeclared", "w1-a3")
    # server-vps is a different folder, not a string prefix of packages/server/.
    assert index.classify("packages/server-vps/src/constants.ts").agent == "w1-a4"


def test_undeclared_written_by_another_agent_names_the_writer_not_the_package(
    index: OwnershipIndex,
) -> None:
    """#19: a file nobody declares inside w1-a3's package, written by w1-a4, is w1-a4's write
    (the violation names who wrote it); the package's agent is kept apart, and accepting
    undeclared files never waves through another agent's write into a package."""
    got = index.classify("packages/server/src/helpers.js", writer="w1-a4")
    assert (got.kind, got.agent, got.package, got.writer) == (
        "undeclared",
        "w1-a4",
        "w1-a3",
        "w1-a4",
    )
    assert "w1-a3" in got.describe() and "w1-a4" in got.describe()
    accepted, _ = apply_policy(got, "packages/server/src/helpers.js", (), True)
    assert not accepted
    own = index.classify("packages/server/src/helpers.js", writer="w1-a3")
    assert apply_policy(own, "packages/server/src/helpers.js", (), True)[0]


def test_undeclared_by_longest_shared_folder(index: OwnershipIndex) -> None:
    # Outside every package, but packages/server/ is shared with w1-a3's package only.
    assert index.classify("packages/server/tests/unit/a.test.js").agent == "w1-a3"
    # The website's public/ folder sits outside the agent's app/ folder.
    got = index.classify("packages/website/public/_headers")
    assert (got.kind, got.agent) == ("undeclared", "w1-a5")
    assert index.classify("packages/website/package.json").agent == "w1-a5"


def test_unowned_when_two_agents_share_a_package(index: OwnershipIndex) -> None:
    got = index.classify(ZAJEL + "cli/daemon.py")
    assert got.kind == "unowned"
    assert got.agent is None
    assert got.candidates == ("w1-a1", "w1-a2")
    tests = index.classify("packages/headless-client/tests/unit/test_x.py")
    assert (tests.kind, tests.candidates) == ("unowned", ("w1-a1", "w1-a2"))


def test_known_writer_among_tied_candidates_is_attributed(index: OwnershipIndex) -> None:
    got = index.classify(ZAJEL + "cli/daemon.py", writer="w1-a2")
    assert (got.kind, got.agent, got.candidates) == ("undeclared", "w1-a2", ("w1-a1", "w1-a2"))
    # A writer that is not among the candidates gains nothing.
    other = index.classify(ZAJEL + "cli/daemon.py", writer="w1-a3")
    assert (other.kind, other.agent) == ("unowned", "w1-a3")


def test_unowned_outside_every_package_has_no_candidates(index: OwnershipIndex) -> None:
    # Sharing a bare packages/ does not attribute; neither does the repo root.
    for path in ("package-lock.json", "packages/app/lib/main.dart", "docs/x.md"):
        got = index.classify(path)
        assert (got.kind, got.candidates) == ("unowned", ()), path


def test_a_path_declared_twice_in_one_wave_is_unowned_with_both() -> None:
    plan = make_plan(
        {1: [make_agent(1, 1, "src/", ["a.py"]), make_agent(1, 2, "src/", ["a.py", "b.py"])]}
    )
    got = classify(plan, 1, "src/a.py")
    assert got.kind == "unowned"
    assert got.candidates == got.owners == ("w1-a1", "w1-a2")


def test_nested_packages_the_deepest_wins() -> None:
    plan = make_plan(
        {
            1: [
                make_agent(1, 1, "web/", ["index.html"]),
                make_agent(1, 2, "web/app/components/", ["Nav.tsx"]),
            ]
        }
    )
    idx = OwnershipIndex(plan, 1)
    assert idx.classify("web/app/components/New.tsx").agent == "w1-a2"
    # Inside web/ only (web/app/ is not w1-a2's package): w1-a1, even though the shared
    # leading folder with w1-a2's package is longer.
    assert idx.classify("web/app/root.tsx").agent == "w1-a1"


def test_root_package_contains_everything() -> None:
    plan = make_plan({1: [make_agent(1, 1, "", ["a.py"])]})
    assert classify(plan, 1, "deep/down/b.py").agent == "w1-a1"


def test_policy_globs_accept_and_record(index: OwnershipIndex) -> None:
    globs = ["**/tests/**", "package-lock.json"]
    lock = index.classify("package-lock.json")
    assert apply_policy(lock, "package-lock.json", globs, False) == (
        True,
        "policy accept 'package-lock.json'",
    )
    path = "packages/headless-client/tests/unit/test_x.py"
    ok, why = apply_policy(index.classify(path), path, globs, False)
    assert ok and "**/tests/**" in why
    # A glob never waves through a file another agent of the wave owns.
    foreign = index.classify(ZAJEL + "client.py", writer="w1-a2")
    assert apply_policy(foreign, ZAJEL + "client.py", ["**"], True)[0] is False


def test_policy_accept_undeclared_only_for_its_agent(index: OwnershipIndex) -> None:
    path = "packages/server/src/cors.js"
    assert apply_policy(index.classify(path), path, [], False)[0] is False
    assert apply_policy(index.classify(path), path, [], True) == (
        True,
        "undeclared, attributed to w1-a3",
    )
    assert apply_policy(index.classify(path, "w1-a3"), path, [], True)[0] is True
    assert apply_policy(index.classify(path, "w1-a4"), path, [], True)[0] is False
    # unowned and other-wave are never accepted by accept_undeclared.
    for p in (ZAJEL + "cli/daemon.py", ZAJEL + "groups.py"):
        assert apply_policy(index.classify(p), p, [], True)[0] is False
    owned = index.classify(ZAJEL + "client.py")
    assert apply_policy(owned, ZAJEL + "client.py", [], False) == (True, "owned by w1-a1")


@pytest.mark.parametrize(
    ("glob", "path", "hit"),
    [
        ("*.lock", "a/b/poetry.lock", True),
        ("/*.lock", "a/poetry.lock", False),
        ("/*.lock", "poetry.lock", True),
        ("packages/*/tests/", "packages/server/tests/unit/x.js", True),
        ("packages/*/package.json", "packages/website/package.json", True),
        ("packages/*/package.json", "packages/website/app/package.json", False),
        ("**/test_*.py", "test_a.py", True),
        ("**/test_*.py", "x/y/test_a.py", True),
        ("src/?.py", "src/ab.py", False),
    ],
)
def test_glob_semantics(glob: str, path: str, hit: bool) -> None:
    assert bool(glob_regex(glob).match(path)) is hit


def test_every_kind_is_reachable(index: OwnershipIndex) -> None:
    seen = {
        index.classify(ZAJEL + "client.py").kind,
        index.classify(ZAJEL + "client.py", "w1-a2").kind,
        index.classify(ZAJEL + "groups.py").kind,
        index.classify("packages/server/src/x.js").kind,
        index.classify("README.md").kind,
    }
    assert seen == set(KINDS)
