"""Scout-and-Wave IMPL docs (issue #23): the YAML manifest and the Markdown IMPL doc, read into
the plan model, checked, and shown with the SAW conventions wavedeck does not act on.

The documents in tests/data/plans/saw were written from SAW's own description of them
(``protocol/impl-manifest.schema.json``, ``protocol/message-formats.md``, its agent template);
``IMPL-audit-log.yaml`` uses every field of the schema.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from wavedeck.agents.wave.prompt import render_prompt
from wavedeck.plan.checking.api import RepoView
from wavedeck.plan.checking.checks import run_checks
from wavedeck.plan.errors import PlanError
from wavedeck.plan.reading.loader import load_plan, parse_plan
from wavedeck.plan.reading.saw.manifest import agent_number
from wavedeck.tui.cli.main import main


@pytest.fixture(scope="module")
def saw_dir(plans_dir: Path) -> Path:
    return plans_dir / "saw"


def found(path: Path) -> list[tuple[str, str, int]]:
    result = load_plan(path)
    return [(f.level, f.code, f.line) for f in run_checks(result.plan, result.findings)]


# -- the YAML manifest ----------------------------------------------------------------------


def test_every_field_manifest_reads_cleanly(saw_dir: Path) -> None:
    result = load_plan(saw_dir / "IMPL-audit-log.yaml")
    plan = result.plan
    assert run_checks(plan, result.findings) == []
    assert plan.format == "saw-yaml" and plan.title == "Audit log for account changes"
    got = [(a.id, a.label, a.paths, tuple(i.depends_on for i in a.issues)) for a in plan.agents]
    assert got == [
        ("w1-a1", "A", ("src/audit/log.py", "src/audit/__init__.py"), ((),)),
        ("w1-a2", "B", ("src/audit/store.py",), ((),)),
        ("w2-a3", "C", ("src/app.py", "tests/test_audit.py"), (("A", "B"),)),
    ]
    a = plan.agent("w1-a1")
    assert [(i.id, i.kind, i.summary) for i in a.issues] == [
        ("A", "saw-task", "Append-only audit log")
    ]
    assert "one JSON line per entry, flushed at once" in a.brief
    # action: new files may be created; the others are expected to exist.
    assert a.creates == ("src/audit/log.py",) and plan.agent("w1-a2").creates == (
        "src/audit/store.py",
    )
    assert plan.agent("w2-a3").creates == ()


def test_quality_gates_are_the_test_commands_with_their_type_and_required(saw_dir: Path) -> None:
    plan = load_plan(saw_dir / "IMPL-audit-log.yaml").plan
    gates = [(g.type, g.command, g.required, g.timing, g.fix, g.repo) for g in plan.gates]
    assert gates == [
        ("build", "python3 -m compileall -q src", True, "pre-merge", False, None),
        ("typecheck", "mypy src", False, "pre-merge", False, "accounts"),
        ("format", "ruff format src", False, "post-merge", True, None),
        ("test", "python3 -m unittest discover -s tests -q", True, "post-merge", False, None),
    ]
    # Required gates run between waves; test_command is one of them already (not twice).
    assert plan.test_commands == (
        "python3 -m compileall -q src",
        "python3 -m unittest discover -s tests -q",
    )


def test_conventions_not_acted_on_are_named_with_their_lines(saw_dir: Path) -> None:
    plan = load_plan(saw_dir / "IMPL-audit-log.yaml").plan
    kinds = {c.kind for c in plan.conventions}
    assert {
        "interface-contracts",
        "scaffolds",
        "completion-report",
        "state",
        "verdict",
        "pre-mortem",
        "known-issues",
        "post-merge-checklist",
        "wiring",
        "integration",
        "reactions",
        "critic-report",
        "repositories",
        "agent-model",
        "launch-order",
        "wave-type",
        "stub-report",
        "gate-scope",
        "record",
    } <= kinds
    reports = [c.detail for c in plan.conventions if c.kind == "completion-report"]
    assert reports == [
        "completion report of agent A: complete (read, not acted on)",
        "completion report of agent B: partial (read, not acted on)",
    ]
    text = (saw_dir / "IMPL-audit-log.yaml").read_text(encoding="utf-8").split("\n")
    for c in plan.conventions:
        assert text[c.line - 1].strip(), c  # every line points at the field


def test_plan_show_says_it_read_a_saw_manifest(saw_dir: Path) -> None:
    path = str(saw_dir / "IMPL-audit-log.yaml")
    shown = CliRunner().invoke(main, ["plan", "show", path])
    assert shown.exit_code == 0
    assert "(read as a Scout-and-Wave YAML manifest)" in shown.stdout
    assert "gate: mypy src  (typecheck, optional: not run)" in shown.stdout
    assert "Scout-and-Wave conventions read, not acted on:" in shown.stdout
    assert "interface contract(s) between agents (not checked by wavedeck)" in shown.stdout
    data = json.loads(CliRunner().invoke(main, ["plan", "show", path, "--json"]).stdout)
    assert data["format"] == "saw-yaml"
    assert data["gates"][1] == {
        "type": "typecheck",
        "command": "mypy src",
        "required": False,
        "description": "types, advisory only",
        "timing": "pre-merge",
        "fix": False,
        "repo": "accounts",
        "line": 34,  # its "- type: typecheck" line
    }
    assert data["waves"][1]["agents"][0]["label"] == "C"
    assert {c["kind"] for c in data["conventions"]} >= {"scaffolds", "completion-report"}


def test_schema_problems_are_reported_with_their_lines(saw_dir: Path) -> None:
    assert found(saw_dir / "IMPL-broken.yaml") == [
        ("warning", "saw-schema", 3),  # verdict: MAYBE
        ("warning", "saw-unknown-field", 5),  # owner:
        ("error", "ownership-mismatch", 11),  # A lists src/parser.py, the table gives it to B
        ("warning", "saw-unknown-field", 12),  # priority:
        ("error", "no-files", 13),
        ("error", "saw-schema", 13),  # id: a2
        ("error", "saw-schema", 15),  # files: a string
        ("error", "saw-schema", 16),  # task missing
        ("error", "ownership-mismatch", 17),
        ("error", "duplicate-issue", 18),  # agent B twice in wave 1
        ("error", "duplicate-issue", 18),  # so is its task
        ("error", "ownership-mismatch", 20),
        ("error", "saw-schema", 21),  # number: two
        ("error", "ownership-mismatch", 24),
        ("error", "ownership-mismatch", 27),
        ("error", "saw-schema", 30),  # action: create
        ("error", "saw-schema", 36),  # required: yes
        ("warning", "saw-schema", 38),  # state given twice
    ]
    ids = [a.id for a in load_plan(saw_dir / "IMPL-broken.yaml").plan.agents]
    assert ids == ["w1-a1", "w1-a2", "w1-a3", "w1-a4"]  # never one id for two agents


def test_agent_numbers_follow_letters_and_generations() -> None:
    assert [agent_number(x) for x in ("A", "B", "Z", "A2", "C3")] == [1, 2, 26, 27, 55]


def manifest(agents: str, extra: str = "") -> str:
    return f"title: T\nfeature_slug: t\nverdict: SUITABLE\n{extra}waves:\n  - number: 1\n    agents:\n{agents}"


def test_letters_yaml_1_1_reads_as_booleans_stay_letters() -> None:
    text = manifest(
        "      - {id: N, task: x, files: [a.py]}\n      - {id: Y, task: y, files: [b.py]}\n"
    )
    plan = parse_plan(text, "m.yaml").plan
    assert [(a.label, a.id) for a in plan.agents] == [("N", "w1-a14"), ("Y", "w1-a25")]


def test_a_manifest_is_recognised_without_its_file_name() -> None:
    result = parse_plan(manifest("      - {id: A, task: x, files: [a.py]}\n"), "")
    assert result.plan.format == "saw-yaml"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("title: T\nwaves: [1, 2\nverdict: x\n", 3, "not valid YAML"),
        ("title: T\nwaves:\n\t- 1\n", 3, "not valid YAML"),
        ("a: !!python/object/apply:os.system [true]\nwaves: []\n", 1, "not valid YAML"),
        ("title: T\n---\nwaves: []\n", 2, "single document"),
        ("waves: " + "[" * 200 + "]" * 200 + "\n", 1, "nested more than"),
        ("- just\n- a list\n", 1, "YAML mapping"),
        ("title: T\nfeature_slug: t\nwaves: []\n", 3, "no waves with agents"),
    ],
)
def test_a_malformed_manifest_is_a_clear_error_with_a_line(
    text: str, line: int, words: str
) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(text, "bad.yaml")
    assert caught.value.line == line and words in caught.value.message


def test_aliases_that_expand_without_end_are_refused() -> None:
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for name, prev in zip("bcdefg", "abcdef", strict=True):
        laughs += f"{name}: &{name} [{', '.join(['*' + prev] * 10)}]\n"
    with pytest.raises(PlanError, match="aliases expand"):
        parse_plan(laughs + "waves: [*g]\n", "laughs.yaml")
    with pytest.raises(PlanError, match="refers to itself"):
        parse_plan("waves: &w [*w]\n", "self.yaml")


def test_cli_reports_a_malformed_manifest_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "IMPL-x.yaml"
    path.write_text("title: T\nwaves:\n  - number: 1\n    agents: [\n", encoding="utf-8")
    done = CliRunner().invoke(main, ["plan", "check", str(path), "--json"])
    assert done.exit_code == 2 and "Traceback" not in done.output
    error = json.loads(done.stdout)["error"]
    assert error["line"] == 5 and "not valid YAML" in error["message"]


def test_strict_refuses_a_manifest(saw_dir: Path) -> None:
    done = CliRunner().invoke(
        main, ["plan", "show", str(saw_dir / "IMPL-audit-log.yaml"), "--strict"]
    )
    assert done.exit_code == 2 and "drop --strict" in done.stderr


def test_new_files_are_not_missing_files_but_files_to_modify_are(saw_dir: Path) -> None:
    result = load_plan(saw_dir / "IMPL-audit-log.yaml")
    repo = RepoView(paths=frozenset({"src/audit/__init__.py", "src/app.py"}))
    missing = [
        f.path for f in run_checks(result.plan, result.findings, repo) if f.code == "missing-file"
    ]
    assert missing == ["tests/test_audit.py"]  # modify: must exist; action: new files may not


def test_the_agents_prompt_holds_its_saw_task(saw_dir: Path, tmp_path: Path) -> None:
    plan = load_plan(saw_dir / "IMPL-audit-log.yaml").plan
    prompt = render_prompt(plan, "w2-a3", tmp_path)
    assert "Call `append` on every account change in src/app.py" in prompt
    assert "`C` [UNSET] Wire the log into the app (depends on A, B)" in prompt
    assert "wavedeck-file: tests/test_audit.py" in prompt


# -- the Markdown IMPL doc ------------------------------------------------------------------


def test_markdown_impl_doc_completion_reports_are_not_agents(saw_dir: Path) -> None:
    result = load_plan(saw_dir / "IMPL-rate-limit.md")
    plan = result.plan
    assert plan.format == "saw-markdown"
    got = [(a.id, a.label, a.paths) for a in plan.agents]
    assert got == [
        ("w1-a1", "A", ("internal/limit/bucket.go", "internal/limit/bucket_test.go")),
        ("w1-a2", "B", ("internal/limit/store.go",)),
        ("w2-a3", "C", ("internal/api/middleware.go", "cmd/server/main.go")),
    ]
    assert run_checks(plan, result.findings) == []  # the table's bare letters match
    reports = [c.detail for c in plan.conventions if c.kind == "completion-report"]
    assert reports == [
        "completion report of agent A: complete (read, not acted on)",
        "completion report of agent B: partial (read, not acted on)",
    ]


def test_markdown_impl_doc_tasks_and_dependencies(saw_dir: Path, tmp_path: Path) -> None:
    plan = load_plan(saw_dir / "IMPL-rate-limit.md").plan
    c = plan.agent("w2-a3")
    assert [(i.id, i.kind, i.depends_on) for i in c.issues] == [("C", "saw-task", ("A", "B"))]
    prompt = render_prompt(plan, "w1-a1", tmp_path)
    assert "A token bucket per key: 10 requests, refilled at one per second." in prompt
    assert "status: complete" not in prompt  # the report is not part of the prompt


def test_markdown_dependency_on_a_parallel_agent_is_an_error(saw_dir: Path) -> None:
    text = (saw_dir / "IMPL-rate-limit.md").read_text(encoding="utf-8")
    text = text.replace(
        "| `internal/limit/store.go` | B | 1 | — |", "| `internal/limit/store.go` | B | 1 | A |"
    )
    result = parse_plan(text, "IMPL-x.md")
    [f] = run_checks(result.plan, result.findings)
    assert (f.code, f.issue) == ("dependency-order", "B")


def test_markdown_impl_doc_with_typed_blocks(saw_dir: Path, tmp_path: Path) -> None:
    result = load_plan(saw_dir / "IMPL-cache-layer.md")
    plan = result.plan
    assert run_checks(plan, result.findings) == []
    assert [(a.id, a.paths) for a in plan.agents] == [
        ("w1-a1", ("pkg/cache/lru.go", "pkg/cache/lru_test.go")),
        ("w2-a2", ("pkg/store/store.go",)),
    ]
    assert [(g.type, g.required) for g in plan.gates] == [
        ("build", True),
        ("lint", True),
        ("format", False),
        ("test", True),
    ]
    assert plan.test_commands == ("go build ./...", "go vet ./...", "go test ./...")
    assert plan.agent("w2-a2").issues[0].depends_on == ("A",)  # from **Dependencies:**
    brief = plan.agent("w1-a1").brief
    assert "Implement an LRU cache" in brief and "5e6f7a8" not in brief  # its report left out
    verdicts = [(c.line, c.detail) for c in plan.conventions if c.kind == "verdict"]
    assert verdicts == [(7, "the scout's verdict: SUITABLE_WITH_CAVEATS")]


def test_markdown_agents_without_waves_take_them_from_the_wave_structure(saw_dir: Path) -> None:
    text = (saw_dir / "IMPL-rate-limit.md").read_text(encoding="utf-8")
    text = re.sub(r"^#### Wave \d Agent ([A-C]):", r"#### Agent \1:", text, flags=re.M)
    text = re.sub(r"^- \[[ x]\] Wave .*\n", "", text, flags=re.M)  # no status checklist either
    result = parse_plan(text, "IMPL-x.md")
    assert [a.id for a in result.plan.agents] == ["w1-a1", "w1-a2", "w2-a3"]  # Wave 2: [C]
    assert run_checks(result.plan, result.findings) == []


def test_a_markdown_plan_quoting_a_manifest_stays_markdown() -> None:
    text = (
        "# P\n\n## Phase 1\n\n### Agent A: Core\n\nFiles: `a.py`\n\n- [ ] Do it\n\n"
        "```yaml\nwaves:\n  - number: 1\nverdict: SUITABLE\n```\n"
    )
    plan = parse_plan(text, "").plan
    assert plan.format == "wavedeck" and [a.title for a in plan.agents] == ["Agent A: Core"]
