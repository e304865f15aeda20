"""The checkpoint commit message of a wave, shaped like the ones teams write by hand.

A title naming the wave, its scope and its issue count; the issues grouped by agent, one line
each with its evidence (``wavedeck.agents.wave.evidence``): ``- SEVERITY id: outcome (reported
by w1-a1)`` for an issue its agent reported done (``wavedeck: done <id> <outcome>``), else the
plan's summary and why it counts, or does not (``marked done by the operator: <reason>``,
``reverted by the operator: <path>``, ``not reported done``); one line per test command with its
result; then git trailers a tool can read back (``git interpret-trailers --parse``)::

    Wavedeck-Wave: 1
    Wavedeck-Issues: headless-05, headless-06, ...      (the issues something shows done)
    Wavedeck-Issue: headless-05 reported (w1-a1: key pinned)
    Wavedeck-Issue: headless-06 marked-done (w1-a1: checked by hand)
    Wavedeck-Issue: headless-07 reverted (packages/x/y.py)
    Wavedeck-Tests: npm run test --workspaces passed 41.2s
    Wavedeck-Accepted: package-lock.json (policy accept 'package-lock.json')
    Wavedeck-Usage: 812.4k in / 20.1k out tokens, $4.12
    Wavedeck-Sandbox: landlock ABI 7

(the usage line, per agent and in the trailer, only when the agents' CLIs reported usage).

Text from agents and plans is folded to one line (no control characters), so it can never break
the message's shape or forge a trailer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from wavedeck.agents.presets.usage import UsageTotal, describe, total
from wavedeck.agents.wave.evidence import Evidence
from wavedeck.plan.models import Issue, Plan, Wave

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_COUNTS = re.compile(r"\s*\(\s*\d+\s+issues?[^)]*\)\s*$", re.IGNORECASE)
MAX_LINE = 200  # an outcome longer than this is cut: the diff says the rest


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """``text`` folded to one clean line, cut at ``limit`` characters with an ellipsis."""
    flat = " ".join(_UNSAFE.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def title_line(wave: Wave, prefix: str = "") -> str:
    """``Wave 1 — CRITICAL + HIGH (29 issues)``: the wave, its scope, its issue count."""
    title = _COUNTS.sub("", one_line(wave.title, 120))
    scope = " + ".join(wave.scope)
    if scope and scope.lower() not in title.lower():
        title = f"{title} [{scope}]" if title else scope
    head = f"Wave {wave.number} — {title}" if title else f"Wave {wave.number}"
    return f"{prefix}{head} ({_plural(len(wave.issue_ids), 'issue')})"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s"


def _issue_line(issue: Issue, evidence: Evidence | None) -> str:
    """``- SEVERITY id: what was done (its evidence)``."""
    summary = one_line(issue.summary)
    if evidence is None or evidence.kind == "unreported":
        what = f"{summary or issue.id} (not reported done)"
    elif evidence.kind == "reported":
        what = f"{one_line(evidence.detail) or 'done'} (reported by {evidence.agent})"
    elif evidence.kind == "marked-done":
        why = one_line(evidence.detail)
        what = f"{summary or issue.id} (not reported; marked done by the operator: {why})"
    else:  # reverted: never claimed done, whatever the agent reported before
        what = f"{summary or issue.id} (reverted by the operator: {one_line(evidence.detail)})"
    return f"- {one_line(issue.severity, 20)} {issue.id}: {what}"


def _issue_trailer(evidence: Evidence) -> str:
    """``Wavedeck-Issue: id kind (who: detail)``: one issue's evidence, for tools."""
    if evidence.kind == "reverted":
        about = one_line(evidence.detail, 400)
    elif evidence.detail:
        about = f"{evidence.agent}: {one_line(evidence.detail)}"
    else:
        about = evidence.agent
    return f"Wavedeck-Issue: {evidence.issue} {evidence.kind} ({about})"


def checkpoint_message(
    plan: Plan,
    wave: int,
    evidence: Mapping[str, Evidence],
    tests: Sequence[tuple[str, bool]],
    accepted: Mapping[str, str],
    tests_summary: str | None = None,
    *,
    tests_duration_s: float | None = None,
    prefix: str = "",
    usage: Mapping[str, UsageTotal] | None = None,
    sandbox: str | None = None,
) -> str:
    """The checkpoint commit message of ``wave``.

    Args:
        evidence: issue id -> what shows it done, or not (``evidence.issue_evidence``); an
            issue missing here is not reported done.
        tests: ``(command, passed)`` for every test command run between waves.
        accepted: path -> reason, for every path the ownership policy accepted.
        tests_summary: a free line about the tests (``All tests pass: CF Worker (142), ...``).
        tests_duration_s: the tests' wall time, for the ``Wavedeck-Tests`` trailer.
        prefix: put before the title (``fix: ``) for repositories using conventional commits.
        usage: agent id -> the tokens and cost its CLI reported (agent presets).
        sandbox: how the agents were confined (``Wavedeck-Sandbox``: ``landlock ABI 7``...).
    """
    usage = usage or {}
    w = plan.wave(wave)
    lines = [title_line(w, prefix), ""]
    ids: list[str] = []  # the issues something shows done
    for agent in w.agents:
        issues = sorted(agent.issues, key=lambda i: i.order)
        label = one_line(agent.title, 100) or f"Agent {agent.number}"
        spent = describe(usage.get(agent.id, UsageTotal()))
        spent = f"; {spent}" if spent else ""
        lines.append(f"{label} ({agent.id}, {_plural(len(issues), 'issue')}{spent}):")
        for issue in issues:
            found = evidence.get(issue.id)
            if found is not None and found.done:
                ids.append(issue.id)
            lines.append(_issue_line(issue, found))
        lines.append("")
    if tests:
        lines.append("Tests:")
        for command, passed in tests:
            lines.append(f"- {one_line(command)}: {'passed' if passed else 'failed'}")
        lines.append("")
    if tests_summary:
        lines += [one_line(tests_summary, 400), ""]
    lines.append(f"Wavedeck-Wave: {wave}")
    lines.append(f"Wavedeck-Issues: {', '.join(ids) or 'none'}")
    for agent in w.agents:
        for issue in sorted(agent.issues, key=lambda i: i.order):
            found = evidence.get(issue.id) or Evidence(issue.id, agent.id, "unreported")
            lines.append(_issue_trailer(found))
    if tests:
        result = "passed" if all(ok for _, ok in tests) else "failed"
        value = f"{'; '.join(one_line(c) for c, _ in tests)} {result}"
        if tests_duration_s is not None:
            value += f" {_duration(tests_duration_s)}"
        lines.append(f"Wavedeck-Tests: {value}")
    else:
        lines.append("Wavedeck-Tests: none")
    for path in sorted(accepted):
        lines.append(f"Wavedeck-Accepted: {one_line(path, 400)} ({one_line(accepted[path])})")
    spent_all = describe(total(usage.get(a.id, UsageTotal()) for a in w.agents))
    if spent_all:
        lines.append(f"Wavedeck-Usage: {spent_all}")
    if sandbox:
        lines.append(f"Wavedeck-Sandbox: {one_line(sandbox, 400)}")
    return "\n".join(lines) + "\n"


TRAILER_PREFIX = "wavedeck-"


def with_current_trailers(edited: str, generated: str) -> str:
    """The operator's edited message with wavedeck's trailers taken from ``generated``.

    The operator may rewrite the title and body, but the ``Wavedeck-*`` trailers must state what
    the commit really holds (the accepted paths and the test result as the gate saw them at
    commit time), so any they edited or left stale are replaced by the current ones.
    """
    body = [ln for ln in edited.splitlines() if not ln.lower().startswith(TRAILER_PREFIX)]
    while body and not body[-1].strip():
        body.pop()
    trailers = [ln for ln in generated.splitlines() if ln.lower().startswith(TRAILER_PREFIX)]
    return "\n".join([*body, "", *trailers]) + "\n"


def with_review(
    message: str,
    lines: Sequence[str],
    trailers: Sequence[tuple[str, str]],
    usage: str | None = None,
) -> str:
    """``message`` with the review's summary (``wavedeck.agents.review.summary``): its
    ``lines`` at the end of the body, its ``trailers`` after wavedeck's others, and, when the
    reviewer agents used tokens, ``usage`` (the wave's total with theirs) as ``Wavedeck-Usage``.
    """
    if not lines and not trailers:
        return message
    text = message.rstrip("\n").split("\n")
    start = next(
        (i for i, ln in enumerate(text) if ln.lower().startswith(TRAILER_PREFIX)), len(text)
    )
    body, tail = text[:start], text[start:]
    while body and not body[-1].strip():
        body.pop()
    body += ["", *(one_line(ln, 400) for ln in lines)]
    if usage:
        tail = [ln for ln in tail if not ln.startswith("Wavedeck-Usage:")]
        tail.append(f"Wavedeck-Usage: {one_line(usage, 400)}")
    tail += [f"{key}: {one_line(value, 400)}" for key, value in trailers]
    return "\n".join([*body, "", *tail]) + "\n"
