"""Renderers for a plan and its findings: JSON (text kept exactly), finding lines and a tree.

JSON output keeps every string as the plan wrote it; control, C1 and bidi characters are written
as ``\\uXXXX`` escapes, so the JSON is also safe to print on a terminal. Text output
(``finding_line``, ``tree``) is for terminals: every piece of plan text goes through
``plan.safetext.neutralize``, and nothing is interpreted as Rich markup because the CLI prints
with ``click.echo``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from plan.errors import Finding
from plan.models import Agent, Issue, Plan, Wave
from plan.safetext import neutralize


def _issue(issue: Issue) -> dict[str, object]:
    return {
        "id": issue.id,
        "order": issue.order,
        "severity": issue.severity,
        "summary": issue.summary,
        "depends_on": list(issue.depends_on),
        "line": issue.line,
    }


def _agent(agent: Agent) -> dict[str, object]:
    return {
        "id": agent.id,
        "number": agent.number,
        "title": agent.title,
        "package": agent.package,
        "files": list(agent.files),
        "paths": list(agent.paths),
        "issues": [_issue(i) for i in agent.issues],
    }


def _wave(wave: Wave) -> dict[str, object]:
    return {
        "number": wave.number,
        "title": wave.title,
        "scope": list(wave.scope),
        "agents": [_agent(a) for a in wave.agents],
    }


def plan_dict(plan: Plan) -> dict[str, object]:
    """The normalised plan as ``plan show --json`` prints it."""
    return {
        "title": plan.title,
        "waves": [_wave(w) for w in plan.waves],
        "resolved": [
            {"id": r.id, "severity": r.severity, "line": r.line, "cells": dict(r.cells)}
            for r in plan.resolved
        ],
        "rules": [{"number": r.number, "text": r.text, "line": r.line} for r in plan.rules],
        "test_commands": list(plan.test_commands),
    }


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


def tree(plan: Plan) -> list[str]:
    """A readable outline of the plan: waves, agents (id, package, files) and ordered issues."""
    n = neutralize
    out = [n(plan.title or "(untitled plan)")]
    for wi, wave in enumerate(plan.waves):
        last_wave = wi == len(plan.waves) - 1
        scope = f"  [scope: {' + '.join(wave.scope)}]" if wave.scope else ""
        count = f"{len(wave.issue_ids)} issues, {len(wave.agents)} agents"
        out.append(
            f"{'└─' if last_wave else '├─'} Wave {wave.number}: {n(wave.title)} ({count}){scope}"
        )
        pad = "   " if last_wave else "│  "
        for ai, agent in enumerate(wave.agents):
            last_agent = ai == len(wave.agents) - 1
            out.append(f"{pad}{'└─' if last_agent else '├─'} {agent.id}  {n(agent.title)}")
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
    return out
