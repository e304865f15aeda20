"""A gate's ``Refusal`` in words: one sentence per code, and the surface's own hints.

The engine refuses with facts (``wavedeck.agents.kinds.Refusal``: a code, the waves, agents and
paths it names). The control room and the CLI turn one into a sentence with ``describe``, each
giving the ways out in its own terms (``hints``: a key in the control room, a flag on the command
line), so neither the engine nor a test depends on the wording.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from wavedeck.agents.kinds import Refusal, RefusalCode

SHOWN_PATHS = 10  # paths named in a sentence; the rest are counted


def _listed(items: Sequence[str], limit: int = SHOWN_PATHS) -> str:
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _agents(r: Refusal) -> str:
    return ", ".join(f"{a.agent} ({a.state})" for a in r.agents)


def _agent(r: Refusal) -> str:
    return r.agents[0].agent if r.agents else "the agent"


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
        f"wave {r.other} has agents that did not succeed: {_agents(r)}"
    ),
    "previous-untested": lambda r: f"wave {r.other}'s tests have not passed",
    "previous-uncommitted": lambda r: f"wave {r.other}'s checkpoint is not committed",
    "other-wave-open": lambda r: f"wave {r.other} is still open: finish, test and commit it first",
    "no-agent": no_agent,
    "program-missing": lambda r: r.detail,
    "tree-unrecorded": lambda r: f"cannot record the working tree: {r.detail}",
    "worktrees-failed": lambda r: f"cannot create the agents' worktrees: {r.detail}",
    "wave-not-started": lambda r: f"wave {r.wave} has not started",
    "agents-unfinished": lambda r: f"wave {r.wave} has agents that did not succeed: {_agents(r)}",
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
        f"{len(r.paths)} path(s) were changed by several agents in their worktrees: "
        "resolve them there first"
    ),
    "head-rewritten": lambda r: (
        f"HEAD ({r.detail[:12]}) no longer descends from the commit wave {r.wave} started from "
        "(a reset, an amend or another branch): nothing is built on it"
    ),
    "head-moved": lambda r: (
        f"HEAD moved during wave {r.wave} (now {r.detail[:12]}): {len(r.paths)} file(s) your "
        f"commit(s) changed were changed again since: {_listed(r.paths)}"
    ),
    "start-tree-missing": lambda r: (
        f"the working tree recorded when wave {r.wave} started is gone from git (a `git gc` "
        f"after its ref was removed?), so your own changes cannot be told from the wave's in "
        f"{len(r.paths)} file(s): {_listed(r.paths)}; wavedeck does not commit them unasked"
    ),
    "operator-conflict": lambda r: (
        f"{len(r.paths)} file(s) had your own uncommitted changes when wave {r.wave} started "
        f"and the wave changed them too: {_listed(r.paths)}; wavedeck does not mix your work "
        "into the checkpoint unasked"
    ),
    "git-tampered": lambda r: (
        f"git's configuration or hooks changed during wave {r.wave}: {_listed(r.paths)}; each "
        "is kept or undone on its own, never accepted in bulk"
    ),
    "stray-paths": lambda r: (
        f"{len(r.paths)} changed path(s) are outside the plan for wave {r.wave} and not "
        f"accepted: {_listed(r.paths)}"
    ),
    "nothing-to-commit": lambda r: (
        f"wave {r.wave} changed no file the plan assigns: nothing to commit"
    ),
    "commit-refused": lambda r: r.detail,
    "review-unanswered": lambda r: (
        f"changes were asked of {_agents(r)} in the review and not answered yet: wait for its "
        "run to end, or approve it anyway"
    ),
    "review-findings-open": lambda r: (
        f"{len(r.paths)} reviewer finding(s) of high severity are neither sent to their agent "
        f"nor dismissed: {_listed(r.paths)}"
    ),
    "git-busy": lambda r: f"a git {r.detail} is in progress: finish or abort it first",
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
