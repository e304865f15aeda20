"""A gate's refusal in the control room's words: the sentence, and the keys that get past it.

The engine refuses with facts (``wavedeck.agents.kinds.Refusal``); the sentence is
``wavedeck.agents.wave.refusals.describe``'s and the ways out are this module's, named by the
keys the operator has now (``[keys]`` remaps them): on the main screen the action's key
(``hints``), on the checkpoint screen its own accept and revert keys (``checkpoint_hints``).
"""

from __future__ import annotations

from collections.abc import Mapping

from wavedeck.agents.kinds import Refusal, RefusalCode
from wavedeck.agents.wave.refusals import describe
from wavedeck.tui.keys import key_display

# The checkpoint screen's own keys (its bindings: ``a`` accept, ``x`` revert).
CHECKPOINT_ACCEPT, CHECKPOINT_REVERT = "a", "x"


def hints(keys: Mapping[str, str]) -> dict[RefusalCode, str]:
    """The ways out on the main screen, with the keys of ``keys`` (action name -> keys)."""
    violations = f"`{key_display(keys['violations'])}`"
    commit = f"`{key_display(keys['commit'])}`"
    return {
        "stray-paths": (
            f"accept them ({violations} in the control room, or `wavedeck run --headless "
            f"--accept-violations`; recorded in the checkpoint) or revert them ({violations}, "
            "then revert)"
        ),
        "operator-conflict": (
            f"in the checkpoint ({commit}) accept a file to commit it whole, your changes "
            f"included, or revert it ({CHECKPOINT_REVERT}) to put it back as you left it"
        ),
        "git-tampered": (
            f"review each one ({violations}: accept keeps it, revert undoes it), or put it back "
            "yourself; `--accept-violations` never accepts these"
        ),
        "tamper-not-revertible": f"look at it, put it back yourself, then keep it ({violations})",
        "review-unanswered": (
            f"wait for its run to end, or approve it anyway in the review "
            f"(`{key_display(keys['diffs'])}`, then `{key_display(keys['review_approve'])}`)"
        ),
        "review-findings-open": (
            f"forward or dismiss them in the review (`{key_display(keys['diffs'])}`, then "
            f"`{key_display(keys['review_forward'])}` / `{key_display(keys['review_dismiss'])}`)"
        ),
        "head-rewritten": (
            "switch back to the branch the wave started on (`git switch <branch>`, "
            "`git reflog` shows where it was)"
        ),
        "head-moved": (
            f"in the checkpoint ({commit}) accept each file to commit it as it is now, on top "
            "of your commit (`git diff HEAD -- <file>` shows what that adds)"
        ),
        "start-tree-missing": (
            "set your own files aside (`git stash push -- <file>`, `git stash pop` after the "
            f"checkpoint), or in the checkpoint ({commit}) accept a file to commit it whole"
        ),
    }


def checkpoint_hints() -> dict[RefusalCode, str]:
    """The ways out on the checkpoint screen: its own accept and revert keys."""
    both = f"accept them ({CHECKPOINT_ACCEPT}) or revert them ({CHECKPOINT_REVERT})"
    return {
        "stray-paths": both,
        "operator-conflict": (
            f"accept a file ({CHECKPOINT_ACCEPT}) to commit it whole, your changes included, "
            f"or revert it ({CHECKPOINT_REVERT}) to put it back as you left it"
        ),
        "git-tampered": (
            f"keep one ({CHECKPOINT_ACCEPT}) or undo it ({CHECKPOINT_REVERT}), each on its own"
        ),
        "tamper-not-revertible": f"put it back yourself, then keep it ({CHECKPOINT_ACCEPT})",
        "head-moved": (
            f"accept each file ({CHECKPOINT_ACCEPT}) to commit it as it is now, on top of your "
            "commit"
        ),
        "start-tree-missing": (
            f"accept a file ({CHECKPOINT_ACCEPT}) to commit it whole, or set your own files "
            "aside (`git stash push -- <file>`) until the checkpoint is made"
        ),
    }


def refusal_text(refusal: Refusal, keys: Mapping[str, str]) -> str:
    """The refusal as the main screen says it."""
    return describe(refusal, hints(keys))
