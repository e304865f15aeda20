"""Benchmark: rendering a Claude Code stream into pane lines, against the raw tail of the same log.

A log of Claude Code's ``stream-json`` output (the sessions recorded from the real CLI in
``tests/data/agent_streams/``, their work between start and result done ten times over as in
a real run, each tool result holding a real source file of this repository, 2-17 KB, as real
sessions read them) is written by a real agent process (this script with ``--emit``, which
makes the stream as it writes it) through ``LocalRunner``. Measured in one run, alternating, best of
five rounds each (the machine is shared):

1. raw: the log into a pane as a generic agent's is: ``LocalRunner.follow`` from offset 0, each
   chunk made events (``issue_done`` searched, as the engine does) and appended to the pane's
   line buffer -> ``raw_lines_per_s``;
2. rendered: the same with the claude preset: each chunk through its ``AgentStream`` (JSON
   read, pane lines rendered, facts recorded: session, tools, usage, denials), the rendered lines
   made events and appended to the pane, the raw ones kept for the raw view
   -> ``rendered_lines_per_s`` (raw lines consumed per second).

``ratio`` = rendered / raw. The rendered side also checks it found every progress line
(``wavedeck: done``, each with its own outcome: a repeated report is one ``issue_done``) and
every run's cost: ``missed`` counts what it did not. At full size (~1.2 GB) the log rotates
(64 MiB, 3 kept) long before the follow starts, as when an agent floods while no control room
runs: ``skipped_mb`` were rotated away unread, and their facts come from the agent's fact record
(``record_mb``, written by the log wrapper as the bytes passed: ``agents/local/factscan.py``).
Targets: ratio >= 0.5, missed = 0; exit 1 if one is missed. CI runs it at full size.

    python3 bench/agent_stream_bench.py [--quick]   (--quick: 40,000 lines instead of 200,000)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wavedeck.agents.events import IssueDone  # noqa: E402
from wavedeck.agents.local.runner import LocalRunner  # noqa: E402
from wavedeck.agents.presets.stream import stream_for  # noqa: E402
from wavedeck.agents.runtypes import AgentHandle, LaunchSpec  # noqa: E402
from wavedeck.agents.state import AgentRecord  # noqa: E402
from wavedeck.agents.wave.launch import chunk_events  # noqa: E402
from wavedeck.tui.widgets.log_view import LogBuffer  # noqa: E402

STREAMS = ROOT / "tests" / "data" / "agent_streams"
ROUNDS = 5
ROUNDS_PER_SESSION = 10
ISSUES = {"api-1", "api-2"}  # the recorded sessions' issues


def _sources() -> list[tuple[str, str]]:
    """(path, text) of real source files, the size agents read (the recorded sessions read
    three-line files)."""
    files = sorted((ROOT / "agents").rglob("*.py"))
    return [(str(f), f.read_text("utf-8")) for f in files if f.stat().st_size > 2000][:40]


def _session(name: Path) -> list[dict[str, object]]:
    """A recorded session with its work (every line between the start and the result) done
    ``ROUNDS_PER_SESSION`` times: a real run makes tens of tool calls, the recorded ones 1-4."""
    events = [json.loads(line) for line in name.read_text("utf-8").splitlines()]
    start = next(i for i, e in enumerate(events) if e.get("type") != "system")
    end = max(i for i, e in enumerate(events) if e.get("type") == "result")
    return events[:start] + events[start:end] * ROUNDS_PER_SESSION + events[end:]


def make_stream(out: TextIO, lines: int) -> tuple[int, int, float]:
    """Write ``lines`` lines of recorded sessions, each tool result holding a real file (as a
    Read returns it, twice: the message and ``tool_use_result``); (done lines, runs, total
    cost) in them."""
    # Only recorded runs (a transcript recorded for the take-over has no result event).
    sessions = [
        _session(name)
        for name in sorted(STREAMS.glob("claude-*.jsonl"))
        if '"type":"result"' in name.read_text("utf-8").replace(" ", "")
    ]
    sources = _sources()
    done = runs = written = 0
    cost = 0.0
    originals: dict[int, str] = {}  # a repeated message's text block -> its recorded text
    while written < lines:
        for session in sessions:
            for obj in session:
                if obj.get("type") == "user" and obj.get("tool_use_result") is not None:
                    where, text = sources[written % len(sources)]
                    obj["message"]["content"][0]["content"] = text
                    obj["tool_use_result"] = {
                        "type": "text",
                        "file": {"filePath": where, "content": text},
                    }
                if obj.get("type") == "assistant":
                    for block in obj["message"]["content"]:
                        text = originals.setdefault(id(block), block.get("text") or "")
                        if "wavedeck: done " not in text:
                            continue
                        # Each report its own outcome: a repeated one is one issue_done.
                        marked = []
                        for ln in text.split("\n"):
                            if ln.startswith("wavedeck: done "):
                                done += 1
                                ln = f"{ln} (report {done})"
                            marked.append(ln)
                        block["text"] = "\n".join(marked)
                if obj.get("type") == "result":
                    obj["uuid"] = f"run-{runs}"  # each run its own (a repeat is not counted)
                    runs += 1
                    cost += obj.get("total_cost_usd") or 0.0
                out.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
                written += 1
    return done, runs, cost


async def follow(
    runner: LocalRunner, handle: AgentHandle, render: bool
) -> tuple[int, int, float, int]:
    """The log into a pane, as the engine and the control room do it: chunks of lines made
    events (progress lines found), then into the pane's buffer; ``render``: through the claude
    preset first (the pane also keeps the raw lines, for its raw view). (raw lines read,
    issue_done events, cost recorded, bytes skipped)."""
    rec = AgentRecord()
    stream = stream_for("w1-a1", rec, "claude", Path("/tmp")) if render else None
    pane, raw_pane = LogBuffer(), LogBuffer()
    lines = done = skipped = 0
    async for chunk in runner.follow(handle, 0):
        lines += len(chunk.lines)
        skipped += chunk.skipped
        if stream is not None:
            shown, facts = stream.feed(chunk.lines)
            events = chunk_events(rec, ISSUES, "w1-a1", shown, facts, chunk.lines)
            raw_pane.extend(chunk.lines)
        else:
            shown = chunk.lines
            events = chunk_events(rec, ISSUES, "w1-a1", shown)
        pane.extend(shown)
        done += sum(1 for e in events.compact() if type(e) is IssueDone)
    return lines, done, rec.cost_usd or 0.0, skipped


async def run(lines: int) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory(prefix="wavedeck-streambench-") as tmp:
        folder = Path(tmp)
        counts = folder / "counts.json"  # what the agent wrote: done lines, runs, cost
        runner = LocalRunner(folder / ".wavedeck")
        agent = (sys.executable, __file__, "--emit", str(lines), str(counts))
        handle = await runner.launch(LaunchSpec("w1-a1", agent, folder, facts_of="claude"))
        while await runner.is_alive(handle):
            await asyncio.sleep(0.05)
        if not counts.exists():  # the agent failed: its log says why
            tail = runner.log_path("w1-a1").read_text("utf-8", "replace")[-2000:]
            raise SystemExit(f"the agent failed ({await runner.exit_status(handle)}):\n{tail}")
        done_expected, runs, cost_expected = json.loads(counts.read_text("utf-8"))
        raw_s = rendered_s = float("inf")
        total = done = skipped = 0
        cost = 0.0
        for _ in range(ROUNDS):
            began = time.perf_counter()
            total, _, _, skipped = await follow(runner, handle, render=False)
            raw_s = min(raw_s, time.perf_counter() - began)
            began = time.perf_counter()
            _, done, cost, _ = await follow(runner, handle, render=True)
            rendered_s = min(rendered_s, time.perf_counter() - began)
        raw_rate, rendered_rate = total / raw_s, total / rendered_s
        missed = (done_expected - done) + (0 if abs(cost - cost_expected) < 1e-6 else runs)
        return {
            "lines": total,
            "raw_lines_per_s": round(raw_rate),
            "rendered_lines_per_s": round(rendered_rate),
            "ratio": round(rendered_rate / raw_rate, 3),
            "done_lines": done,
            "missed": missed,
            "skipped_mb": round(skipped / 1e6, 1),
            "record_mb": round(runner.facts_path("w1-a1").stat().st_size / 1e6, 1),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40,000 lines")
    parser.add_argument("--emit", nargs=2, metavar=("LINES", "COUNTS"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.emit:  # the agent: the stream on stdout, what it holds into COUNTS
        lines, where = options.emit
        found = make_stream(sys.stdout, int(lines))
        sys.stdout.flush()
        Path(where).write_text(json.dumps(found), encoding="utf-8")
        return 0
    result = asyncio.run(run(40_000 if options.quick else 200_000))
    print(json.dumps(result))
    return 0 if float(result["ratio"]) >= 0.5 and result["missed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
