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

from wavedeck.plan.errors import Finding, Level, PlanError
from wavedeck.plan.models import Gate
from wavedeck.plan.reading.saw import schema as sc
from wavedeck.plan.reading.saw.schema import Path, QualityGates
from wavedeck.plan.reading.saw.validate import Checker
from wavedeck.plan.reading.saw.yamltext import YamlDoc, load_yaml

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


def block_gates(
    blocks: list[tuple[int, str]], test_command: tuple[int, str] | None
) -> tuple[list[Gate], list[Finding]]:
    """The gates of a Markdown IMPL doc: its ``yaml type=impl-quality-gates`` blocks (each
    ``(first line, YAML)``) and its ``**Test command:**``; a block that is not valid is a
    ``saw-schema`` finding at its line, and the rest of the doc is still read."""
    gates: list[Gate] = []
    findings: list[Finding] = []
    for first, text in blocks:
        try:
            doc = load_yaml(text)
        except PlanError as exc:
            line = first + (exc.line or 1) - 1
            findings.append(Finding("saw-schema", "error", line, f"quality gates: {exc.message}"))
            continue
        checker = Checker()
        cleaned = checker.model(QualityGates, doc.data, ())
        findings += _problems(checker.problems, first, doc)
        block = QualityGates.model_validate(cleaned if isinstance(cleaned, dict) else {})
        gates += gates_of(block, None, None, _shifted(first, doc), ("gates",))
    if test_command is not None:
        line, command = test_command
        gates += gates_of(None, command, None, lambda _path: line)
        if len(gates) > 1 and gates[-1].command in {g.command for g in gates[:-1]}:
            gates.pop()
    return gates, findings


def _shifted(first: int, doc: YamlDoc) -> Callable[[Path], int]:
    """Lines of a YAML block as lines of the plan it sits in (``first``: its first line)."""

    def line_of(path: Path) -> int:
        return first + doc.line(path) - 1

    return line_of


def _problems(problems: list[sc.Problem], first: int, doc: YamlDoc) -> list[Finding]:
    out = []
    for p in problems:
        where = ".".join(str(x) for x in p.path) or "the block"
        unknown = p.kind == "unknown"
        level: Level = "warning" if unknown else "error"
        code = "saw-unknown-field" if unknown else "saw-schema"
        out.append(
            Finding(
                code, level, first + doc.line(p.path) - 1, f"quality gates {where}: {p.message}"
            )
        )
    return out
