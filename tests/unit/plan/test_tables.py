"""Markdown table pitfalls (reliability matrix D7): each is reported as ``bad-row`` with its line,
never silently dropped."""

from __future__ import annotations

from wavedeck.plan.checking.checks import run_checks
from wavedeck.plan.reading.loader import parse_plan
from wavedeck.plan.reading.tables import row_problem, split_raw_row

HEAD = "# P\n\n## Wave 1\n\n### Agent 1: A\n**Package**: `a/`\n**Files**: `a.py`\n"
TABLE = "| Order | Issue | Severity | Summary |\n|---|---|---|---|\n"


def findings(text: str):  # type: ignore[no-untyped-def]
    result = parse_plan(text, "p.md")
    return result, run_checks(result.plan, result.findings)


def test_pipe_inside_a_code_span_splits_the_cell() -> None:
    text = HEAD + TABLE + "| 1 | a-1 | HIGH | Use `a|b` here |\n"
    result, found = findings(text)
    [f] = found
    assert (f.code, f.line) == ("bad-row", 10)
    assert "a | inside a code span splits the cell" in f.message
    # The issue is still scheduled; its summary lost text, which is exactly what was reported.
    assert [i.id for i in result.plan.issues] == ["a-1"]


def test_escaped_pipe_is_fine() -> None:
    text = HEAD + TABLE + "| 1 | a-1 | HIGH | Use `a\\|b` here |\n"
    result, found = findings(text)
    assert found == []
    assert result.plan.issues[0].summary == "Use `a|b` here"


def test_missing_cells() -> None:
    text = HEAD + TABLE + "| 1 | a-1 | HIGH |\n"
    _, [f] = findings(text)
    assert (f.code, f.line) == ("bad-row", 10)
    assert "3 cells but the table has 4 columns" in f.message


def test_stray_line_after_a_table_becomes_a_row() -> None:
    text = HEAD + TABLE + "| 1 | a-1 | HIGH | x |\nThis note was meant as a paragraph\n"
    result, found = findings(text)
    assert [(f.code, f.line) for f in found] == [("bad-row", 11)]
    assert "leave a blank line after a table" in found[0].message
    # The stray line's "issue" is not a valid id, so it is not scheduled either.
    assert [i.id for i in result.plan.issues] == ["a-1"]


def test_delimiter_row_of_the_wrong_width_turns_the_table_into_text() -> None:
    text = HEAD + "| Order | Issue | Severity | Summary |\n|---|---|---|\n| 1 | a-1 | HIGH | x |\n"
    result, found = findings(text)
    assert [(f.code, f.line) for f in found] == [("no-work", 5), ("bad-row", 8)]
    assert "header has 4 cells but its delimiter row has 3" in found[1].message
    assert result.plan.issues == ()  # and the agent left with no work is an error too


def test_rows_separated_from_their_table_by_a_blank_line() -> None:
    text = HEAD + TABLE + "| 1 | a-1 | HIGH | x |\n\n| 2 | a-2 | HIGH | y |\n"
    result, found = findings(text)
    assert [(f.code, f.line) for f in found] == [("bad-row", 12)]
    assert [i.id for i in result.plan.issues] == ["a-1"]


def test_extra_cells_are_reported() -> None:
    _, [f] = findings(HEAD + TABLE + "| 1 | a-1 | HIGH | x | surplus |\n")
    assert f.code == "bad-row" and "would be lost" in f.message


def test_non_numeric_order_and_missing_id_and_unsafe_id() -> None:
    text = HEAD + TABLE + "| one | a-1 | HIGH | x |\n| 2 |  | HIGH | y |\n| 3 | ../a | HIGH | z |\n"
    result, found = findings(text)
    assert [(f.code, f.line) for f in found] == [("bad-row", 10), ("bad-row", 11), ("bad-row", 12)]
    assert [i.id for i in result.plan.issues] == ["a-1"]


def test_issue_table_without_severity_column() -> None:
    text = HEAD + "| Issue | Summary |\n|---|---|\n| a-1 | x |\n"
    _, found = findings(text)
    assert [(f.code, f.line) for f in found] == [("no-work", 5), ("bad-row", 8)]
    assert "no Severity column" in found[1].message


def test_split_raw_row() -> None:
    assert split_raw_row("| a | b |") == ["a", "b"]
    assert split_raw_row("a | b") == ["a", "b"]
    assert split_raw_row("| a \\| b | c |") == ["a \\| b", "c"]
    assert row_problem("| a | b |", 2) is None
    assert row_problem("| a | b |", 3) is not None
