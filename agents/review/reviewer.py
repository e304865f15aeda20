"""One reviewer agent's run: ``[review] preset`` over one agent's changes, read-only.

``run_reviewer`` writes the reviewer's prompt (``.wavedeck/prompts/<agent>-review.md``), builds
its argv from the preset as for any agent but with no file of its own (a CLI that restricts
edits, Claude's, refuses every one), launches it through the runner under a Landlock spec that
owns nothing, whatever ``[agent] sandbox`` says (every agent's path is another's: no path of the
repository is writable; its CLI's state folders and a private TMPDIR are, as for any agent),
waits for it (stopped after ``[review] timeout_s``), and reads its answer with the preset's
parser: its usage and cost, and the ``wavedeck-findings`` block
(``wavedeck.agents.review.findings``). Its log is ``.wavedeck/logs/<agent>-review.log``,
appended to like an agent's.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from wavedeck.agents.config import Config, substitute
from wavedeck.agents.local import landlock, writepolicy
from wavedeck.agents.local.logfiles import LogFile
from wavedeck.agents.local.sandbox import SCRIPT, SCRIPT_MODULES
from wavedeck.agents.presets import PRESETS, LaunchContext, PresetError, program_for
from wavedeck.agents.presets.statedirs import state_entries
from wavedeck.agents.presets.stream import stream_for
from wavedeck.agents.presets.usage import UsageTotal
from wavedeck.agents.review.findings import Finding, parse_findings
from wavedeck.agents.runtypes import LaunchSpec, Runner, SandboxSpec
from wavedeck.agents.state import AgentRecord
from wavedeck.plan.models import Plan

SUFFIX = "-review"


@dataclass(frozen=True)
class ReviewerResult:
    """How a reviewer run went: its findings (None: it failed, ``reason`` says why)."""

    findings: tuple[Finding, ...] | None
    reason: str = ""
    problems: tuple[str, ...] = ()  # findings lines that could not be read
    usage: UsageTotal = field(default_factory=UsageTotal)


def confined() -> bool:
    """The kernel here can hold a reviewer to reading (Landlock at the ABI wavedeck needs)."""
    return landlock.abi() >= landlock.MIN_ABI


def reviewer_id(agent_id: str) -> str:
    return agent_id + SUFFIX


def reviewer_spec(plan: Plan, agent_id: str, preset: str) -> dict[str, object]:
    """The Landlock spec of a reviewer: it owns nothing; every path of the plan is another's."""
    others = sorted({p for w in plan.waves for a in w.agents for p in a.paths})
    return {
        "v": writepolicy.SPEC_VERSION,
        "agent": reviewer_id(agent_id),
        "owned": [],
        "others": others,
        "state": [list(e) for e in state_entries(preset)],
        "devices": True,
    }


def launch_spec(
    repo: Path, wavedeck_dir: Path, plan: Plan, config: Config, agent_id: str, prompt: str
) -> LaunchSpec:
    """What the runner launches for the reviewer of ``agent_id`` (blocking: writes the prompt,
    looks the program up). ``PresetError`` when the reviewer's program is missing."""
    review = config.review
    preset_name = review.preset or "generic"
    preset = PRESETS[preset_name]
    rid = reviewer_id(agent_id)
    folder = wavedeck_dir / "prompts"
    folder.mkdir(parents=True, exist_ok=True)
    prompt_file = folder / f"{rid}.md"
    prompt_file.write_text(prompt, encoding="utf-8")
    env: dict[str, str] = dict(config.agent.env)
    prompt_mode: str = preset.prompt
    if preset.name == "generic":
        values = {"prompt_file": str(prompt_file), "agent_id": rid, "wave": "", "package": "",
                  "repo": str(repo)}  # fmt: skip
        argv = substitute(config.agent.command, values)
        prompt_mode = config.agent.prompt
    else:
        wanted = review.program or (
            config.agent.program if config.agent.preset == preset_name else None
        )
        try:
            program = program_for(preset, wanted, rid)
        except PresetError as exc:  # named as the [review] setting the operator would change
            said = str(exc).replace("agent.", "review.").replace("[agent]", "[review]")
            raise PresetError(said) from None
        ctx = LaunchContext(
            agent_id=rid,
            program=program,
            prompt_file=prompt_file,
            cwd=repo,
            wavedeck_dir=wavedeck_dir,
            owned=(),
            session_id=str(uuid.uuid4()) if preset.new_session_id else None,
            restrict_writes=True,
            sandboxed=confined(),
            max_cost_usd=review.max_cost_usd,
        )
        argv = preset.argv(ctx)
        if preset.env is not None:
            env.update(preset.env(ctx))
    env.update({"PWD": str(repo), "WAVEDECK_AGENT_ID": rid, "PYTHONUNBUFFERED": "1"})
    # Confined whatever [agent] sandbox says (a demo turns it off to show the watcher): a
    # reviewer has nothing to write in the repository. The runner runs it unconfined only on a
    # kernel without Landlock, and says so (``LocalRunner.sandboxed``).
    spec = reviewer_spec(plan, agent_id, preset_name)
    sandbox = SandboxSpec(json.dumps(spec, separators=(",", ":")), SCRIPT, SCRIPT_MODULES)
    return LaunchSpec(
        agent_id=rid,
        argv=tuple(argv),
        cwd=repo,
        env=env,
        stdin_file=prompt_file if prompt_mode in ("stdin", "both") else None,
        sandbox=sandbox,
    )


async def run_reviewer(
    runner: Runner,
    spec: LaunchSpec,
    preset: str,
    *,
    log_path: Path,
    timeout_s: float,
    grace_s: float,
) -> ReviewerResult:
    """Launch the reviewer, wait for it (stopped after ``timeout_s``), read its answer
    (``log_path``: where the runner writes its log)."""
    log = LogFile(log_path)
    try:
        offset = log.size()
    except OSError:
        offset = 0
    handle = await runner.launch(spec)
    lines: list[str] = []

    async def follow() -> None:
        async for chunk in runner.follow(handle, offset):
            lines.extend(chunk.lines)

    timed_out = False
    try:
        await asyncio.wait_for(follow(), timeout_s)
    except TimeoutError:
        timed_out = True
        await runner.stop(handle, grace_s)
    status = await runner.exit_status(handle)
    rec = AgentRecord()
    stream = stream_for(spec.agent_id, rec, preset, spec.cwd)
    shown, _ = stream.feed(tuple(lines))
    more, _ = stream.finish()
    usage = UsageTotal(rec.input_tokens, rec.output_tokens, rec.cost_usd, rec.turns)
    if timed_out:
        return ReviewerResult(None, f"stopped after {timeout_s:g} s", usage=usage)
    answer = stream.parser.said
    read = parse_findings(answer) or parse_findings("\n".join([*shown, *more]))
    if read is None:
        how = "exit code " + str(status.code) if status and status.code is not None else "no exit"
        return ReviewerResult(None, f"no findings block in its answer ({how})", usage=usage)
    findings, problems = read
    return ReviewerResult(tuple(findings), problems=tuple(problems), usage=usage)
