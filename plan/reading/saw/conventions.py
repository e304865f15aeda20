"""What a Scout-and-Wave manifest states that wavedeck reads but does not act on.

Interface contracts, scaffolds, completion reports, the protocol state, the verdict, the
pre-mortem, wiring and integration reports, reactions, the critic's report, records of a past
run: each becomes a ``wavedeck.plan.models.Convention`` with its line, so ``plan show`` names it
instead of dropping it silently. A ``NOT_SUITABLE`` verdict is also a warning
(``saw-not-suitable``): the scout advised against running the work in parallel waves.
"""

from __future__ import annotations

from collections.abc import Callable

from wavedeck.plan.errors import Finding
from wavedeck.plan.models import Convention, ConventionKind
from wavedeck.plan.reading.saw.schema import Manifest, Path


def manifest_conventions(
    m: Manifest, line_of: Callable[[Path], int]
) -> tuple[list[Convention], list[Finding]]:
    """The conventions of manifest ``m`` (``line_of`` gives a path's line), and its findings."""
    out: list[Convention] = []
    findings: list[Finding] = []

    def add(kind: ConventionKind, path: Path, detail: str) -> None:
        out.append(Convention(kind=kind, line=line_of(path), detail=detail))

    if m.verdict is not None:
        add("verdict", ("verdict",), f"the scout's verdict: {m.verdict}")
        if m.verdict == "NOT_SUITABLE":
            findings.append(
                Finding(
                    "saw-not-suitable",
                    "warning",
                    line_of(("verdict",)),
                    "the scout's verdict is NOT_SUITABLE: it advises against running this "
                    "work as parallel waves",
                )
            )
    if m.state is not None:
        add("state", ("state",), f"protocol state {m.state} (wavedeck keeps its own)")
    counted: list[tuple[ConventionKind, str, int, str]] = [
        (
            "interface-contracts",
            "interface_contracts",
            len(m.interface_contracts),
            "interface contract(s) between agents (not checked by wavedeck)",
        ),
        (
            "scaffolds",
            "scaffolds",
            len(m.scaffolds),
            "scaffold file(s) to create before wave 1 (not created by wavedeck)",
        ),
        (
            "known-issues",
            "known_issues",
            len(m.known_issues),
            "known issue(s) found while scouting",
        ),
        ("wiring", "wiring", len(m.wiring), "wiring obligation(s) (not checked by wavedeck)"),
        (
            "integration",
            "integration_connectors",
            len(m.integration_connectors),
            "integration connector file(s) (no integration agent runs)",
        ),
        (
            "integration",
            "integration_reports",
            len(m.integration_reports),
            "integration report(s)",
        ),
        (
            "wiring",
            "wiring_validation_reports",
            len(m.wiring_validation_reports),
            "wiring validation report(s)",
        ),
        ("stub-report", "stub_reports", len(m.stub_reports), "stub report(s)"),
    ]
    for kind, key, count, what in counted:
        if count:
            add(kind, (key,), f"{count} {what}")
    for agent, report in m.completion_reports.items():
        status = report.status or "no status"
        add(
            "completion-report",
            ("completion_reports", agent),
            f"completion report of agent {agent}: {status} (read, not acted on)",
        )
    if m.pre_mortem is not None:
        risk = m.pre_mortem.overall_risk or "unstated"
        add("pre-mortem", ("pre_mortem",), f"pre-mortem: overall risk {risk}")
    if m.post_merge_checklist is not None:
        items = sum(len(g.items) for g in m.post_merge_checklist.groups)
        add(
            "post-merge-checklist",
            ("post_merge_checklist",),
            f"post-merge checklist of {items} item(s) (not run by wavedeck)",
        )
    if m.reactions is not None:
        add(
            "reactions",
            ("reactions",),
            "failure reactions (wavedeck's [agent.restart] applies)",
        )
    if m.critic_report is not None:
        verdict = m.critic_report.verdict or "no verdict"
        add("critic-report", ("critic_report",), f"critic report: {verdict}")
    if m.repositories or any(f.repo for f in m.file_ownership):
        add(
            "repositories",
            ("repositories",) if m.repositories else ("file_ownership",),
            "cross-repository waves (wavedeck runs the one repository it is in)",
        )
    for i, g in enumerate(m.quality_gates.gates if m.quality_gates else ()):
        if g.repo:
            add(
                "gate-scope",
                ("quality_gates", "gates", i, "repo"),
                f"gate {g.command!r} is scoped to repository {g.repo} (wavedeck runs gates in the one repository it is in)",
            )
    lint = (m.lint_command or "").strip()
    ran = {g.command.strip() for g in m.quality_gates.gates} if m.quality_gates else set()
    if ran and lint and lint.lower() != "none" and lint not in ran:
        detail = f"lint_command {lint!r}: the agents' own check (not run between waves)"
        add("optional-gate", ("lint_command",), detail)
    records = (
        "merge_state",
        "worktrees_created_at",
        "frozen_contracts_hash",
        "frozen_scaffolds_hash",
        "completion_date",
        "integration_gap_severity_threshold",
    )
    for key in records:
        value = getattr(m, key)
        if value is not None:
            add("record", (key,), f"{key}: {value}")
    return out, findings
