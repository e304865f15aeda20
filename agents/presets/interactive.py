"""Taking over an agent's CLI session by hand: each preset's *interactive* resume argv.

An agent runs headless (``claude -p``, ``codex exec``...); every preset whose CLI keeps a session
can resume it interactively, in a terminal, for the operator to type into (``wavedeck attach``,
``a`` in the control room). ``TAKEOVER`` maps a preset's name to its argv builder, given the
same ``LaunchContext`` as a headless launch (``resume``: the session), so the session is resumed
under the same ownership rules the headless run had: Claude Code's ``--settings`` (edits of the
owned files allowed; any other edit is asked of the operator, who decides), Gemini CLI's policy
file, Qwen Code's ``--allowed-tools`` and opencode's inline configuration (``opencode.env``, added
to the environment by the caller), and for Codex its sandbox mode. The kernel sandbox
(``[agent] sandbox``) is applied around it by the caller, as for a headless run: it refuses a
write the operator approved in the CLI just as well.

Presets missing here (aider, generic) have no session to take over
(``wavedeck.agents.wave.takeover.check``: ``no-session-cli``).
"""

from __future__ import annotations

from collections.abc import Callable

from wavedeck.agents.presets import claude, gemini, qwen
from wavedeck.agents.presets.spec import LaunchContext

Takeover = Callable[[LaunchContext], list[str]]


def _claude(ctx: LaunchContext) -> list[str]:
    assert ctx.resume
    out = [ctx.program, "--resume", ctx.resume]
    if ctx.restrict_writes:
        out += ["--permission-mode", "default", "--settings", claude.settings(ctx.owned)]
        out += ["--append-system-prompt", claude.why_denied(ctx.owned)]
    else:
        out += ["--permission-mode", "acceptEdits"]
    return [*out, *ctx.extra]


def _codex(ctx: LaunchContext) -> list[str]:
    assert ctx.resume
    # As for ``codex exec``: inside wavedeck's Landlock domain Codex's own sandbox cannot start,
    # and the kernel holds its writes instead.
    mode = "danger-full-access" if ctx.sandboxed else "workspace-write"
    return [ctx.program, "resume", "-s", mode, *ctx.extra, ctx.resume]


def _gemini(ctx: LaunchContext) -> list[str]:
    assert ctx.resume
    headless = gemini.argv(ctx)  # writes the policy file, as a headless launch does
    out = [ctx.program, "--skip-trust", "--resume", ctx.resume]
    for option in ("--approval-mode", "--policy", "--allowed-tools"):
        if option in headless:
            at = headless.index(option)
            out += headless[at : at + 2]
    return [*out, *ctx.extra]


def _opencode(ctx: LaunchContext) -> list[str]:
    assert ctx.resume
    return [ctx.program, "--session", ctx.resume, *ctx.extra]


def _qwen(ctx: LaunchContext) -> list[str]:
    assert ctx.resume
    headless = qwen.argv(ctx)
    # Everything the headless argv says but its output format (the terminal is the output).
    at = headless.index("--output-format")
    return [headless[0], *headless[1:at], *headless[at + 2 :]]


TAKEOVER: dict[str, Takeover] = {
    "claude": _claude,
    "codex": _codex,
    "gemini": _gemini,
    "opencode": _opencode,
    "qwen": _qwen,
}


def takeover_argv(preset: str, ctx: LaunchContext) -> list[str] | None:
    """The interactive resume of ``ctx.resume`` by ``preset``'s CLI; None when it has none."""
    build = TAKEOVER.get(preset)
    return build(ctx) if build is not None and ctx.resume else None
