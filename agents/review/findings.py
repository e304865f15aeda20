"""What a reviewer agent is asked, and how its answer is read.

``reviewer_prompt`` gives the reviewer one agent's issues (with the outcomes the agent reported)
and its diff, says it may read the repository but not change it, and asks for its findings in
one fenced block labelled ``wavedeck-findings``: one JSON object a line, ``{"file", "line",
"severity", "text"}``, or no line at all when it found nothing. ``parse_findings`` reads the
block back: a finding that is not such an object is reported (``problems``), never guessed at.
An answer without the block is a reviewer run that failed, said as such.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from wavedeck.agents.review.changes import AgentChanges
from wavedeck.agents.reviewrecord import SEVERITIES, Severity

FENCE = "wavedeck-findings"
_BLOCK = re.compile(r"```" + FENCE + r"[^\n]*\n(.*?)```", re.DOTALL)
MAX_FINDINGS = 50
MAX_TEXT = 1000
SEVERITY_WORDS: dict[str, Severity] = {
    **{s: s for s in SEVERITIES},
    "major": "high",
    "blocker": "critical",
    "minor": "low",
    "nit": "info",
    "warning": "medium",
    "error": "high",
}


@dataclass(frozen=True)
class Finding:
    """One finding of a reviewer agent."""

    path: str
    line: int
    severity: Severity
    text: str


def reviewer_prompt(wave: int, changes: AgentChanges, patch: str) -> str:
    """The prompt of the reviewer of one agent's changes (see the module docstring)."""
    issues = "\n".join(
        f"- {i.severity} {i.id}: {i.summary}"
        + (f" — reported: {i.outcome or 'done'}" if i.done else " — not reported done")
        for i in changes.issues
    )
    files = "\n".join(f"- {f.path}" for f in changes.files)
    return f"""# You review the changes of agent {changes.agent} in wave {wave}

You are a code reviewer. You may read any file of the repository (the working tree holds the
changes), but you must not change anything: every write is refused.

The agent ({changes.title}) was given these issues, and reported:

{issues or "- (none)"}

It changed these files:

{files or "- (none)"}

Its changes (a unified diff against the wave's start):

```diff
{patch.rstrip()}
```

Check that each issue is really fixed and that the change breaks nothing. Report every problem
you find, each once, in this exact block at the end of your answer (one JSON object a line;
severity is one of {", ".join(SEVERITIES)}; line is a line number of the file as it is now):

```{FENCE}
{{"file": "path/of/the/file.py", "line": 12, "severity": "high", "text": "what is wrong"}}
```

If you find nothing, give the block with no line in it.
"""


def parse_findings(answer: str) -> tuple[list[Finding], list[str]] | None:
    """The findings of the last ``wavedeck-findings`` block in ``answer``, and what could not be
    read in it; None when the answer has no such block."""
    blocks = _BLOCK.findall(answer)
    if not blocks:
        return None
    findings: list[Finding] = []
    problems: list[str] = []
    for number, raw in enumerate(blocks[-1].splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except ValueError:
            problems.append(f"line {number}: not JSON: {line[:80]!r}")
            continue
        finding = _finding(value)
        if isinstance(finding, str):
            problems.append(f"line {number}: {finding}")
        elif len(findings) < MAX_FINDINGS:
            findings.append(finding)
    return findings, problems


def _finding(value: object) -> Finding | str:
    if not isinstance(value, dict):
        return "not an object"
    path, line, severity, text = (value.get(k) for k in ("file", "line", "severity", "text"))
    if not isinstance(path, str) or not path.strip():
        return "no file"
    if isinstance(line, bool) or not isinstance(line, int) or line < 0:
        return "line is not a line number"
    word = SEVERITY_WORDS.get(str(severity).strip().lower())
    if word is None:
        return f"unknown severity {severity!r}"
    if not isinstance(text, str) or not text.strip():
        return "no text"
    return Finding(path.strip().removeprefix("./"), line, word, text.strip()[:MAX_TEXT])
