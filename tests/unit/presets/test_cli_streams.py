"""The Gemini CLI, opencode, aider, Qwen Code and generic parsers on what the real CLIs printed
(``tests/data/agent_streams/``, recorded by ``tests/e2e/capture_streams.py`` with the presets'
own argv: Gemini CLI 0.61.0, opencode 1.18.33, aider 0.86.2, Qwen Code 0.15.10), through the
engine's ``AgentStream``: rendered lines, done lines, sessions, writes, usage, denials and how the
run ends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wavedeck.agents.events import Event
from wavedeck.agents.kinds import AsksQuestion, Needs, ToolRefused
from wavedeck.agents.presets import PRESETS, LaunchContext
from wavedeck.agents.presets.base import DIM, RED
from wavedeck.agents.presets.stream import AgentStream, ToolWrites
from wavedeck.agents.state import AgentRecord

STREAMS = Path(__file__).resolve().parents[2] / "data" / "agent_streams"
OWN = "src/api/server.py"
DONE = [
    "wavedeck: done api-1 errors no longer leak the traceback",
    "wavedeck: done api-2 auth bypass closed by the same change",
]


def meta(name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((STREAMS / f"{name}.meta.json").read_text("utf-8"))
    return data


def run(
    name: str, *, stderr: bool = False
) -> tuple[list[str], list[Event], AgentRecord, Needs | None]:
    """A recording through its preset's parser as the engine feeds it (stderr after stdout
    when asked: the log holds both)."""
    info = meta(name)
    lines = (STREAMS / f"{name}.jsonl").read_text("utf-8").splitlines()
    if stderr:
        lines += str(info["stderr"]).splitlines()
    rec = AgentRecord()
    parser = PRESETS[str(info["cli"])].parser(Path(str(info["cwd"])))
    stream = AgentStream("w1-a1", rec, parser, writes=ToolWrites())
    shown, events = stream.feed(tuple(lines))
    more, tail = stream.finish()
    return [*shown, *more], [*events, *tail], rec, stream.needs


def named(events: list[Event], name: str) -> list[dict[str, object]]:
    return [e.as_dict() for e in events if e.name == name]


@pytest.mark.parametrize("cli", ["gemini", "opencode", "qwen"])
def test_an_edit_and_its_done_lines(cli: str) -> None:
    lines, events, rec, needs = run(f"{cli}-edit-done")
    assert not [line for line in lines if line.lstrip().startswith("{")], "no raw JSON"
    for done in DONE:
        assert done in lines
    writes = [e for e in named(events, "agent_tool") if e["path"] == OWN]
    assert writes, named(events, "agent_tool")
    assert any(line.startswith("$ python3 -m py_compile") for line in lines)
    assert rec.session_id and named(events, "agent_session")
    assert rec.input_tokens > 0 and rec.output_tokens > 0
    assert needs is None and not rec.denials  # nothing asked, nothing refused


def test_gemini_counts_turns_names_models_and_dims_its_stderr() -> None:
    lines, _events, rec, _needs = run("gemini-edit-done", stderr=True)
    assert rec.turns == 4  # read, edit, compile, answer: the model answered four times
    assert rec.session_id == "0f6c7a4e-3b1d-4c2a-9e55-7d1c2b3a4f60"  # wavedeck's --session-id
    result = json.loads((STREAMS / "gemini-edit-done.jsonl").read_text().splitlines()[-1])
    (summary,) = [line for line in lines if line.startswith("■ success")]
    for model in result["stats"]["models"]:
        assert model in summary  # the real models, not init's "auto"
    warning = next(line for line in lines if "color support not detected" in line)
    assert warning.startswith(DIM)


def test_gemini_model_error_shows_the_apis_message() -> None:
    lines, _events, _rec, _needs = run("gemini-fail")
    assert meta("gemini-fail")["exit_status"] != 0
    (failed,) = [line for line in lines if line.startswith(RED + "■ error")]
    assert failed.endswith("scripted: this request is refused" + "\x1b[0m")


@pytest.mark.parametrize("cli", ["gemini", "opencode", "qwen"])
def test_a_refused_write_is_a_denial_and_the_agent_needs_you(cli: str) -> None:
    lines, events, rec, needs = run(f"{cli}-denied")
    denied = named(events, "agent_denied")
    assert [(d["path"]) for d in denied] == ["src/api/util.py"], denied
    # the CLI's own permissions refused it (not the kernel): the agent needs you
    assert isinstance(needs, ToolRefused), needs
    assert (needs.path, needs.by) == ("src/api/util.py", "cli")
    assert needs.tool == denied[0]["tool"]
    assert rec.denials == [needs]
    assert any(line.startswith(RED + "✗ denied") for line in lines)
    writes = ToolWrites()
    stream = AgentStream(
        "w1-a1",
        AgentRecord(),
        PRESETS[cli].parser(Path(str(meta(f"{cli}-denied")["cwd"]))),
        writes=writes,
    )
    stream.feed(tuple((STREAMS / f"{cli}-denied.jsonl").read_text("utf-8").splitlines()))
    assert writes.writer("src/api/util.py") is None  # a refused write is nobody's write


def test_opencode_permission_refused_on_its_own_is_one_denial_with_the_path() -> None:
    lines, events, _rec, needs = run("opencode-refused", stderr=True)
    denied = named(events, "agent_denied")
    outside = str(Path(str(meta("opencode-refused")["cwd"])).parent / "notes.txt")
    assert [(d["tool"], d["path"]) for d in denied] == [("write", outside)]  # once, not twice
    assert needs == ToolRefused("write", outside, by="cli")
    assert any("refused external_directory" in line for line in lines)


def test_opencode_counts_each_step_once_and_shows_tool_output() -> None:
    raw = (STREAMS / "opencode-edit-done.jsonl").read_text("utf-8").splitlines()
    steps = [json.loads(r) for r in raw if '"step_finish"' in r]
    rec = AgentRecord()
    stream = AgentStream("w1-a1", rec, PRESETS["opencode"].parser(None))
    shown, _ = stream.feed(tuple(raw))
    again = AgentStream("w1-a1", rec, PRESETS["opencode"].parser(None))
    again.feed(tuple(raw))  # the same log read again (a restart): counted once
    assert rec.turns == len(steps)
    assert rec.input_tokens == sum(s["part"]["tokens"]["input"] for s in steps)
    assert rec.cost_usd == pytest.approx(sum(s["part"]["cost"] for s in steps))
    assert any(line.startswith(DIM + "  ⎿ ") for line in shown)  # a completed tool's output


def test_follow_up_runs_resume_the_same_session() -> None:
    for cli in ("gemini", "qwen"):
        _lines, _events, rec, _needs = run(f"{cli}-followup")
        assert rec.session_id == "0f6c7a4e-3b1d-4c2a-9e55-7d1c2b3a4f60"
        assert "--resume" in meta(f"{cli}-followup")["argv"]  # type: ignore[operator]
    _lines, _events, rec, _needs = run("opencode-followup")
    argv = meta("opencode-followup")["argv"]
    assert argv[argv.index("--session") + 1] == rec.session_id  # type: ignore[union-attr,index]


def test_aider_usage_writes_and_done_lines() -> None:
    lines, events, _rec, _needs = run("aider-edit-done", stderr=True)
    for done in DONE:
        assert done in lines
    (usage,) = named(events, "agent_usage")
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0 and usage["cost_usd"] > 0
    assert [e["path"] for e in named(events, "agent_tool")] == [OWN]


def test_aider_usage_line_as_printed() -> None:
    parser = PRESETS["aider"].parser(None)
    parsed = parser.feed("Tokens: 1.1k sent, 79 received. Cost: $0.0046 message, $0.0046 session.")
    (usage,) = parsed.facts
    assert usage == (1100, 79, 0.0046, 1, "")
    cached = parser.feed("Tokens: 2.3M sent, 1.2k cache hit, 10 received.").facts
    assert cached[0][:3] == (2_300_000, 10, None)


def test_aider_writing_a_file_it_does_not_own_names_it_and_leaves_the_index_alone() -> None:
    _lines, events, _rec, _needs = run("aider-new-file")
    assert "src/api/extra.py" in [e["path"] for e in named(events, "agent_tool")]


def test_aider_question_needs_you() -> None:
    _lines, _events, _rec, needs = run("aider-followup")
    assert needs is None  # the follow-up answered and reported done
    parser = PRESETS["aider"].parser(None)
    rec = AgentRecord()
    stream = AgentStream("w1-a1", rec, parser)
    stream.feed(("Should the error keep a code?", "", "Tokens: 670 sent, 7 received."))
    stream.finish()
    assert stream.needs == AsksQuestion("Should the error keep a code?")


@pytest.mark.parametrize("cli", ["gemini", "opencode", "aider", "qwen"])
def test_a_model_error_ends_the_run_in_red_and_says_it_failed(cli: str) -> None:
    info = meta(f"{cli}-fail")
    lines = (STREAMS / f"{cli}-fail.jsonl").read_text("utf-8").splitlines()
    lines += str(info["stderr"]).splitlines()
    stream = AgentStream("w1-a1", AgentRecord(), PRESETS[cli].parser(Path(str(info["cwd"]))))
    shown, _ = stream.feed(tuple(lines))
    shown = (*shown, *stream.finish()[0])
    assert any(RED in line and "scripted: this request is refused" in line for line in shown)
    # aider exits 0 on it: the CLI's own words make the run a failure (PresetRuns.ended)
    assert "scripted: this request is refused" in stream.error or info["exit_status"] != 0


def test_generic_reads_done_lines_inside_json_strings_and_says_so() -> None:
    raw = (STREAMS / "claude-edit-done.jsonl").read_text("utf-8").splitlines()
    rec = AgentRecord()
    stream = AgentStream("w1-a1", rec, PRESETS["generic"].parser(None))
    shown, _events = stream.feed(tuple(raw))
    assert shown[0].startswith(DIM) and "JSON lines" in shown[0]
    for done in DONE:
        assert shown.count(done) == 1  # in the assistant text and the result: read once
    text = ("step 1 of 2", "wavedeck: done a-1 fixed")
    assert AgentStream("w1-a2", AgentRecord(), PRESETS["generic"].parser(None)).feed(text) == (
        text,
        [],
    )


def test_every_preset_sets_pwd_to_the_agents_folder(tmp_path: Path) -> None:
    """PWD is the engine's (build_spec); a preset's own env never replaces it."""
    ctx = LaunchContext(
        agent_id="w1-a1",
        program="x",
        prompt_file=tmp_path / "p.md",
        cwd=tmp_path,
        wavedeck_dir=tmp_path / ".wavedeck",
        owned=(OWN,),
    )
    for preset in PRESETS.values():
        if preset.env is not None:
            assert "PWD" not in preset.env(ctx)
