"""Helpers for the plan tests: write plans in any accepted Markdown style, compare models.

``PlanSpec`` describes a plan; ``render(spec, style)`` writes it as Markdown in one of the styles
the parser must accept; ``comparable(plan)`` strips what legitimately differs between styles
(source lines, prose kept for prompts) so two parses can be compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from wavedeck.plan.models import Plan


@dataclass(frozen=True)
class IssueSpec:
    id: str
    severity: str
    summary: str
    depends: tuple[str, ...] = ()  # full ids, same prefix as ``id``


@dataclass(frozen=True)
class AgentSpec:
    number: int
    title: str
    package: str  # normalised, trailing slash
    files: tuple[str, ...]
    issues: tuple[IssueSpec, ...]


@dataclass(frozen=True)
class WaveSpec:
    number: int
    title: str
    agents: tuple[AgentSpec, ...]


@dataclass(frozen=True)
class PlanSpec:
    title: str
    waves: tuple[WaveSpec, ...]
    test_commands: tuple[str, ...] = ("npm test",)


@dataclass(frozen=True)
class Style:
    wave_sep: str = "—"
    agent_sep: str = ":"
    counts: bool = True
    colon_inside: bool = False  # **Files:** instead of **Files**:
    files_as_list: bool = False
    package_dot: bool = False  # ./packages/x/
    package_slash: bool = True
    columns: tuple[str, ...] = ("Order", "Issue", "Severity", "Summary")
    header_case: str = "title"  # title, lower, upper
    severity_case: str = "upper"  # upper, lower, title
    bare_dependency: bool = True  # (depends on 05) instead of (depends on headless-05)
    blank_before_table: bool = False
    crlf: bool = False
    bom: bool = False


REFERENCE_STYLE = Style()


def _case(text: str, how: str) -> str:
    return {"title": text.title(), "lower": text.lower(), "upper": text.upper()}[how]


def _number(issue_id: str) -> str:
    m = re.search(r"(\d+)$", issue_id)
    return m.group(1) if m else issue_id


def render(spec: PlanSpec, style: Style = REFERENCE_STYLE) -> str:
    out = [f"# {spec.title}", "", "## Strategy", "", "Grouped by files.", ""]
    for wave in spec.waves:
        n_issues = sum(len(a.issues) for a in wave.agents)
        counts = f" ({n_issues} issues, {len(wave.agents)} agents)" if style.counts else ""
        out += [f"## Wave {wave.number} {style.wave_sep} {wave.title}{counts}", ""]
        for agent in wave.agents:
            out.append(f"### Agent {agent.number}{style.agent_sep} {agent.title}")
            package = agent.package if style.package_slash else agent.package.rstrip("/")
            if style.package_dot:
                package = "./" + package
            label = (
                (lambda name: f"**{name}:**")
                if style.colon_inside
                else (lambda name: f"**{name}**:")
            )
            out.append(f"{label('Package')} `{package}`")
            if style.files_as_list:
                out.append(label("Files"))
                out += [f"- `{f}`" for f in agent.files]
                out.append("")
            else:
                out.append(f"{label('Files')} " + ", ".join(f"`{f}`" for f in agent.files))
            if style.blank_before_table:
                out.append("")
            cols = style.columns
            out.append("| " + " | ".join(_case(c, style.header_case) for c in cols) + " |")
            out.append("|" + "|".join("---" for _ in cols) + "|")
            for order, issue in enumerate(agent.issues, start=1):
                deps = ""
                if issue.depends:
                    names = [_number(d) if style.bare_dependency else d for d in issue.depends]
                    deps = f" (depends on {', '.join(names)})"
                cells = {
                    "Order": str(order),
                    "Issue": issue.id,
                    "Severity": _case(issue.severity, style.severity_case),
                    "Summary": issue.summary + deps,
                }
                out.append("| " + " | ".join(cells[c] for c in cols) + " |")
            out.append("")
        out += ["---", ""]
    out += ["## Execution Summary", "", "### Rules", "1. **Never skip waves**"]
    commands = " and ".join(f"`{c}`" for c in spec.test_commands)
    out += [f"2. **Run tests between waves** — {commands}", ""]
    text = "\n".join(out)
    if style.crlf:
        text = text.replace("\n", "\r\n")
    if style.bom:
        text = "\ufeff" + text
    return text


_VOLATILE = {
    "line",
    "package_line",
    "files_line",
    "source",
    "line_count",
    "text",
    "strategy",
    "stated_issues",
    "stated_agents",
}
_DEPENDS = re.compile(r"\s*\(depends on [^)]*\)", re.IGNORECASE)


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _strip(v) for k, v in value.items() if k not in _VOLATILE}
        if "summary" in out and isinstance(out["summary"], str):
            out["summary"] = _DEPENDS.sub("", out["summary"])
        return out
    if isinstance(value, list | tuple):
        return [_strip(v) for v in value]
    return value


def comparable(plan: Plan) -> Any:
    """The plan as data, without source lines, kept prose, or the dependency text in summaries
    (its spelling differs between styles; ``depends_on`` carries its meaning)."""
    return _strip(plan.model_dump())


def small_spec() -> PlanSpec:
    """Two waves, two agents each, with a dependency, in the reference plan's shape."""
    return PlanSpec(
        title="Small plan",
        waves=(
            WaveSpec(
                1,
                "CRITICAL + HIGH",
                (
                    AgentSpec(
                        1,
                        "Core",
                        "packages/core/src/",
                        ("util.py", "io.py"),
                        (
                            IssueSpec("core-01", "CRITICAL", "Unsafe eval"),
                            IssueSpec("core-02", "HIGH", "Path traversal", ("core-01",)),
                        ),
                    ),
                    AgentSpec(
                        2,
                        "Web",
                        "packages/web/",
                        ("app.ts",),
                        (IssueSpec("web-1", "HIGH", "XSS in search"),),
                    ),
                ),
            ),
            WaveSpec(
                2,
                "MEDIUM severity",
                (
                    AgentSpec(
                        1,
                        "Core again",
                        "packages/core/src/",
                        ("util.py",),
                        (IssueSpec("core-03", "MEDIUM", "Logging of secrets", ("core-02",)),),
                    ),
                ),
            ),
        ),
    )
