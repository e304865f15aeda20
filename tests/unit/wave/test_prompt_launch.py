"""Prompts rendered from the plan (read back by the simulated agent), launch specs, progress lines,
and the consumed-offset journal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wavedeck.agents.config import Config
from wavedeck.agents.configread import load_config
from wavedeck.agents.presets import PresetError
from wavedeck.agents.tools.sim import parse_prompt
from wavedeck.agents.wave.launch import OffsetJournal, build_spec, parse_done
from wavedeck.agents.wave.prompt import PromptError, load_template, machine_block, render_prompt
from wavedeck.plan.reading.loader import load_plan, parse_plan

PLAN = Path(__file__).resolve().parents[3] / "agents" / "data" / "security-waves.md"


@pytest.fixture(scope="module")
def plan():  # type: ignore[no-untyped-def]
    return load_plan(PLAN).plan


def test_prompt_names_scope_issues_protocol_and_rules(plan, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = render_prompt(plan, "w1-a2", tmp_path)
    agent = plan.agent("w1-a2")
    for path in agent.paths:
        assert f"`{path}`" in text
    issues = [i.id for i in agent.issues]
    positions = [text.index(f"`{i}`") for i in issues]
    assert positions == sorted(positions)  # in the plan's order
    assert "wavedeck: done <issue-id>" in text
    assert "Never skip waves" in text  # the plan's rules
    assert "four** packages" in text  # the strategy
    assert "agent w1-a2 of wave 1" in text
    # No ready-made progress line an agent could echo by accident.
    assert not any(line.startswith("wavedeck: done ") for line in text.splitlines())


def test_the_simulated_agent_reads_the_machine_block_back(plan, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    parsed = parse_prompt(render_prompt(plan, "w2-a3", tmp_path))
    agent = plan.agent("w2-a3")
    assert parsed.agent == "w2-a3"
    assert parsed.repo == str(tmp_path)
    assert parsed.files == list(agent.paths)
    assert [i[0] for i in parsed.issues] == [i.id for i in agent.issues]
    assert parsed.issues[0][1:] == (agent.issues[0].severity, agent.issues[0].summary)


def test_dependencies_are_shown(plan, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = render_prompt(plan, "w1-a1", tmp_path)
    assert "(depends on headless-05)" in text


def test_template_override_and_literal_braces(plan, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "mine.md").write_text("{agent_id} {unknown} {{x}} {files}\n", "utf-8")
    template = load_template(tmp_path, "mine.md")
    text = render_prompt(plan, "w3-a4", tmp_path, template)
    assert text.startswith("w3-a4 {unknown} {{x}}   - `packages/server-vps/src/index.ts`")
    with pytest.raises(PromptError, match="prompt_template"):
        load_template(tmp_path, "missing.md")


def test_plan_text_with_braces_and_placeholders_is_not_expanded(tmp_path: Path) -> None:
    text = PLAN.read_text("utf-8").replace(
        "Handshake key exchange peer identity confusion", "Use {agent_id} and {repo} literally"
    )
    plan = parse_plan(text).plan
    prompt = render_prompt(plan, "w1-a1", tmp_path)
    assert "Use {agent_id} and {repo} literally" in prompt


def test_issue_detail_files_are_included(plan, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    issues = tmp_path / "issues"
    issues.mkdir()
    (issues / "issue-headless-05.md").write_text("DETAIL-TOKEN-05 about the handshake\n", "utf-8")
    text = render_prompt(plan, "w1-a1", tmp_path)
    assert "DETAIL-TOKEN-05" in text
    assert "DETAIL-TOKEN-05" not in render_prompt(plan, "w1-a2", tmp_path)


def test_machine_block_keeps_one_fact_a_line(plan, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    block = machine_block(plan.agent("w1-a5"), tmp_path)
    assert all(line.startswith("wavedeck-") for line in block.splitlines())


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("wavedeck: done headless-05 fixed and tested", ("headless-05", "fixed and tested")),
        ("wavedeck: done server-1", ("server-1", "")),
        ("  wavedeck: done website-21   ok  ", ("website-21", "ok")),
        ("wavedeck: done <issue-id> x", None),
        ("I said wavedeck: done headless-05", None),
        ("wavedeck: started headless-05", None),
    ],
)
def test_progress_lines(line: str, expected: tuple[str, str] | None) -> None:
    assert parse_done(line) == expected


def test_launch_spec_substitutes_inside_arguments_without_a_shell(
    plan,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    config = Config(
        agent={
            "command": ["tool", "--in={prompt_file}", "$(touch pwned)", "{agent_id}:{wave}"],
            "prompt": "both",
            "env": {"API_MODE": "x; rm -rf /"},
            "extra_args": {"w1-a3": ["--pkg", "{package}"]},
        }
    )
    spec = build_spec(tmp_path, tmp_path / ".wavedeck", plan, config, "w1-a3", tmp_path)
    prompt = tmp_path / ".wavedeck" / "prompts" / "w1-a3.md"
    assert spec.argv == (
        "tool",
        f"--in={prompt}",
        "$(touch pwned)",
        "w1-a3:1",
        "--pkg",
        "packages/server/src/",
    )
    assert spec.stdin_file == prompt and prompt.read_text("utf-8").startswith("# You are agent")
    assert spec.env["API_MODE"] == "x; rm -rf /"
    assert spec.env["WAVEDECK_AGENT_ID"] == "w1-a3" and spec.env["PYTHONUNBUFFERED"] == "1"
    # The argv really reaches a program byte for byte.
    echo = [sys.executable, "-c", "import sys; print(repr(sys.argv[1:]))", *spec.argv[1:]]
    out = subprocess.run(echo, capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert "$(touch pwned)" in out and not (tmp_path / "pwned").exists()


def test_the_sim_preset_runs_the_simulated_agent_with_its_prompt_file(plan, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "wavedeck.toml").write_text('[agent]\npreset = "sim"\n', "utf-8")
    spec = build_spec(tmp_path, tmp_path / ".w", plan, load_config(tmp_path), "w1-a1", tmp_path)
    assert spec.stdin_file is None
    assert spec.argv[:4] == (sys.executable, "-m", "wavedeck.agents.tools.sim", "--prompt")
    assert Path(spec.argv[4]).read_text("utf-8").startswith("# You are agent w1-a1")


def test_no_agent_configured_never_launches_the_simulated_agent(plan, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = load_config(tmp_path)  # no wavedeck.toml: no [agent]
    assert not config.agent.chosen
    with pytest.raises(PresetError, match="no agent configured"):
        build_spec(tmp_path, tmp_path / ".w", plan, config, "w1-a1", tmp_path)


def test_offset_journal_survives_reopen(tmp_path: Path) -> None:
    journal = OffsetJournal(tmp_path)
    assert journal.read("w1-a1") is None
    journal.write("w1-a1", 12345)
    journal.write("w1-a1", 7)  # smaller value: the fixed width leaves no stale digits
    journal.close()
    assert OffsetJournal(tmp_path).read("w1-a1") == 7
    assert os.path.getsize(tmp_path / "offsets" / "w1-a1") == 21
