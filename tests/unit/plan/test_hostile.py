"""Hostile plans (reliability matrix D1, D3, D5, D6, D8, D12, D13): paths that escape, shell
metacharacters, terminal escapes and Rich markup in every field. Nothing runs, terminal output is
neutralised, JSON keeps the text exactly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from wavedeck.plan.checking.checks import run_checks
from wavedeck.plan.models import AGENT_ID_RE
from wavedeck.plan.reading.loader import parse_plan
from wavedeck.tui.cli.main import main

ESC_CLEAR = "\x1b[2J\x9b2J"  # 7-bit and 8-bit (C1 CSI) clear-screen
ESC_CLIP = "\x1b]52;c;cm0gLXJmIH4=\x07"
MARKUP = "[bold red]boom[/] [link=file:///etc/passwd]x[/link]"
# Any control character except newline (output lines) reaching the terminal is a failure.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def hostile_plan(canary: Path) -> str:
    shell = f"$(touch {canary}); rm -rf ~ && echo x > {canary}"
    ticks = f"`touch {canary}`"
    return (
        f"# Title {ESC_CLEAR} {MARKUP} {shell} {ticks}\n\n"
        f"## Wave 1 — HIGH {ESC_CLIP}\n\n"
        f"### Agent 1: Evil {ESC_CLEAR} {MARKUP}\n"
        f"**Package**: `src/`\n"
        f"**Files**: `/etc/passwd`, `../../x`, `a\\b.py`, `.git/hooks/pre-commit`, "
        f"`.GIT/config`, `ok{ESC_CLEAR}.py`, `bidi\u202ecod.py`, `:(exclude)x`, `-rf`, "
        f"`{shell}.py`, `fine.py`\n"
        f"| Order | Issue | Severity | Summary |\n|---|---|---|---|\n"
        f"| 1 | ev-1 | HIGH | {shell} {ESC_CLIP} {MARKUP} <script>alert(1)</script> |\n"
        f"| 2 | ev-2 | high{ESC_CLEAR} | x |\n"
        f"| 3 | ../ev-3 | HIGH | id with a path |\n"
        f"| 4 | ev 4 | HIGH | id with a space |\n"
        f"| 5 | ev:5 | HIGH | id with a colon |\n\n"
        f"### Agent 2: Other\n**Package**: `{ESC_CLEAR}/`\n**Files**: `x.py`\n"
        f"| Issue | Severity | Notes {ESC_CLEAR} |\n|---|---|---|\n| ev-9 | LOW | {MARKUP} |\n\n"
        f"### Rules\n1. Run tests — `{shell}` and `` {ticks} ``\n"
    )


@pytest.fixture
def plan_file(tmp_path: Path) -> tuple[Path, Path]:
    canary = tmp_path / "canary"
    path = tmp_path / "hostile.md"
    path.write_text(hostile_plan(canary), encoding="utf-8")
    return path, canary


def test_every_unsafe_path_is_a_path_escape_with_its_line(plan_file: tuple[Path, Path]) -> None:
    path, _ = plan_file
    text = path.read_text(encoding="utf-8")
    result = parse_plan(text, "h.md")
    found = run_checks(result.plan, result.findings)
    escapes = [f for f in found if f.code == "path-escape"]
    files_line = text.split("\n").index(
        next(ln for ln in text.split("\n") if ln.startswith("**Files**: `/etc"))
    )
    assert {f.path for f in escapes if f.line == files_line + 1} == {
        "/etc/passwd",
        "../../x",
        "a\\b.py",
        ".git/hooks/pre-commit",
        ".GIT/config",
        f"ok{ESC_CLEAR}.py",
        "bidi\u202ecod.py",
        ":(exclude)x",
        "-rf",
    }
    # Shell metacharacters are just characters of a (strange) file name: accepted, never run.
    canary = path.parent / "canary"
    assert result.plan.agent("w1-a1").paths == (
        f"src/$(touch {canary}); rm -rf ~ && echo x > {canary}.py",
        "src/fine.py",
    )
    assert [f for f in escapes if f.agents == ("w1-a2",)], "the package with an ESC is refused"


def test_bad_ids_and_severities_are_reported_not_scheduled(plan_file: tuple[Path, Path]) -> None:
    path, _ = plan_file
    result = parse_plan(path.read_text(encoding="utf-8"), "h.md")
    found = run_checks(result.plan, result.findings)
    ids = [i.id for i in result.plan.issues]
    assert ids == ["ev-1", "ev-2", "ev-9"]
    assert sum(1 for f in found if f.code == "bad-row") == 3  # ../ev-3, "ev 4", ev:5
    assert [f.issue for f in found if f.code == "bad-severity"] == ["ev-2"]
    assert all(AGENT_ID_RE.match(a.id) for a in result.plan.agents)
    # Unknown columns are kept as extra text (D6), not lost.
    assert result.plan.agent("w1-a2").issues[0].extra == {f"Notes {ESC_CLEAR}": MARKUP}


def test_raw_html_is_text_never_markup() -> None:
    """HTML in a plan is text as written: not dropped, not a block that swallows what follows."""
    text = (
        "# P\n\n<script>alert(1)</script>\n<div>\n## Wave 1 — HIGH\n\n"
        "### Agent 1: <b>Core</b>\n**Package**: `src/`\n**Files**: `a.py`\n\n"
        "| Issue | Severity | Summary |\n|---|---|---|\n"
        "| ev-1 | HIGH | <b>x</b> <img src=x onerror=alert(1)> |\n"
    )
    plan = parse_plan(text, strict=True).plan  # the reference reader: Markdown tokens only
    assert [w.number for w in plan.waves] == [1]  # as HTML, <div> would swallow the heading
    agent = plan.agent("w1-a1")
    assert "<b>Core</b>" in agent.title
    assert [i.summary for i in agent.issues] == ["<b>x</b> <img src=x onerror=alert(1)>"]


def test_cli_text_output_has_no_raw_control_characters(plan_file: tuple[Path, Path]) -> None:
    path, canary = plan_file
    runner = CliRunner()
    for args in (["plan", "check", str(path)], ["plan", "show", str(path)]):
        done = runner.invoke(main, args)
        assert done.exit_code in (0, 1), done.output
        assert done.exception is None or isinstance(done.exception, SystemExit)
        out = done.stdout + done.stderr
        assert not RAW_CONTROL.search(out), repr(RAW_CONTROL.search(out))
        assert "Traceback" not in out
    shown = runner.invoke(main, ["plan", "show", str(path)]).stdout
    assert "␛[2J" in shown
    assert MARKUP in shown  # Rich markup is shown literally (D13)
    assert "<script>alert(1)</script>" in shown
    assert not canary.exists(), "nothing from the plan may ever be executed"


def test_json_keeps_the_text_exactly(plan_file: tuple[Path, Path]) -> None:
    path, canary = plan_file
    runner = CliRunner()
    shown = runner.invoke(main, ["plan", "show", "--json", str(path)])
    assert not RAW_CONTROL.search(shown.stdout)  # json escapes control characters itself
    data = json.loads(shown.stdout)
    shell = f"$(touch {canary}); rm -rf ~ && echo x > {canary}"
    assert data["title"] == f"Title {ESC_CLEAR} {MARKUP} {shell} `touch {canary}`"
    agent = data["waves"][0]["agents"][0]
    assert agent["title"] == f"Evil {ESC_CLEAR} {MARKUP}"
    assert ESC_CLIP in agent["issues"][0]["summary"]
    assert data["test_commands"] == [shell, f"`touch {canary}`"]
    checked = runner.invoke(main, ["plan", "check", "--json", str(path)])
    assert checked.exit_code == 1
    assert not RAW_CONTROL.search(checked.stdout)
    report = json.loads(checked.stdout)
    assert report["errors"] >= 12
    assert f"ok{ESC_CLEAR}.py" in {f["path"] for f in report["findings"]}
    assert not canary.exists()
