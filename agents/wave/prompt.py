"""Render an agent's prompt from its section of the plan, and write it where the agent reads it.

The prompt holds the agent's package, the only files it may change, its ordered issues, its own
brief as the plan states it (``Agent.brief``: a Scout-and-Wave task, a section's prose), the
plan's title, strategy and rules, the progress protocol (``wavedeck: done <issue-id> <outcome>``), the
issue detail files found in the repository, and a machine-readable block that ``wavedeck
sim-agent`` (and any script) can parse. The default template is ``agents/data/prompt.md``;
``agent.prompt_template`` in ``wavedeck.toml`` names an override. Templates use ``{name}``
placeholders; only the names in ``PLACEHOLDERS`` are replaced, in one pass, so braces in a template
or in plan text are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from wavedeck.plan.checking.api import RepoView
from wavedeck.plan.errors import WavedeckError
from wavedeck.plan.models import Agent, Plan

PLACEHOLDERS = (
    "agent_id",
    "agent_title",
    "wave",
    "wave_title",
    "wave_text",
    "plan_title",
    "package",
    "files",
    "issues",
    "brief",
    "first_issue",
    "strategy",
    "rules",
    "issue_details",
    "machine_block",
    "repo",
)
_PLACEHOLDER_RE = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
# Issue detail files can be long: cap what goes into one prompt.
MAX_DETAIL_CHARS = 20_000
ISSUE_PATTERNS = ("issues/issue-{id}.md", "issues/issue-{id}-plan.md")


class PromptError(WavedeckError):
    """A prompt template that cannot be read."""


def default_template() -> str:
    """The template shipped with wavedeck (``agents/data/prompt.md``)."""
    return resources.files("wavedeck.agents.data").joinpath("prompt.md").read_text(encoding="utf-8")


def load_template(repo: Path, override: str | None) -> str:
    """The override file (relative to ``repo``) when configured, else the default template."""
    if not override:
        return default_template()
    path = Path(override)
    if not path.is_absolute():
        path = repo / path
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError(f"agent.prompt_template: cannot read {path}: {exc}") from None


def machine_block(agent: Agent, repo: Path) -> str:
    """Lines a tool can parse: ``wavedeck-<key>: <value>``, one fact a line, no free text first."""
    lines = [
        f"wavedeck-agent: {agent.id}",
        f"wavedeck-wave: {agent.wave}",
        f"wavedeck-repo: {repo}",
        f"wavedeck-package: {agent.package}",
    ]
    lines += [f"wavedeck-file: {path}" for path in agent.paths]
    for issue in agent.issues:
        summary = " ".join(issue.summary.split())
        lines.append(f"wavedeck-issue: {issue.id} {issue.severity} {summary}".rstrip())
    return "\n".join(lines)


def _issue_lines(agent: Agent) -> str:
    out = []
    for index, issue in enumerate(agent.issues, start=1):
        deps = f" (depends on {', '.join(issue.depends_on)})" if issue.depends_on else ""
        summary = " ".join(issue.summary.split())
        out.append(f"{index}. `{issue.id}` [{issue.severity}] {summary}{deps}")
    return "\n".join(out) or "(no issues)"


def _brief(agent: Agent) -> str:
    """The agent's own prose from the plan (a Scout-and-Wave agent's task, a section's text), as
    a section of its own; empty for a reference-format agent, whose section is its fields."""
    if not agent.brief.strip():
        return ""
    return f"\n## Your brief, as the plan states it\n\n{agent.brief.strip()}\n"


def _details(repo: Path, agent: Agent, view: RepoView | None = None) -> str:
    """The issue description and fix plan files, when the repository has them (found in
    ``view``, the repository's listing shared by a whole wave, when given)."""
    try:
        from wavedeck.agents.repoview import read_issue_files  # written by another module; optional
    except ImportError:
        return ""
    parts: list[str] = []
    budget = MAX_DETAIL_CHARS
    for issue in agent.issues:
        try:
            found: Any = read_issue_files(repo, issue.id, ISSUE_PATTERNS, view=view)
        except (OSError, ValueError):
            continue
        for name, text in _pairs(found):
            if budget <= 0:
                break
            chunk = text[:budget]
            budget -= len(chunk)
            parts.append(f"### {name}\n\n{chunk.rstrip()}\n")
    if not parts:
        return ""
    return "\n## Issue details (from the repository)\n\n" + "\n".join(parts) + "\n"


def _pairs(found: Any) -> Iterable[tuple[str, str]]:
    """Accept a mapping path->text or a sequence of (path, text) pairs / objects with them."""
    if isinstance(found, Mapping):
        return [(str(k), str(v)) for k, v in found.items()]
    pairs = []
    for item in found or ():
        if isinstance(item, tuple) and len(item) == 2:
            pairs.append((str(item[0]), str(item[1])))
        elif hasattr(item, "path") and hasattr(item, "text"):
            pairs.append((str(item.path), str(item.text)))
    return pairs


def render_prompt(
    plan: Plan,
    agent_id: str,
    repo: Path,
    template: str | None = None,
    *,
    view: RepoView | None = None,
) -> str:
    """The full prompt of one agent (``template`` defaults to the shipped one).

    ``view`` is the repository's listing (``wavedeck.agents.repoview.repo_view``): pass one for every
    agent of a wave, so its issue files are found without listing the repository per issue.
    """
    agent = plan.agent(agent_id)
    wave = plan.wave(agent.wave)
    rules = "\n".join(f"{r.number}. {r.text}" for r in plan.rules) or "(none stated)"
    values = {
        "agent_id": agent.id,
        "agent_title": agent.title,
        "wave": str(agent.wave),
        "wave_title": wave.title,
        "wave_text": wave.text.strip() or "(no notes)",
        "plan_title": plan.title,
        "package": agent.package or "./",
        "files": "\n".join(f"  - `{p}`" for p in agent.paths) or "  (none)",
        "issues": _issue_lines(agent),
        "brief": _brief(agent),
        "first_issue": agent.issues[0].id if agent.issues else "issue-1",
        "strategy": plan.strategy.strip() or "(no strategy text)",
        "rules": rules,
        "issue_details": _details(repo, agent, view),
        "machine_block": machine_block(agent, repo),
        "repo": str(repo),
    }
    return _PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], template or default_template())


def write_prompt(wavedeck_dir: Path, agent_id: str, text: str) -> Path:
    """Write ``.wavedeck/prompts/<id>.md`` (atomically) and return its path."""
    folder = wavedeck_dir / "prompts"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{agent_id}.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
