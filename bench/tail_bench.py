"""Benchmark: how fast the engine delivers agents' log lines, against reading the files raw.

Five simulated agents (``--flood``) print numbered lines as fast as they can into their logs
through ``LocalRunner``. Measured in one run:

1. live: ``LocalRunner.follow`` on all five while they write, each line made an ``AgentOutput``
   event and its number checked -> ``live_lines_per_s`` (bounded by the writers' speed);
2. engine: ``LocalRunner.follow`` from offset 0 over the finished logs, each line's number
   checked -> ``engine_lines_per_s``;
3. raw: ``open().read().splitlines()`` of the same files, each line's number checked the same
   way -> ``raw_lines_per_s``;
4. events: phase 2 again, also making one ``AgentOutput`` per line -> ``events_lines_per_s``.
   Informational: it shows what a per-line event costs a consumer (a frozen dataclass is ~2 µs
   to build), which is the consumer's choice, not the log reader's.

``ratio`` = engine / raw: both sides do the same per-line check, so it measures reading, decoding
and splitting by byte offset against the plainest read. ``rss_mb`` is this process's peak RSS
(VmHWM) after phases 1, 2 and 4, before the raw phase, which holds whole files in memory.
Phases 2-4 run three times, alternating, and each keeps its best time (the machine is shared).
Targets: ratio >= 0.5, lost = repeated = 0, rss_mb <= 100; exit 1 if one is missed.

    python3 bench/tail_bench.py [--quick]      (--quick: 200,000 lines an agent instead of 1,000,000)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wavedeck.agents.events import AgentOutput  # noqa: E402
from wavedeck.agents.local.runner import LocalRunner  # noqa: E402
from wavedeck.agents.runtypes import AgentHandle, LaunchSpec  # noqa: E402

AGENTS = 5
ROUNDS = 3


class Sequence:
    """Checks that an agent's numbered lines arrive consecutive: counts lost and repeated."""

    def __init__(self, agent: str) -> None:
        self.prefix = f"flood {agent} "
        self.expected = 1
        self.lost = 0
        self.repeated = 0
        self.lines = 0

    def see(self, line: str) -> None:
        self.lines += 1
        if not line.startswith(self.prefix):
            return  # the agent's own start and end lines
        number = int(line[len(self.prefix) :])
        if number == self.expected:
            self.expected += 1
        elif number < self.expected:
            self.repeated += 1
        else:
            self.lost += number - self.expected
            self.expected = number + 1

    def finish(self, total: int) -> None:
        self.lost += max(0, total - (self.expected - 1))


def peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def consume(runner: LocalRunner, handle: AgentHandle, events: bool) -> Sequence:
    seq = Sequence(handle.agent_id)
    agent = handle.agent_id
    async for chunk in runner.follow(handle, 0):
        if events:
            for line in chunk.lines:
                seq.see(AgentOutput(agent, line).line)
        else:
            for line in chunk.lines:
                seq.see(line)
    return seq


def raw_read(handle: AgentHandle) -> Sequence:
    seq = Sequence(handle.agent_id)
    with open(handle.log_path, encoding="utf-8", errors="replace") as log:
        for line in log.read().splitlines():
            seq.see(line)
    return seq


async def run(lines: int) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory(prefix="wavedeck-tailbench-") as tmp:
        repo = Path(tmp)
        runner = LocalRunner(repo / ".wavedeck")
        handles = []
        began = time.perf_counter()
        for number in range(1, AGENTS + 1):
            agent = f"w1-a{number}"
            argv = (
                sys.executable,
                "-m",
                "wavedeck.agents.tools.sim",
                "--id",
                agent,
                "--speed",
                "0",
            )
            spec = LaunchSpec(agent, (*argv, "--flood", str(lines)), repo)
            handles.append(await runner.launch(spec))
        live = await asyncio.gather(*(consume(runner, h, events=True) for h in handles))
        live_s = time.perf_counter() - began
        for seq in live:
            seq.finish(lines)

        # The machine is shared: time engine and raw alternately, several rounds, best of each.
        engine_s = events_s = raw_s = float("inf")
        checks: list[Sequence] = []
        rss = 0.0
        for round_index in range(ROUNDS):
            began = time.perf_counter()
            engine = await asyncio.gather(*(consume(runner, h, events=False) for h in handles))
            engine_s = min(engine_s, time.perf_counter() - began)
            began = time.perf_counter()
            evented = await asyncio.gather(*(consume(runner, h, events=True) for h in handles))
            events_s = min(events_s, time.perf_counter() - began)
            checks += engine + evented
            if round_index == 0:
                rss = peak_rss_mb()  # before any raw read holds whole files in memory
            began = time.perf_counter()
            raw = [raw_read(h) for h in handles]
            raw_s = min(raw_s, time.perf_counter() - began)
            checks += raw
        for seq in checks:
            seq.finish(lines)

        total = sum(seq.lines for seq in engine)
        engine_rate = total / engine_s
        raw_rate = sum(seq.lines for seq in raw) / raw_s
        return {
            "lines": total,
            "engine_lines_per_s": round(engine_rate),
            "raw_lines_per_s": round(raw_rate),
            "ratio": round(engine_rate / raw_rate, 3),
            "live_lines_per_s": round(sum(seq.lines for seq in live) / live_s),
            "events_lines_per_s": round(sum(seq.lines for seq in evented) / events_s),
            "lost": sum(seq.lost for seq in live + checks),
            "repeated": sum(seq.repeated for seq in live + checks),
            "rss_mb": round(rss, 1),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200,000 lines an agent (CI)")
    options = parser.parse_args()
    result = asyncio.run(run(200_000 if options.quick else 1_000_000))
    print(json.dumps(result))
    ok = (
        float(result["ratio"]) >= 0.5
        and result["lost"] == 0
        and result["repeated"] == 0
        and float(result["rss_mb"]) <= 100
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
