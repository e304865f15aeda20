"""The small grammars of plans written in other shapes than the reference format.

People name agents ``### W1: Job loop``, ``## Workstream A: Tests (High Priority)``,
``#### Wave 1 Agent B: …`` or ``### Track 2 — …``; group them in ``## Phase N`` sections; list
work as checklists, numbered steps or ``#### A1: …`` task headings; and write files under labels
such as ``Files to edit:`` (the values, with notes like ``(SHARED)`` or ``lib.rs:1-700``, are read
by ``wavedeck.plan.reading.fileentries``). Each function here reads one such piece of text into
plain data; ``wavedeck.plan.reading.shapereader`` decides where it applies.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from markdown_it.token import Token

from wavedeck.plan.reading import fields as fl

_SEP = r"\s*(?:[—–:.\-]+\s*|\s+|$)"
# Words that name an agent-like unit of parallel work, followed by its id.
_KEYWORD = r"agent|workstream|work\s+stream|stream|track|lane|worker|team|squad"
_ID = r"(?:[A-Za-z]|[A-Za-z]{0,2}\d+)"
_KEYWORD_HEADING = re.compile(
    rf"^\s*(?P<label>(?P<kw>{_KEYWORD})\s+(?P<id>{_ID}))(?![\w.])" + _SEP + r"(?P<title>.*?)\s*$",
    re.IGNORECASE | re.DOTALL,
)
# ``Wave 1 Agent B: title``, ``Wave 2, Track 1 — title``, ``Phase 1 / Agent A``; not
# ``Wave 1 — Agent 3 fixes``, which is a wave titled "Agent 3 fixes".
_COMBINED_HEADING = re.compile(
    r"^\s*(?:wave|phase|stage)\s+(?P<wave>\d+)\s*[,/]?\s*"
    rf"(?P<label>(?:{_KEYWORD})\s+(?P<id>{_ID}))(?![\w.])" + _SEP + r"(?P<title>.*?)\s*$",
    re.IGNORECASE | re.DOTALL,
)
# ``W1: title``, ``P2 — title``, ``WS-3. title``: an upper-case prefix and a number.
_PREFIX_HEADING = re.compile(
    r"^\s*(?P<label>(?P<prefix>[A-Z]{1,3})-?(?P<n>\d+))\s*(?:[—–:.\-]+)\s*(?P<title>\S.*?)\s*$",
    re.DOTALL,
)
_PHASE_HEADING = re.compile(
    r"^\s*(?:phase|stage)\s+(\d+)(?![\w.])" + _SEP + r"(.*?)\s*$", re.IGNORECASE | re.DOTALL
)
# A work item's own id at its start: ``A1:``, ``**T2.1**:``, ``INFRA-001 —``, ``[W1-3]``.
_ITEM_ID = re.compile(
    r"^\s*[*_\[`]*\s*(?P<id>[A-Z][A-Za-z]{0,9}-?\d+(?:\.\d+)*)\s*[*_\]`]*\s*(?:[—–:.)\-]+\s+|\s*$)"
)
_NUMBERED = re.compile(r"^\s*(\d+)[.)]?\s+(?!\d)\S")
_TASK_WORD = re.compile(
    r"^\s*(?:task|step|item|fix|change)\s*#?\s*\d+(?:\.\d+)*(?![\w.])", re.IGNORECASE
)
_CHECKBOX = re.compile(r"^\s*\[([ xX✓✔])\]\s+(.*)$", re.DOTALL)

# Severity words as people write priorities.
_PRIORITY = [
    re.compile(r"\b(critical|high|medium|low)[\s-]+priority\b", re.IGNORECASE),
    re.compile(r"\bpriority\s*\**\s*[:=]?\s*\**\s*(critical|high|medium|low|p[0-3])\b", re.I),
    re.compile(r"[\[(]\s*(critical|high|medium|low)\s*[\])]", re.IGNORECASE),
    re.compile(r"^\s*[*_]*(CRITICAL|HIGH|MEDIUM|LOW)[*_]*\s*[:—–-]"),
]
_ANY_PRIORITY = re.compile(r"critical|high|medium|low|p[0-3]", re.IGNORECASE)
_P_LEVELS = {"p0": "CRITICAL", "p1": "HIGH", "p2": "MEDIUM", "p3": "LOW"}

# Labels of fields, by what they give the agent.
_FILES_LABEL = re.compile(
    r"^(?:(?:key|target|exclusive|owned|your|allowed)\s+)?files?"
    r"(?:\s+(?:to\s+)?(?:edit|modify|create|change|touch|update|own|owned|write))?"
    r"(?:\s+\(?(?:new|owned|exclusive)\)?)?$|^file\s+ownership$"
)
_SHARED_LABEL = re.compile(r"^shared(?:\s+files?)?$")
_PACKAGE_LABEL = re.compile(r"^(?:package|folder|directory|dir|working\s+directory|root)$")
_PLAIN_LABEL = re.compile(
    r"^\s*(?:[-*+]\s+)?([A-Za-z][A-Za-z ]{0,30}?)\s*:\s*(.*)$",
    re.DOTALL,
)
_FILES_HEADING = re.compile(
    r"^\s*(?:\d+(?:\.\d+)*\.?\s+)?(?:file\s+ownership|files?(?:\s+(?:to\s+)?"
    r"(?:edit|modify|create|change|touch|own|owned))?|(?:owned|your|exclusive)\s+files"
    r"|ownership)\s*:?\s*$",
    re.IGNORECASE,
)
_TASKS_HEADING = re.compile(
    r"\b(?:tasks?|work\s+items?|steps?|findings?|issues?|deliverables?|to-?do|checklist)\b",
    re.IGNORECASE,
)
_WAVE_MENTION = re.compile(r"\b(wave|phase|stage)\s*#?\s*(\d+)\b", re.IGNORECASE)


@dataclass(frozen=True)
class AgentLabel:
    """An agent recognised in a heading: the plan's label, its number, title, maybe its wave."""

    label: str
    number: int
    title: str
    wave: int | None = None
    prefix: str | None = None  # for ``W1``-style labels: the prefix, counted across siblings


def id_number(token: str) -> int:
    """An agent id's number: its digits (``W3`` -> 3), or a letter's place (``B`` -> 2)."""
    digits = "".join(ch for ch in token if ch.isdigit())
    if digits:
        return int(digits)
    letter = token.strip()[:1].upper()
    return ord(letter) - ord("A") + 1 if "A" <= letter <= "Z" else 0


def _title(label: str, rest: str) -> str:
    return f"{label}: {rest}" if rest else label


def combined_heading(text: str) -> AgentLabel | None:
    """``Wave 1 Agent B: title`` -> label ``Agent B``, number 2, wave 1."""
    m = _COMBINED_HEADING.match(text)
    if m is None:
        return None
    label = " ".join(m.group("label").split())
    return AgentLabel(
        label, id_number(m.group("id")), _title(label, m.group("title")), int(m.group("wave"))
    )


def keyword_heading(text: str) -> AgentLabel | None:
    """``Workstream A: title``, ``Track 2 — title``, ``Agent B``."""
    m = _KEYWORD_HEADING.match(text)
    if m is None:
        return None
    label = " ".join(m.group("label").split())
    return AgentLabel(label, id_number(m.group("id")), _title(label, m.group("title")))


def prefix_heading(text: str) -> AgentLabel | None:
    """``W1: title`` (an upper-case prefix, a number and a title)."""
    m = _PREFIX_HEADING.match(text)
    if m is None:
        return None
    label = m.group("label")
    return AgentLabel(
        label, int(m.group("n")), _title(label, m.group("title")), None, m.group("prefix")
    )


def phase_heading(text: str) -> tuple[int, str] | None:
    """``Phase N — title`` -> (N, title)."""
    m = _PHASE_HEADING.match(text)
    return (int(m.group(1)), m.group(2)) if m else None


def priority_of(text: str) -> str | None:
    """The severity a heading or work item states as its priority, upper-cased, or ``None``."""
    if _ANY_PRIORITY.search(text) is None:  # the common case: no severity word at all
        return None
    for pattern in _PRIORITY:
        m = pattern.search(text)
        if m is not None:
            word = m.group(1).lower()
            return _P_LEVELS.get(word, word.upper())
    return None


def item_id(text: str) -> tuple[str | None, str]:
    """A work item's own id (``A1: …``, ``INFRA-001 …``) and the rest of its text."""
    m = _ITEM_ID.match(text)
    if m is None or not fl.ISSUE_ID.match(m.group("id")):
        return None, text.strip()
    return m.group("id"), text[m.end() :].strip() or text.strip()


def heading_number(text: str) -> int | None:
    """The number of a numbered section heading (``1. Context``, ``2) Files``), or ``None``."""
    m = _NUMBERED.match(text)
    return int(m.group(1)) if m else None


def task_heading(text: str) -> tuple[str | None, str] | None:
    """A task heading: (its own id or ``None``, its text) for ``A1: Create the API`` or
    ``Task 3 — Cache``, else ``None``."""
    own, rest = item_id(text)
    if own is not None and any(ch.isalpha() for ch in own):
        return own, rest
    if _TASK_WORD.match(text):
        return None, text.strip()
    return None


def checkbox(text: str) -> str | None:
    """A checklist item's text without its ``[ ]``, or ``None`` when it is no checklist item."""
    if "[" not in text[:4]:
        return None
    m = _CHECKBOX.match(text)
    return m.group(2) if m else None


def field_role(label: str) -> str | None:
    """What a field label gives: ``files``, ``shared``, ``package``, ``priority``, ``owner``,
    ``wave``, ``tasks`` (the lists after it are work items), ``after`` (agents it depends on)."""
    name = " ".join(label.lower().split())
    if _FILES_LABEL.match(name):
        return "files"
    if _SHARED_LABEL.match(name):
        return "shared"
    if _PACKAGE_LABEL.match(name):
        return "package"
    if name in ("priority", "severity"):
        return "priority"
    if name in ("owner", "owners", "assigned to", "agent", "assignee"):
        return "owner"
    if name in ("wave", "phase"):
        return "wave"
    if name in ("tasks", "task", "steps", "work items", "todo", "to do", "checklist", "work"):
        return "tasks"
    if name in ("dependencies", "depends on", "depends", "after", "blocked by"):
        return "after"
    return None


def plain_field(line: str) -> tuple[str, str] | None:
    """``Files to edit: a.py`` (a label without bold) whose label has a role, or ``None``."""
    m = _PLAIN_LABEL.match(line)
    if m is None or field_role(m.group(1)) is None:
        return None
    return m.group(1).strip().lower(), m.group(2)


def files_heading(text: str) -> bool:
    """A heading that introduces an agent's files (``## 1. File Ownership``, ``Files to edit``)."""
    return _FILES_HEADING.match(text) is not None


def tasks_heading(text: str) -> bool:
    """A heading that introduces work items (``Tasks``, ``Findings``, ``Steps``)."""
    return _TASKS_HEADING.search(text) is not None


def wave_mention(text: str) -> tuple[str, int] | None:
    """The first ``Wave N`` / ``Phase N`` a line names: (word lower-cased, N)."""
    m = _WAVE_MENTION.search(text)
    return (m.group(1).lower(), int(m.group(2))) if m else None


# ``### Backend agent``, ``### Frontend Agent: the login form``: a name before the word agent.
_NAMED_AGENT_HEADING = re.compile(
    r"^\s*(?P<name>[A-Z][\w+#.-]*(?:[ /&]+[A-Za-z][\w+#.-]*){0,2})\s+(?P<kw>(?i:agent))(?![\w-])"
    r"\s*(?:[:—–.\-]+\s*(?P<title>.*?))?\s*$",
    re.DOTALL,
)
# First words that make "X agent" a phrase about agents, not an agent's name.
_NOT_NAMES = frozenset(
    [
        "the",
        "a",
        "an",
        "each",
        "every",
        "per",
        "any",
        "all",
        "one",
        "other",
        "which",
        "what",
        "why",
        "how",
        "your",
        "this",
        "that",
        "no",
        "for",
        "about",
        "sub",
        "main",
        "lead",
        "orchestrator",
        "coordinator",
        "parent",
        "scout",
        "critic",
        "wave",
        "phase",
        "stage",
        "new",
    ]
)


def named_heading(text: str) -> AgentLabel | None:
    """``Backend agent`` or ``Frontend Agent: title``: label ``Backend agent``, number 0 (the
    reader numbers such agents after the numbered ones of their wave)."""
    m = _NAMED_AGENT_HEADING.match(text)
    if m is None or m.group("name").split()[0].lower() in _NOT_NAMES:
        return None
    label = " ".join(text[: m.end("kw")].split())
    title = m.group("title") or ""
    return AgentLabel(label, 0, _title(label, title))


def prescan(tokens: Sequence[Token]) -> tuple[bool, bool, Counter[tuple[str, int]]]:
    """Whether the plan has wave headings, whether it is in the reference shape (an ``Agent N``
    heading under a ``Wave N`` heading), and how often each ``W1``-style prefix heads a section
    at each level. Only headings are looked at."""
    has_waves = False
    reference = False
    prefixes: Counter[tuple[str, int]] = Counter()
    wave_level: int | None = None
    for i, tok in enumerate(tokens):
        if tok.type != "heading_open":
            continue
        level = int(tok.tag[1:])
        text = tokens[i + 1].content
        combined = combined_heading(text) is not None
        if level >= 2 and fl.wave_heading(text) is not None and not combined:
            has_waves = True
            wave_level = level
            continue
        if fl.agent_heading(text) is not None and wave_level is not None and level > wave_level:
            reference = True
        elif wave_level is not None and level <= wave_level:
            wave_level = None
        got = prefix_heading(text)
        if got is not None and got.prefix is not None:
            prefixes[(got.prefix, level)] += 1
    return has_waves, reference, prefixes
