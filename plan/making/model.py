"""What the planner (``wavedeck plan make``) takes and gives: issues in, waves of agents out. Pure.

``IssueSpec`` is one issue as the planner sees it: its id, severity, title, dependencies, the
repository paths its fix needs (already resolved against the repository), and the package group it
belongs to. ``MadePlan`` is the result: waves of agents, each agent a package, the files it alone
may touch and its ordered issues, with the reasons (``notes``) that ``--explain`` and the plan's
strategy section print. ``MakeError`` is raised for what no plan can satisfy (a dependency cycle,
``--max-waves`` below the lower bound, bad input); its ``problems`` name the issue ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wavedeck.plan.errors import WavedeckError
from wavedeck.plan.models import SEVERITY_RANK


class MakeError(WavedeckError):
    """No plan can be made: every problem, each naming the issues (and where they came from)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class IssueSpec:
    """One issue to schedule.

    ``paths`` are repo-relative; a folder ends with ``/`` (it claims every path under it).
    ``group`` is the package folder the issue belongs to (its files' package, or where it was
    placed when it names no file); ``files_from`` says how ``paths`` were found: ``fix plan``,
    ``description``, ``plan agent`` (re-planning: the files its plan agent
    declared), or ``none`` (placed by package). ``source`` locates the issue for messages.
    """

    id: str
    severity: str
    title: str = ""
    depends_on: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    group: str = ""
    files_from: str = "fix plan"
    source: str = ""
    # The entries as the fix plan wrote them (maybe package-relative), to resolve them again for
    # the package of the agent that gets the issue, the way ``plan check --repo`` will.
    entries: tuple[str, ...] = ()
    home: str | None = None  # the package folder those entries were read against, if any
    # Re-planning an issue no issue file describes: the plan agent whose files it keeps. Such
    # issues stay with their plan agent's others; two plan agents sharing a file go to
    # successive waves rather than into one agent (``wavedeck.plan.making.planner``).
    unit: str | None = None

    @property
    def rank(self) -> int:
        """Severity rank, lower is more severe; an unknown severity sorts last."""
        return SEVERITY_RANK.get(self.severity, len(SEVERITY_RANK))


@dataclass(frozen=True)
class MakeOptions:
    """Limits: agents per wave, waves (None = no limit), issues per agent in one wave (None = no
    limit; a file group larger than this is split across waves), the first wave's number."""

    max_agents: int = 5
    max_waves: int | None = None
    max_issues: int | None = None
    first_wave: int = 1


@dataclass
class MadeAgent:
    """One agent of a made wave: its package, owned paths and ordered issues."""

    number: int
    package: str
    paths: list[str]
    issues: list[IssueSpec]
    groups: list[str] = field(default_factory=list)  # package groups it serves (one, ideally)


@dataclass
class MadeWave:
    number: int
    agents: list[MadeAgent]

    @property
    def issue_count(self) -> int:
        return sum(len(a.issues) for a in self.agents)


@dataclass
class MadePlan:
    """The planner's result and why it looks the way it does.

    ``lower_bound`` is the fewest waves any plan respecting the rules could have, and
    ``bound_reason`` says what sets it; ``notes`` are the explanations, one sentence each.
    """

    waves: list[MadeWave]
    lower_bound: int
    bound_reason: str
    components: int
    notes: list[str] = field(default_factory=list)
    ignored_dependencies: list[tuple[str, str]] = field(default_factory=list)

    @property
    def issues(self) -> list[IssueSpec]:
        return [i for w in self.waves for a in w.agents for i in a.issues]
