"""Scout-and-Wave quality gates as wavedeck's test commands.

SAW runs its quality gates after each wave; a required gate's failure blocks the merge, an
optional one only warns. wavedeck's wave tests are its gates: the required gates' commands run
between waves, in the document's order, each gate kept (type, ``required``, timing, fix mode,
repository) in ``Plan.gates``. An optional gate is kept and shown but not run, since a failing
test command stops a wave. ``test_command`` (SAW's full suite, run after merging) runs too
unless a gate already runs it; ``lint_command`` only stands in when there are no gates.
"""

from __future__ import annotations

from collections.abc import Callable

from wavedeck.plan.models import Gate
from wavedeck.plan.reading.saw.schema import Path, QualityGates

# SAW's scout writes ``lint_command: none`` when the project has no linter.
_NONE = frozenset({"", "none", "n/a", "-"})


def gates_of(
    gates: QualityGates | None,
    test_command: str | None,
    lint_command: str | None,
    line_of: Callable[[Path], int],
    base: Path = ("quality_gates", "gates"),
) -> list[Gate]:
    """Every gate of a manifest or a ``quality-gates`` block, and the test and lint commands
    as gates where no gate runs them (``line_of`` gives a path's line)."""
    out: list[Gate] = []
    for i, g in enumerate(gates.gates if gates is not None else ()):
        out.append(
            Gate(
                type=g.type,
                command=g.command.strip(),
                required=g.required,
                description=g.description or "",
                timing=g.timing or "pre-merge",
                fix=g.fix,
                repo=g.repo,
                line=line_of((*base, i)),
            )
        )
    commands = {g.command for g in out}
    if not out and lint_command is not None and lint_command.strip().lower() not in _NONE:
        out.append(Gate(type="lint", command=lint_command.strip(), line=line_of(("lint_command",))))
    test = (test_command or "").strip()
    if test.lower() not in _NONE and test not in commands:
        out.append(Gate(type="test", command=test, line=line_of(("test_command",))))
    return out


def test_commands(gates: list[Gate]) -> tuple[str, ...]:
    """The commands run between waves: every required gate that has a command, once each."""
    return tuple(dict.fromkeys(g.command for g in gates if g.required and g.command))
