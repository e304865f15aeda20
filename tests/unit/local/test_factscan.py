"""The log wrapper's fact record (#27) against the full preset parsers: on every stream the real
CLIs printed (``tests/data/agent_streams``, stdout then stderr, as a log holds them), the lines
``FactScanner`` keeps, read back as a reader that fell behind the rotation reads them, give the
engine the same facts as the whole output: progress, session, usage and cost, tool calls,
refusals. Fed in chunks cut anywhere, and with every kept line cut down (``SMALL = 0``) too."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from wavedeck.agents.events import Event
from wavedeck.agents.lines import LineDecoder
from wavedeck.agents.local import factscan
from wavedeck.agents.local.logfiles import recorded_lines
from wavedeck.agents.presets import PRESETS
from wavedeck.agents.presets.refusals import RefusalScanner
from wavedeck.agents.presets.stream import AgentStream, ToolWrites
from wavedeck.agents.state import AgentRecord
from wavedeck.agents.wave.launch import chunk_events

STREAMS = Path(__file__).resolve().parents[2] / "data" / "agent_streams"
# The CLIs' stdout as recorded (a .meta.json beside it); session transcripts are not output.
NAMES = sorted(p.name.removesuffix(".meta.json") for p in STREAMS.glob("*.meta.json"))
ISSUES = {"api-1", "api-2"}
FACTS = ("agent_session", "agent_tool", "agent_usage", "agent_denied", "issue_done")


def _output(name: str) -> tuple[str, bytes, str]:
    """(preset, the log's bytes, the agent's folder) of a recorded run."""
    info = json.loads((STREAMS / f"{name}.meta.json").read_text("utf-8"))
    out = (STREAMS / f"{name}.jsonl").read_bytes()
    stderr = str(info.get("stderr") or "")
    if stderr:
        out += stderr.encode() + (b"" if stderr.endswith("\n") else b"\n")
    return str(info["cli"]), out, str(info["cwd"])


def facts(preset: str, cwd: str, data: bytes) -> tuple[list[dict[str, object]], AgentRecord]:
    """What the engine records from ``data`` read as log lines: the fact events and the record."""
    decoder = LineDecoder()
    lines = tuple(decoder.feed(data)[0] + decoder.flush()[0])
    rec = AgentRecord()
    stream = AgentStream("w1-a1", rec, PRESETS[preset].parser(Path(cwd)), writes=ToolWrites())
    refusals = RefusalScanner(cwd, lambda path: False, stream.parser.tool_name)
    shown, events = stream.feed(lines)
    more, tail = stream.finish()
    found: list[Event] = [*chunk_events(rec, ISSUES, "w1-a1", (*shown, *more), [*events, *tail])]
    out = [e.as_dict() for e in found if e.name in FACTS]
    out += [{"refused": list(r)} for r in refusals.scan(lines)]
    return out, rec


def recorded(tmp_path: Path, preset: str, data: bytes, seed: int) -> bytes:
    """``data`` through a ``FactScanner`` in chunks cut at random, read back from the record."""
    log = tmp_path / "w1-a1.log"
    scanner = factscan.FactScanner(str(tmp_path / "w1-a1.facts"), preset)
    cuts = random.Random(seed)
    at = 0
    while at < len(data):
        size = cuts.choice((1, 7, 64, 300, 4096, 1 << 20))
        scanner.feed(data[at : at + size], 1000 + at)
        at += size
    scanner.close()
    return b"".join(line + b"\n" for line in recorded_lines(log, 1000, 1000 + len(data)))


@pytest.mark.parametrize("small", [factscan.SMALL, 0], ids=["as-is", "all-cut"])
@pytest.mark.parametrize("name", NAMES)
def test_the_record_gives_the_same_facts_as_the_whole_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, small: int
) -> None:
    monkeypatch.setattr(factscan, "SMALL", small)
    preset, data, cwd = _output(name)
    whole, rec = facts(preset, cwd, data)
    kept, kept_rec = facts(preset, cwd, recorded(tmp_path, preset, data, seed=len(name)))
    assert kept == whole
    for field in ("session_id", "input_tokens", "output_tokens", "cost_usd", "turns"):
        assert getattr(kept_rec, field) == getattr(rec, field), field
    assert kept_rec.issues_done == rec.issues_done and kept_rec.denials == rec.denials


def test_the_record_is_small_and_keeps_marks_inside_long_strings(tmp_path: Path) -> None:
    """A Claude run whose tool results hold whole files (one with a refusal and a progress line
    in its middle), each a long line: the record keeps the facts, not the files."""
    _, data, cwd = _output("claude-edit-done")
    body = "\n".join(f"line {n} of a long file" for n in range(600))  # lines under 64 KiB
    marked = body + "\ntouch: cannot touch '/etc/x': Permission denied\n" + body
    out = []
    for n, line in enumerate(data.decode().splitlines()):
        obj = json.loads(line)
        if obj.get("type") == "user" and obj.get("tool_use_result") is not None:
            text = marked if n % 2 else body
            obj["message"]["content"][0]["content"] = text
            obj["tool_use_result"] = {"type": "text", "file": {"content": text}}
        out.append(json.dumps(obj, separators=(",", ":")))
    big = ("\n".join(out) + "\n").encode()
    kept = recorded(tmp_path, "claude", big, seed=1)
    assert len(kept) < len(big) // 10
    assert facts("claude", cwd, kept) == facts("claude", cwd, big)
    whole, _ = facts("claude", cwd, big)
    assert {"refused": ["Read", "/etc/x"]} in whole  # the tool call it answers
    assert sum(1 for f in whole if f.get("event") == "issue_done") == 2


def test_text_progress_lines_and_a_last_line_without_newline_are_kept(tmp_path: Path) -> None:
    data = b"".join(b"noise %d\n" % n for n in range(5000)) + b"wavedeck: done api-1 fixed\n"
    data += b"x" * 70000 + b"\nwavedeck: done api-2 too"
    kept = recorded(tmp_path, "generic", data, seed=2)
    assert kept == b"wavedeck: done api-1 fixed\nwavedeck: done api-2 too\n"


def test_every_preset_has_its_markers_and_a_recorded_stream() -> None:
    """A new preset without markers would keep only its done lines: the table must name it,
    and a stream of it must be recorded for the agreement test above."""
    assert set(factscan.MARKERS) == set(PRESETS)
    recorded_presets = {_output(name)[0] for name in NAMES}
    assert recorded_presets == set(PRESETS) - {"generic", "sim"}  # plain lines: no stream


@pytest.mark.parametrize("name", NAMES)
def test_the_generic_preset_on_any_cli_agrees_too(tmp_path: Path, name: str) -> None:
    """``[agent] command`` with the generic preset: its facts are the done lines, also those
    inside a CLI's JSON strings."""
    _, data, cwd = _output(name)
    whole, _ = facts("generic", cwd, data)
    assert facts("generic", cwd, recorded(tmp_path, "generic", data, seed=3))[0] == whole
