"""Build ``wavedeck.plan.models.Plan`` objects directly, for tests that must not depend on the parser."""

from __future__ import annotations

from wavedeck.plan.models import Agent, Issue, Plan, Wave, agent_id


def make_agent(
    wave: int,
    number: int,
    package: str,
    files: list[str],
    issues: list[tuple[str, str]] | None = None,
    line: int = 1,
) -> Agent:
    pkg = package.rstrip("/") + "/" if package.strip("/") else ""
    return Agent(
        id=agent_id(wave, number),
        number=number,
        wave=wave,
        title=f"Agent {number}",
        package=pkg,
        files=tuple(files),
        paths=tuple(pkg + f for f in files),
        issues=tuple(
            Issue(id=i, order=n + 1, severity=s, summary=f"fix {i}", line=line + 2 + n)
            for n, (i, s) in enumerate(issues or [])
        ),
        line=line,
        package_line=line + 1,
        files_line=line + 1,
    )


def make_plan(waves: dict[int, list[Agent]], title: str = "Test plan") -> Plan:
    return Plan(
        title=title,
        waves=tuple(
            Wave(number=n, title=f"Wave {n}", agents=tuple(agents), line=n * 100)
            for n, agents in sorted(waves.items())
        ),
    )
