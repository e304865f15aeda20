"""One small plan per finding code: each check fires with its code and the right line."""

from __future__ import annotations

from wavedeck.plan.checking.checks import CHECKS, run_checks
from wavedeck.plan.errors import Finding
from wavedeck.plan.reading.loader import parse_plan


def agent(n: int, title: str, package: str, files: str, rows: list[str]) -> str:
    table = "\n".join(f"| {i} | {r} |" for i, r in enumerate(rows, start=1))
    return (
        f"### Agent {n}: {title}\n**Package**: `{package}`\n**Files**: {files}\n"
        f"| Order | Issue | Severity | Summary |\n|---|---|---|---|\n{table}\n"
    )


def plan_text(*waves: tuple[str, list[str]], tail: str = "") -> str:
    out = ["# Test plan", ""]
    for number, (title, agents) in enumerate(waves, start=1):
        out += [f"## Wave {number} — {title}", ""]
        for a in agents:
            out += [a]
    return "\n".join(out) + "\n" + tail


def check(text: str) -> list[Finding]:
    result = parse_plan(text, "t.md")
    return run_checks(result.plan, result.findings)


def line_of(text: str, needle: str, nth: int = 1) -> int:
    seen = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if needle in line:
            seen += 1
            if seen == nth:
                return number
    raise AssertionError(f"{needle!r} not in text")


def only(findings: list[Finding], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code]


CORE = agent(1, "Core", "src/core/", "`util.py`", ["core-1 | HIGH | Fix A"])
WEB = agent(2, "Web", "src/web/", "`app.py`", ["web-1 | HIGH | Fix B"])


def test_a_clean_plan_has_no_findings() -> None:
    assert check(plan_text(("HIGH", [CORE, WEB]))) == []


def test_every_check_is_registered_once() -> None:
    names = [c.__name__ for c in CHECKS]
    assert len(names) == len(set(names)) == 13


def test_overlap() -> None:
    other = agent(2, "Web", "src/", "`core/util.py`", ["web-1 | HIGH | Fix B"])
    text = plan_text(("HIGH", [CORE, other]))
    [f] = check(text)
    assert (f.code, f.level, f.line) == ("overlap", "error", line_of(text, "`core/util.py`"))
    assert f.path == "src/core/util.py" and f.agents == ("w1-a1", "w1-a2") and f.wave == 1
    assert (
        f.message == "src/core/util.py is assigned to both w1-a1 (Core) and w1-a2 (Web) in wave 1"
    )


def test_same_path_in_different_waves_is_no_overlap() -> None:
    assert check(plan_text(("HIGH", [CORE]), ("HIGH", [CORE.replace("core-1", "core-2")]))) == []


def test_path_escape() -> None:
    bad = agent(2, "Web", "src/web/", "`../../../etc/passwd`, `ok.py`", ["web-1 | HIGH | B"])
    text = plan_text(("HIGH", [CORE, bad]))
    [f] = check(text)
    assert (f.code, f.line) == ("path-escape", line_of(text, "passwd"))
    assert "leaves the repository" in f.message and f.path == "../../../etc/passwd"


def test_path_escape_in_package() -> None:
    bad = agent(2, "Web", "/etc/", "`passwd`", ["web-1 | HIGH | B"])
    text = plan_text(("HIGH", [CORE, bad]))
    [f] = check(text)
    assert (f.code, f.line) == ("path-escape", line_of(text, "`/etc/`"))
    assert "absolute" in f.message


def test_duplicate_issue_names_every_line_across_waves() -> None:
    again = agent(1, "Core", "src/core/", "`util.py`", ["core-01 | HIGH | Same issue again"])
    text = plan_text(("HIGH", [CORE, WEB]), ("HIGH", [again]))
    [f] = check(text)
    first, second = line_of(text, "| core-1 |"), line_of(text, "| core-01 |")
    assert (f.code, f.line, f.lines) == ("duplicate-issue", second, (first, second))
    assert f"lines {first}, {second}" in f.message


def test_duplicate_agent_ids() -> None:
    twin = agent(1, "Twin", "src/web/", "`app.py`", ["web-1 | HIGH | Fix B"])
    text = plan_text(("HIGH", [CORE, twin]))
    [f] = check(text)
    assert (f.code, f.line) == ("duplicate-issue", line_of(text, "### Agent 1: Twin"))
    assert f.agents == ("w1-a1", "w1-a2") and "agent id w1-a1" in f.message
    plan = parse_plan(text).plan
    assert [a.id for a in plan.agents] == ["w1-a1", "w1-a2"]  # never two agents with one id


def test_bad_severity_lists_allowed_values_and_case_folds() -> None:
    rows = ["core-1 | urgent | A", "core-2 | high | B"]
    text = plan_text(("HIGH", [agent(1, "Core", "src/", "`a.py`", rows)]))
    [f] = check(text)
    assert (f.code, f.line, f.issue) == ("bad-severity", line_of(text, "urgent"), "core-1")
    assert "CRITICAL, HIGH, MEDIUM, LOW" in f.message


def test_bad_row_missing_cells() -> None:
    text = plan_text(("HIGH", [CORE])).replace(
        "| 1 | core-1 | HIGH | Fix A |", "| 1 | core-1 | HIGH |"
    )
    [f] = check(text)
    assert (f.code, f.line) == ("bad-row", line_of(text, "| 1 | core-1 |"))
    assert "missing cells" in f.message


def test_no_files() -> None:
    bare = "### Agent 2: Web\n**Package**: `src/web/`\n| Issue | Severity |\n|---|---|\n| web-1 | HIGH |\n"
    text = plan_text(("HIGH", [CORE, bare]))
    [f] = check(text)
    assert (f.code, f.line, f.agents) == ("no-files", line_of(text, "Agent 2"), ("w1-a2",))


def test_count_mismatch_in_wave_heading_summary_distribution_and_strategy() -> None:
    tail = (
        "## Execution Summary\n\n| Wave | Issues | Agents |\n|---|---|---|\n| 1 | 3 | 2 |\n"
        "| **Total** | **2** | **1 waves x 2 agents** |\n\n"
        "| Package | Wave 1 | Total |\n|---|---|---|\n| Core (`src/core/`) | 1 | 2 |\n"
    )
    text = plan_text(("HIGH (5 issues, 2 agents)", [CORE, WEB]), tail=tail)
    text = text.replace("# Test plan\n", "# Test plan\n\n## Strategy\n\n- `src/web/` — 4 issues\n")
    found = check(text)
    assert {f.code for f in found} == {"count-mismatch"}
    assert [f.line for f in found] == [
        line_of(text, "4 issues"),
        line_of(text, "## Wave 1"),
        line_of(text, "| 1 | 3 | 2 |"),
        line_of(text, "| Core (`src/core/`)"),
    ]
    assert "issues in wave 1: the plan states 5 but contains 2" in found[1].message
    assert "issues of src/core/ in all waves: the plan states 2 but contains 1" in found[3].message


def test_unknown_dependency() -> None:
    rows = ["core-1 | HIGH | A (depends on 9)"]
    text = plan_text(("HIGH", [agent(1, "Core", "src/", "`a.py`", rows)]))
    [f] = check(text)
    assert (f.code, f.line) == ("unknown-dependency", line_of(text, "depends on 9"))
    assert "core-9" in f.message


def test_dependency_on_a_resolved_issue_is_known() -> None:
    rows = ["core-2 | HIGH | A (depends on 1)"]
    tail = "### Resolved Issues\n\n| Issue | Severity |\n|---|---|\n| core-1 | HIGH |\n"
    assert check(plan_text(("HIGH", [agent(1, "Core", "src/", "`a.py`", rows)]), tail=tail)) == []


def test_dependency_order_later_wave_parallel_agent_and_later_row() -> None:
    core = agent(
        1, "Core", "src/core/", "`u.py`", ["core-1 | HIGH | A (depends on 2)", "core-2 | HIGH | B"]
    )
    web = agent(2, "Web", "src/web/", "`a.py`", ["web-1 | HIGH | C (depends on core-2)"])
    late = agent(1, "Late", "src/x/", "`x.py`", ["web-2 | HIGH | D"])
    web_dep = agent(3, "Web2", "src/y/", "`y.py`", ["web-3 | HIGH | E (depends on web-2)"])
    text = plan_text(("HIGH", [core, web, web_dep]), ("HIGH", [late]))
    found = only(check(text), "dependency-order")
    assert [f.line for f in found] == [
        line_of(text, "| core-1 |"),
        line_of(text, "| web-1 |"),
        line_of(text, "| web-3 |"),
    ]
    assert "comes later in the same agent" in found[0].message
    assert "runs in parallel in w1-a1" in found[1].message
    assert "scheduled later (wave 2)" in found[2].message


def test_resolved_scheduled() -> None:
    tail = "### Resolved Issues\n\n| Issue | Severity |\n|---|---|\n| web-1 | HIGH |\n"
    text = plan_text(("HIGH", [CORE, WEB]), tail=tail)
    [f] = check(text)
    assert (f.code, f.line) == ("resolved-scheduled", line_of(text, "| web-1 | HIGH | Fix B"))
    assert f"line {line_of(text, '| web-1 | HIGH |', 2)}" in f.message


def test_severity_scope_is_a_warning() -> None:
    rows = ["core-1 | HIGH | A", "core-2 | LOW | B"]
    text = plan_text(("CRITICAL + HIGH", [agent(1, "Core", "src/", "`a.py`", rows)]))
    [f] = check(text)
    assert (f.code, f.level, f.line) == ("severity-scope", "warning", line_of(text, "core-2"))
    assert f.message == "core-2 is LOW but wave 1 is scoped CRITICAL + HIGH"


def test_severity_order_unless_a_dependency_explains_it() -> None:
    rows = ["core-1 | LOW | A", "core-2 | CRITICAL | B", "core-3 | MEDIUM | C"]
    text = plan_text(("Mixed", [agent(1, "Core", "src/", "`a.py`", rows)]))
    found = check(text)
    assert [(f.code, f.level, f.line) for f in found] == [
        ("severity-order", "warning", line_of(text, "core-2")),
        ("severity-order", "warning", line_of(text, "core-3")),
    ]
    explained = text.replace("| B |", "| B (depends on 1) |").replace(
        "| C |", "| C (depends on 2) |"
    )
    assert check(explained) == []


def test_several_problems_are_all_reported_sorted_by_line() -> None:
    core = agent(
        1,
        "Core",
        "src/core/",
        "`util.py`, `/abs.py`",
        ["core-1 | SEVERE | A (depends on 7)", "core-1 | HIGH | again"],
    )
    web = agent(2, "Web", "src/", "`core/util.py`", ["web-1 | LOW | B"])
    text = plan_text(("CRITICAL + HIGH (9 issues, 2 agents)", [core, web]))
    found = check(text)
    assert {f.code for f in found} == {
        "count-mismatch",
        "path-escape",
        "bad-severity",
        "unknown-dependency",
        "duplicate-issue",
        "overlap",
        "severity-scope",
    }
    assert [f.line for f in found] == sorted(f.line for f in found)


def test_summary_numbers_are_read_leniently_or_reported() -> None:
    tail = (
        "## Execution Summary\n\n| Wave | Issues | Agents |\n|---|---|---|\n"
        "| 1 | 2 (0 resolved) | **2** |\n| **Total** | about two | **1 wave x 2 agents** |\n"
    )
    text = plan_text(("HIGH", [CORE, WEB]), tail=tail)
    [f] = check(text)
    assert (f.code, f.line) == ("bad-row", line_of(text, "about two"))
    assert "cannot read the issue count 'about two'" in f.message


def test_duplicate_wave_numbers() -> None:
    web = WEB.replace("Agent 2", "Agent 3")
    text = plan_text(("HIGH", [CORE]), ("HIGH", [web])).replace("## Wave 2", "## Wave 1")
    found = only(check(text), "duplicate-issue")
    assert [(f.line, f.lines) for f in found] == [
        (line_of(text, "## Wave 1", 2), (line_of(text, "## Wave 1"), line_of(text, "## Wave 1", 2)))
    ]
    assert "wave 1 appears 2 times" in found[0].message
