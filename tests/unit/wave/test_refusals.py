"""Refusals are facts: every code has words, the surface adds its own ways out, and the
checkpoint's pure checks give the most useful refusal first."""

from __future__ import annotations

from wavedeck.agents.git.busy import BUSY_STATES
from wavedeck.agents.git.errors import CHECKPOINT_CODES
from wavedeck.agents.kinds import REFUSAL_CODES, AgentStanding, Refusal
from wavedeck.agents.wave import commit_checks
from wavedeck.agents.wave.commit_checks import CommitFacts
from wavedeck.agents.wave.gates import StrayPath
from wavedeck.agents.wave.refusals import describe
from wavedeck.tui.keys import current_keys
from wavedeck.tui.refusals import checkpoint_hints, hints, refusal_text

FULL = {
    "wave": 2,
    "other": 1,
    "agents": (AgentStanding("w1-a3", "failed"),),
    "paths": ("a.py", "b.py"),
    "detail": "merge",
}


def test_every_code_has_words_that_name_what_it_refuses() -> None:
    for code in REFUSAL_CODES:
        text = describe(Refusal(code, **FULL))  # type: ignore[arg-type]
        assert text and "None" not in text, code
    assert describe(Refusal("previous-unfinished", **FULL)) == (  # type: ignore[arg-type]
        "wave 1 has an agent that did not succeed: w1-a3 (failed)"
    )
    many = Refusal("stray-paths", 1, paths=tuple(f"f{i}.py" for i in range(12)))
    assert describe(many).endswith("f9.py (+2 more)")


def test_the_surface_adds_its_own_way_out() -> None:
    stray = Refusal("stray-paths", 1, paths=("x.py",))
    bare = describe(stray)
    assert describe(stray, {"stray-paths": "do this"}) == f"{bare}; do this"
    assert describe(stray, {"tests-failed": "not this"}) == bare
    # The control room names the keys the operator has now ([keys] remaps them).
    assert "`V` in the control room" in refusal_text(stray, current_keys({"violations": "V"}))
    assert set(hints(current_keys({}))) <= set(REFUSAL_CODES)
    assert "(a)" in checkpoint_hints()["stray-paths"]


def test_the_checkpoint_checks_give_the_first_refusal_in_order() -> None:
    stray = (StrayPath("x.py", "unowned", "nobody owns it"),)
    gate = Refusal("tests-failed", 1)
    facts = CommitFacts(1, gate=gate, git_busy="rebase", stray=stray, tests_stale=True)
    assert commit_checks.refusal(facts) == gate
    assert commit_checks.refusal(CommitFacts(1, gate=gate, git_error="boom")) == Refusal(
        "git-error", 1, detail="boom"
    )
    facts = CommitFacts(1, git_busy="rebase", conflicts=("y.py",), stray=stray)
    assert commit_checks.refusal(facts) == Refusal("git-busy", 1, detail="rebase")
    facts = CommitFacts(1, unknown=("z.py",), conflicts=("y.py",), stray=stray)
    assert commit_checks.refusal(facts) == Refusal("start-tree-missing", 1, paths=("z.py",))
    facts = CommitFacts(1, conflicts=("y.py",), stray=stray)
    assert commit_checks.refusal(facts) == Refusal("operator-conflict", 1, paths=("y.py",))
    facts = CommitFacts(1, stray=stray, tests_stale=True)
    assert commit_checks.refusal(facts) == Refusal("stray-paths", 1, paths=("x.py",))
    assert commit_checks.refusal(CommitFacts(1, tests_stale=True, staged=False)) == Refusal(
        "tests-stale", 1
    )
    assert commit_checks.refusal(CommitFacts(1, staged=False)) == Refusal("nothing-to-commit", 1)
    assert commit_checks.refusal(CommitFacts(1)) is None


def test_the_git_layers_refusals_keep_their_code_and_show_what_git_said() -> None:
    """A ``CheckpointRefused`` travels as a ``Refusal`` of its own code (mypy holds that every
    ``CheckpointCode`` is a ``RefusalCode``; so does this); its words show the detail git, the
    hook or the path policy gave, and the paths."""
    assert set(CHECKPOINT_CODES) <= set(REFUSAL_CODES)
    said = {
        "git-busy",
        "unsafe-paths",
        "symlinked-paths",
        "head-changed",
        "files-changing",
        "hook-failed",
        "hook-timed-out",
        "branch-moved",
    }
    named = {"folders-declared", "files-changing", "conflict-markers"}
    for code in CHECKPOINT_CODES:
        text = describe(Refusal(code, 3, paths=("x/a.py",), detail="DETAIL-7"))
        assert text and "None" not in text, code
        assert "DETAIL-7" in text or code not in said, code
        assert "x/a.py" in text or code not in named, code
    # Every state git can be busy in has its own sentence, with the way out of it.
    busy = {state: describe(Refusal("git-busy", 1, detail=state)) for state in BUSY_STATES}
    assert len(set(busy.values())) == len(BUSY_STATES)
    assert all("(git " in text for text in busy.values()), busy
