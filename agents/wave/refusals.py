"""A gate's ``Refusal`` in words: one sentence per code, and the surface's own hints.

The engine refuses with facts (``wavedeck.agents.kinds.Refusal``: a code, the waves, agents and
paths it names). The control room and the CLI turn one into a sentence with ``describe``, each
giving the ways out in its own terms (``hints``: a key in the control room, a flag on the command
line), so neither the engine nor a test depends on the wording.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from wavedeck.agents.kinds import AgentState, Refusal, RefusalCode
from wavedeck.plan.words import noun, plural

SHOWN_PATHS = 10  # paths named in a sentence; the rest are counted


# An agent's state in a sentence: "w1-a2 has succeeded", never "w1-a2 is succeeded".
_STATE_PHRASE: dict[AgentState, str] = {
    "pending": "has not started",
    "running": "is running",
    "succeeded": "has succeeded",
    "failed": "has failed",
    "stopped": "was stopped",
    "lost": "is lost",
    "needs_you": "needs you",
}


def state_word(state: AgentState) -> str:
    """The state as a word in a sentence (``needs you``, not ``needs_you``)."""
    return state.replace("_", " ")


def agent_is(agent: str, state: AgentState) -> str:
    """``w1-a2 has succeeded``, ``w1-a3 is running``, ``w1-a4 needs you``."""
    return f"{agent} {_STATE_PHRASE[state]}"


def _listed(items: Sequence[str], limit: int = SHOWN_PATHS) -> str:
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _agents(r: Refusal) -> str:
    return ", ".join(f"{a.agent} ({state_word(a.state)})" for a in r.agents)


def _unsucceeded(r: Refusal) -> str:
    return noun(len(r.agents), "an agent", "agents")


def _agent(r: Refusal) -> str:
    return r.agents[0].agent if r.agents else "the agent"


# What keeps git from a checkpoint (``git-busy``'s detail, a ``BusyState``) and how to end it.
_BUSY = {
    "detached HEAD": "HEAD is detached: check out the branch the wave runs on (git switch <branch>)",
    "unmerged paths": "the index has unmerged paths: resolve them first (git status)",
    "bisect": "a git bisect is in progress: finish it first (git bisect reset)",
}


def busy(state: str) -> str:
    """``git-busy`` in words: what is under way (``BusyState``) and how to end it."""
    how = f"git {state} --continue / --abort"
    return _BUSY.get(state, f"a git {state} is in progress: finish or abort it first ({how})")


# Suggested when no agent CLI is on PATH (the README's first example).
FALLBACK_PRESET = "claude"


def agent_lines(programs: Sequence[str]) -> str:
    """The two lines of ``wavedeck.toml`` that choose an agent: the first CLI found, else
    Claude Code."""
    preset = programs[0] if programs else FALLBACK_PRESET
    return f'[agent]\npreset = "{preset}"'


def no_agent(r: Refusal) -> str:
    """No agent configured: which agent CLIs are on PATH, and the two lines to write."""
    found = (
        f"agent CLIs found on PATH: {', '.join(r.programs)}"
        if r.programs
        else "no agent CLI found on PATH (claude, codex, gemini, opencode, aider, qwen)"
    )
    return (
        "no agent configured: wavedeck does not run its simulated agent on a real repository "
        f'(preset = "sim" asks for it by name); {found}. Choose one with these two lines '
        f"in wavedeck.toml:\n{agent_lines(r.programs)}"
    )


_WORDS: dict[RefusalCode, Callable[[Refusal], str]] = {
    "no-such-wave": lambda r: f"the plan has no wave {r.wave}",
    "wave-started": lambda r: f"wave {r.wave} has already started",
    "wave-committed": lambda r: f"wave {r.wave} is already committed",
    "previous-not-run": lambda r: f"wave {r.other} has not run yet: waves are never skipped",
    "previous-unfinished": lambda r: (
        f"wave {r.other} has {_unsucceeded(r)} that did not succeed: {_agents(r)}"
    ),
    "previous-untested": lambda r: f"wave {r.other}'s tests have not passed",
    "previous-uncommitted": lambda r: f"wave {r.other}'s checkpoint is not committed",
    "other-wave-open": lambda r: f"wave {r.other} is still open: finish, test and commit it first",
    "no-agent": no_agent,
    "program-missing": lambda r: r.detail,
    "tree-unrecorded": lambda r: f"cannot record the working tree: {r.detail}",
    "worktrees-failed": lambda r: f"cannot create the agents' worktrees: {r.detail}",
    "wave-not-started": lambda r: f"wave {r.wave} has not started",
    "agents-unfinished": lambda r: (
        f"wave {r.wave} has {_unsucceeded(r)} that did not succeed: {_agents(r)}"
    ),
    "tests-running": lambda r: f"wave {r.wave}'s tests are already running",
    "no-test-commands": lambda r: (
        f"no test commands for wave {r.wave}: wavedeck tests every wave before its checkpoint; "
        "set [tests] commands in wavedeck.toml or state them in the plan"
    ),
    "tests-not-run": lambda r: (
        f"wave {r.wave}'s tests have not run: run them before the checkpoint"
    ),
    "tests-failed": lambda r: (
        f"wave {r.wave}'s tests failed: fix and run them again before the checkpoint"
    ),
    "tests-stale": lambda r: (
        f"files changed after wave {r.wave}'s tests passed: run the tests again"
    ),
    "worktree-collision": lambda r: (
        f"{plural(len(r.paths), 'path')} {noun(len(r.paths), 'was', 'were')} changed by "
        f"several agents in their worktrees: resolve {noun(len(r.paths), 'it', 'them')} there "
        "first"
    ),
    "head-rewritten": lambda r: (
        f"HEAD ({r.detail[:12]}) no longer descends from the commit wave {r.wave} started from "
        "(a reset, an amend or another branch): nothing is built on it"
    ),
    "head-moved": lambda r: (
        f"HEAD moved during wave {r.wave} (now {r.detail[:12]}): "
        f"{plural(len(r.paths), 'file')} changed by what you committed "
        f"{noun(len(r.paths), 'was', 'were')} changed again since: {_listed(r.paths)}"
    ),
    "start-tree-missing": lambda r: (
        f"the working tree recorded when wave {r.wave} started is gone from git (a `git gc` "
        f"after its ref was removed?), so your own changes cannot be told from the wave's in "
        f"{plural(len(r.paths), 'file')}: {_listed(r.paths)}; wavedeck does not commit "
        f"{noun(len(r.paths), 'it', 'them')} unasked"
    ),
    "operator-conflict": lambda r: (
        f"{plural(len(r.paths), 'file')} had your own uncommitted changes when wave {r.wave} started "
        f"and the wave changed {noun(len(r.paths), 'it', 'them')} too: {_listed(r.paths)}; "
        "wavedeck does not mix your work "
        "into the checkpoint unasked"
    ),
    "git-tampered": lambda r: (
        f"git's configuration or hooks changed during wave {r.wave}: {_listed(r.paths)}; each "
        "is kept or undone on its own, never accepted in bulk"
    ),
    "stray-paths": lambda r: (
        f"{plural(len(r.paths), 'changed path')} {noun(len(r.paths), 'is', 'are')} outside the "
        f"plan for wave {r.wave} and not "
        f"accepted: {_listed(r.paths)}"
    ),
    "nothing-to-commit": lambda r: (
        f"wave {r.wave} changed no file the plan assigns: nothing to commit"
    ),
    # The commit itself, refused by the git layer (``wavedeck.agents.git.errors.CheckpointCode``
    # says what each one's detail holds).
    "no-paths": lambda r: f"wave {r.wave}'s checkpoint was given no path: nothing to commit",
    "empty-message": lambda r: f"the commit message of wave {r.wave}'s checkpoint is empty",
    "unsafe-paths": lambda r: (
        f"unsafe path {noun(len(r.paths), 'name', 'names')} in wave {r.wave}'s checkpoint, "
        f"which git could misread: {r.detail}"
    ),
    "folders-declared": lambda r: (
        f"folders, not files, were given to wave {r.wave}'s checkpoint: {_listed(r.paths)}"
    ),
    "symlinked-paths": lambda r: (
        f"symbolic links in wave {r.wave}'s checkpoint (a write through one lands elsewhere): "
        f"{r.detail}"
    ),
    "head-changed": lambda r: (
        f"HEAD moved since wave {r.wave} started ({r.detail}): review the new commits, then retry"
    ),
    "files-changing": lambda r: (
        f"{plural(len(r.paths), 'file')} still being written after {r.detail}: "
        f"{_listed(r.paths)}; retry once {noun(len(r.paths), 'it stops', 'they stop')} changing"
    ),
    "conflict-markers": lambda r: (
        f"leftover conflict markers in {_listed(r.paths)}: resolve them, then retry"
    ),
    "hook-failed": lambda r: f"a git hook refused wave {r.wave}'s checkpoint: {r.detail}",
    "hook-timed-out": lambda r: (
        f"a git hook did not finish on wave {r.wave}'s checkpoint: {r.detail} "
        "([git] hook_timeout_s)"
    ),
    "branch-moved": lambda r: (
        f"HEAD moved during wave {r.wave}'s checkpoint (a commit was made meanwhile): nothing "
        f"was overwritten; review the new commit, then retry (git said: {r.detail})"
    ),
    "review-unanswered": lambda r: (
        f"changes were asked of {_agents(r)} in the review and not answered yet: wait for its "
        "run to end, or approve it anyway"
    ),
    "review-findings-open": lambda r: (
        f"{plural(len(r.paths), 'reviewer finding')} of high severity "
        f"{noun(len(r.paths), 'is', 'are')} neither sent to {noun(len(r.paths), 'its', 'their')} "
        f"agent nor dismissed: {_listed(r.paths)}"
    ),
    "git-busy": lambda r: busy(r.detail),
    "git-error": lambda r: f"git: {r.detail}",
    "agent-running": lambda r: f"{_agent(r)} is still running: stop it first",
    "agent-attached": lambda r: (
        f"{_agent(r)} is taken over by the operator"
        + (f" ({r.detail})" if r.detail else "")
        + ": it runs again once they leave its CLI"
    ),
    "restart-closed": lambda r: f"{_agent(r)} can only be restarted while its wave runs, untested",
    "tamper-not-open": lambda r: (
        f"{_listed(r.paths)} is not an open change of .git in wave {r.wave} (any more)"
    ),
    "tamper-not-revertible": lambda r: f"cannot undo {_listed(r.paths)}: {r.detail}",
    "revert-failed": lambda r: f"cannot revert {_listed(r.paths)}: {r.detail}",
}


def describe(refusal: Refusal, hints: Mapping[RefusalCode, str] | None = None) -> str:
    """The refusal as one sentence, followed by the surface's hint for its code, if any."""
    text = _WORDS[refusal.code](refusal)
    hint = (hints or {}).get(refusal.code)
    return f"{text}; {hint}" if hint else text
