"""The small text grammars inside a plan: headings, labelled fields, severities, ids, dependencies.

Each function reads one piece of Markdown source text (as markdown-it-py hands it over) and
returns plain data; ``wavedeck.plan.reading.parser`` assembles the pieces into the model.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from wavedeck.plan.models import SEVERITIES, Severity

_SEP = r"\s*(?:[—–:.\-]+\s*)?"
_WAVE = re.compile(r"^\s*wave\s+(\d+)(?!\w|\.\d)" + _SEP + r"(.*?)\s*$", re.IGNORECASE | re.DOTALL)
_AGENT = re.compile(
    r"^\s*agent\s+(\d+)(?!\w|\.\d)" + _SEP + r"(.*?)\s*$", re.IGNORECASE | re.DOTALL
)
_TRAILING_PAREN = re.compile(r"\s*\(([^()]*)\)\s*$")
_N_ISSUES = re.compile(r"(\d+)\s+issues?\b", re.IGNORECASE)
_N_AGENTS = re.compile(r"(\d+)\s+agents?\b", re.IGNORECASE)
_SCOPE_UPPER = re.compile(r"\b(CRITICAL|HIGH|MEDIUM|LOW)\b")
_SCOPE_ANY = re.compile(r"\b(critical|high|medium|low)\b", re.IGNORECASE)
_SEVERITY_WORD = re.compile(r"\bseverit(?:y|ies)\b", re.IGNORECASE)
# A labelled field: bold label with the colon inside or outside the bold, or a bare label.
_LABEL = re.compile(
    r"^\s*(?:(?:\*\*|__)\s*([A-Za-z][A-Za-z ]*?)\s*(:?)\s*(?:\*\*|__)\s*(:?)"
    r"|(package|files?|folder)\s*(:))\s*(.*)$",
    re.IGNORECASE | re.DOTALL,
)
CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_DEPENDS = re.compile(r"\(\s*depends\s+on\s*:?\s*([^)]*)\)", re.IGNORECASE)
_DEP_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_ID_NUMBER = re.compile(r"^(.*?)(\d+)$")
ISSUE_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]|\.(?!\.))*$")
# A number cell: ``5``, ``**5**``, ``5 (2 resolved)``; not ``5a`` or ``about 5``.
_INT = re.compile(r"^\s*[*_]*\s*(\d+)(?!\w|\.\d)")


@dataclass(frozen=True)
class WaveHeading:
    number: int
    title: str
    scope: tuple[Severity, ...]
    stated_issues: int | None
    stated_agents: int | None


def wave_heading(text: str) -> WaveHeading | None:
    """``Wave N <sep> title (X issues, Y agents)`` -> its parts, or ``None`` if not a wave."""
    m = _WAVE.match(text)
    if m is None:
        return None
    title = m.group(2)
    issues = agents = None
    paren = _TRAILING_PAREN.search(title)
    if paren is not None:
        ni = _N_ISSUES.search(paren.group(1))
        na = _N_AGENTS.search(paren.group(1))
        if ni is not None or na is not None:
            issues = int(ni.group(1)) if ni else None
            agents = int(na.group(1)) if na else None
            title = title[: paren.start()].rstrip()
    return WaveHeading(int(m.group(1)), title, scope_of(title), issues, agents)


def agent_heading(text: str) -> tuple[int, str] | None:
    """``Agent N <sep> title`` -> (N, title), or ``None``."""
    m = _AGENT.match(text)
    if m is None:
        return None
    return int(m.group(1)), m.group(2)


def unread_agent_message(level: int, text: str, enclosing: tuple[int, str] | None) -> str:
    """Why an ``Agent N`` heading at ``level`` was not read into a wave, for an ``unread-heading``
    finding. ``enclosing`` is the nearest heading above it (level, text), if any."""
    heading = f"{'#' * level} {text}"
    if enclosing is not None and enclosing[1].strip().lower().startswith("wave"):
        wave = f"{'#' * enclosing[0]} {enclosing[1]}"
        return (
            f"'{heading}' is not read: its section '{wave}' is not a wave heading "
            "(a wave heading is '## Wave N — title', with N in digits)"
        )
    return (
        f"'{heading}' is not read: an agent heading must sit under a wave heading "
        "('## Wave N — title') and be deeper than it"
    )


def scope_of(title: str) -> tuple[Severity, ...]:
    """The severities a wave title states as its scope, most severe first.

    Upper-case words always count (``CRITICAL + HIGH``, ``LOW``); lower-case ones only when the
    title says "severity" (``medium severity``), so "High-traffic handlers" states no scope.
    """
    found = {m.group(1) for m in _SCOPE_UPPER.finditer(title)}
    if _SEVERITY_WORD.search(title):
        found |= {m.group(1).upper() for m in _SCOPE_ANY.finditer(title)}
    return tuple(s for s in SEVERITIES if s in found)


def labelled_field(line: str) -> tuple[str, str] | None:
    """A ``**Label**: value`` line -> (label lower-cased, value source text), or ``None``.

    A bold text without a colon (``**Note** something``) is not a field.
    """
    m = _LABEL.match(line)
    if m is None:
        return None
    if m.group(1) is not None:
        if not (m.group(2) or m.group(3)):
            return None
        return m.group(1).strip().lower(), m.group(6)
    return m.group(4).lower(), m.group(6)


def code_spans(text: str) -> list[str]:
    """The contents of the code spans in ``text`` (CommonMark: one space each side stripped)."""
    out: list[str] = []
    for m in CODE_SPAN.finditer(text):
        body = m.group(2).replace("\n", " ")
        if len(body) >= 2 and body[0] == " " and body[-1] == " " and body.strip():
            body = body[1:-1]
        out.append(body)
    return out


def list_values(text: str) -> list[str]:
    """A field's values: its code spans, or when it has none, its comma-separated words."""
    spans = code_spans(text)
    if spans:
        return spans
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_int(text: str) -> int | None:
    """The number a cell starts with (``5``, ``**5**``, ``5 (2 resolved)``), or ``None``."""
    m = _INT.match(text)
    return int(m.group(1)) if m else None


def severity_of(text: str) -> str:
    """A severity cell case-folded to upper case (``high`` == ``HIGH``); checked later."""
    return text.strip().strip("*_").strip().upper()


@functools.lru_cache(maxsize=1 << 16)
def id_key(issue_id: str) -> tuple[str, int | None]:
    """The identity of an issue id: ``headless-05``, ``Headless-5`` and ``headless-5`` are one."""
    m = _ID_NUMBER.match(issue_id)
    if m is None:
        return issue_id.casefold(), None
    return m.group(1).rstrip("-_. ").casefold(), int(m.group(2))


def dependencies(summary: str, own_id: str) -> list[str]:
    """Ids named by ``(depends on …)`` in a summary; a bare number takes ``own_id``'s prefix."""
    out: list[str] = []
    m_own = _ID_NUMBER.match(own_id)
    prefix = m_own.group(1) if m_own else ""
    for m in _DEPENDS.finditer(summary):
        for token in _DEP_TOKEN.findall(m.group(1)):
            if token.lower() in ("and", "or", "issue", "issues"):
                continue
            out.append(prefix + token if token.isdigit() else token)
    return out


_RUN_TESTS = re.compile(r"\brun(?:s|ning)?\b.{0,40}?\btests?\b|\btests?\b.{0,20}?\brun\b", re.I)


def mentions_running_tests(text: str) -> bool:
    """Whether a rule talks about running tests (``Run tests between waves``)."""
    return _RUN_TESTS.search(text) is not None
