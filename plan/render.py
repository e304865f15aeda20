"""Renderers for a plan and its findings: JSON (text kept exactly), finding lines and a tree.

JSON output keeps every string as the plan wrote it; control, C1 and bidi characters are written
as ``\\uXXXX`` escapes, so the JSON is also safe to print on a terminal. Text output
(``finding_line``, ``tree``) is for terminals: every piece of plan text goes through
``wavedeck.plan.safetext.neutralize``, and nothing is interpreted as Rich markup because the CLI prints
with ``click.echo``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from wavedeck.plan.errors import Finding
from wavedeck.plan.models import Agent, Issue, Plan, Source, Wave
from wavedeck.plan.safetext import neutralize


def _issue(issue: Issue, extended: bool) -> dict[str, object]:
    out: dict[str, object] = {
        "id": issue.id,
        "order": issue.order,
        "severity": issue.severity,
        "summary": issue.summary,
        "depends_on": list(issue.depends_on),
        "line": issue.line,
    }
    if extended:
        out["kind"] = issue.kind
    return out


def _source(source: Source | None) -> dict[str, object] | None:
    if source is None:
        return None
    return {"line": source.line, "how": source.how, "text": source.text}


def _agent(agent: Agent, extended: bool) -> dict[str, object]:
    out: dict[str, object] = {
        "id": agent.id,
        "number": agent.number,
        "title": agent.title,
        "package": agent.package,
        "files": list(agent.files),
        "paths": list(agent.paths),
        "issues": [_issue(i, extended) for i in agent.issues],
    }
    if extended:
        out["source"] = _source(agent.source)
        out["shared"] = list(agent.shared)
        out["ranges"] = {path: [[r.start, r.end] for r in found] for path, found in agent.ranges}
        out["label"] = agent.label
        out["brief"] = agent.brief
        out["not_paths"] = list(agent.prose_files)
    return out


def _wave(wave: Wave, extended: bool) -> dict[str, object]:
    out: dict[str, object] = {
        "number": wave.number,
        "title": wave.title,
        "scope": list(wave.scope),
        "agents": [_agent(a, extended) for a in wave.agents],
    }
    if extended:
        out["source"] = _source(wave.source)
    return out


def extended(plan: Plan) -> bool:
    """Whether the plan uses anything beyond the reference format (other agent or wave shapes,
    work items, shared files). Only then does the JSON carry ``source``, ``kind``, ``shared``
    and ``ranges``: a reference-format plan prints exactly the keys it always printed."""
    if plan.format != "wavedeck":
        return True
    for wave in plan.waves:
        if wave.source is not None and wave.source.how != "wave-heading":
            return True
        for agent in wave.agents:
            if agent.shared or (agent.source is not None and agent.source.how != "agent-heading"):
                return True
            if any(i.kind != "table-row" for i in agent.issues):
                return True
    return False


def plan_dict(plan: Plan) -> dict[str, object]:
    """The normalised plan as ``plan show --json`` prints it."""
    wide = extended(plan)
    out: dict[str, object] = {
        "title": plan.title,
        "waves": [_wave(w, wide) for w in plan.waves],
        "resolved": [
            {"id": r.id, "severity": r.severity, "line": r.line, "cells": dict(r.cells)}
            for r in plan.resolved
        ],
        "rules": [{"number": r.number, "text": r.text, "line": r.line} for r in plan.rules],
        "test_commands": list(plan.test_commands),
    }
    if plan.format != "wavedeck":
        out["format"] = plan.format
        out["gates"] = [g.model_dump() for g in plan.gates]
        out["conventions"] = [c.model_dump() for c in plan.conventions]
    return out


# JSON escapes C0 controls itself; these others (DEL, C1 controls such as the 8-bit CSI, bidi and
# invisible formatting characters, line/paragraph separators) would reach a terminal raw. Inside
# JSON strings any character may be written as \uXXXX, so escaping them keeps the text exact.
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def safe_json(data: object) -> str:
    """``data`` as indented JSON, readable (non-ASCII kept) yet safe to print on a terminal."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def plan_json(plan: Plan) -> str:
    return safe_json(plan_dict(plan))


def error_json(message: str, line: int | None, source: str) -> str:
    """A plan that cannot be read, as ``--json`` prints it on stdout (exit status 2)."""
    return safe_json({"error": {"message": message, "line": line, "source": source}})


def findings_dict(findings: Sequence[Finding]) -> dict[str, object]:
    """``plan check --json``: every finding, and the error and warning counts."""
    return {
        "findings": [f.as_dict() for f in findings],
        "errors": sum(1 for f in findings if f.level == "error"),
        "warnings": sum(1 for f in findings if f.level == "warning"),
    }


def findings_json(findings: Sequence[Finding]) -> str:
    return safe_json(findings_dict(findings))


def finding_line(source: str, finding: Finding) -> str:
    """``PLAN:LINE: LEVEL[CODE]: message``, safe for a terminal."""
    return neutralize(
        f"{source}:{finding.line}: {finding.level}[{finding.code}]: {finding.message}"
    )


def finding_lines(source: str, findings: Iterable[Finding]) -> list[str]:
    return [finding_line(source, f) for f in findings]


def summary_line(findings: Sequence[Finding]) -> str:
    errors = sum(1 for f in findings if f.level == "error")
    warnings = len(findings) - errors
    return f"{errors} error(s), {warnings} warning(s)"


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return neutralize(text if len(text) <= limit else text[: limit - 1] + "…")


_AGENT_HOW = {
    "agent-heading": "heading",
    "labelled-heading": "heading",
    "wave-agent-heading": "heading",
    "table-row": "table row",
    "saw-manifest": "manifest entry",
}


def _agent_from(source: Source | None) -> str:
    """``  (line 41, heading "### W2: Cache layer" read as an agent)``."""
    if source is None:
        return ""
    what = _AGENT_HOW.get(source.how, source.how)
    return f'  (line {source.line}, {what} "{_short(source.text)}" read as an agent)'


def _wave_from(source: Source | None) -> str:
    """Where a wave not written as ``## Wave N`` came from."""
    if source is None or source.how == "wave-heading":
        return ""
    if source.how == "implicit":
        return "  (no waves in the plan: its agents read as one wave)"
    if source.how == "renumbered":
        return f'  (line {source.line}, "{_short(source.text)}": the plan has a wave 0)'
    if source.how == "phase-heading":
        return f'  (line {source.line}, heading "{_short(source.text)}" read as a wave)'
    if source.how == "saw-manifest":
        return f'  (line {source.line}, manifest entry "{_short(source.text)}")'
    if source.how == "wave-agent-heading":
        return f'  (line {source.line}, from headings like "{_short(source.text)}")'
    return f'  (line {source.line}, "{_short(source.text)}" read as this wave)'


def tree(plan: Plan) -> list[str]:
    """A readable outline of the plan: waves, agents (id, package, files) and ordered issues."""
    n = neutralize
    out = [n(plan.title or "(untitled plan)")]
    if plan.format != "wavedeck":
        kind = "YAML manifest" if plan.format == "saw-yaml" else "Markdown IMPL doc"
        out.append(f"(read as a Scout-and-Wave {kind})")
    for wi, wave in enumerate(plan.waves):
        last_wave = wi == len(plan.waves) - 1
        scope = f"  [scope: {' + '.join(wave.scope)}]" if wave.scope else ""
        count = f"{len(wave.issue_ids)} issues, {len(wave.agents)} agents"
        title = f": {n(wave.title)}" if wave.title else ""
        out.append(
            f"{'└─' if last_wave else '├─'} Wave {wave.number}{title} ({count}){scope}"
            + _wave_from(wave.source)
        )
        pad = "   " if last_wave else "│  "
        for ai, agent in enumerate(wave.agents):
            last_agent = ai == len(wave.agents) - 1
            out.append(
                f"{pad}{'└─' if last_agent else '├─'} {agent.id}  {n(agent.title)}"
                + _agent_from(agent.source)
            )
            inner = pad + ("   " if last_agent else "│  ")
            out.append(f"{inner}package: {n(agent.package or './')}")
            out.append(f"{inner}files:   {n(', '.join(agent.files)) or '(none)'}")
            for issue in agent.issues:
                deps = f"  (after {n(', '.join(issue.depends_on))})" if issue.depends_on else ""
                out.append(
                    f"{inner}{issue.order:>3}. {n(issue.id)} {n(issue.severity)}: "
                    f"{n(issue.summary)}{deps}"
                )
    if plan.resolved:
        out.append(f"resolved: {n(', '.join(r.id for r in plan.resolved))}")
    if plan.test_commands:
        out.append("tests: " + "; ".join(n(c) for c in plan.test_commands))
    for gate in plan.gates:
        how = "required" if gate.required else "optional: not run"
        out.append(f"gate: {n(gate.command) or '(no command)'}  ({gate.type}, {how})")
    if plan.conventions:
        out.append("Scout-and-Wave conventions read, not acted on:")
        out += [f"  line {c.line}: {n(c.detail)}" for c in plan.conventions]
    return out
