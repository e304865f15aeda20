"""Benchmark: what the Landlock sandbox costs an agent, against the same agent unsandboxed.

Both sides run under the real local wrapper (``agents/local/wrapper.py``), alternating, in one
throwaway repository whose agent owns ``pkg/own.py`` (so its folder ``pkg/`` is opened) while
another agent owns ``other/x.py``:

1. start: the wrapper running ``/bin/true``, with and without ``--sandbox`` (resolving the spec,
   building the ruleset, entering the domain) -> ``start_ms`` each (median) and
   ``start_cost_ms`` (the difference);
2. write-heavy: a Python agent that, in its own folder, creates, writes (4 KiB), renames over
   and removes files, and rewrites its own file, ``--writes`` times -> ``ratio`` =
   unsandboxed time / sandboxed time (1.0: no cost; the kernel's path checks are the cost).

Each side keeps its best of ``ROUNDS`` (the machine is shared). Targets: ratio >= 0.95,
start_cost_ms <= 50; exit 1 if one is missed. Exit 0 with ``"skipped"`` on a kernel without
Landlock ABI >= 3 (nothing to measure).

    python3 bench/sandbox_bench.py [--quick]      (--quick: 1,500 writes instead of 5,000)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wavedeck.agents.local import landlock, writepolicy  # noqa: E402

WRAPPER = ROOT / "agents" / "local" / "wrapper.py"
ROUNDS = 5
STARTS = 15
WRITER = """
import os, sys
n = int(sys.argv[1])
data = b"x" * 4096
for i in range(n):
    tmp = f"pkg/f{i % 50}.tmp"
    with open(tmp, "wb") as out:
        out.write(data)
    os.replace(tmp, f"pkg/f{i % 50}.txt")
    if i % 10 == 0:
        with open("pkg/own.py", "w") as own:
            own.write(f"VERSION = {i}\\n")
for i in range(50):
    os.unlink(f"pkg/f{i}.txt")
"""


def _repo(base: Path) -> tuple[Path, Path]:
    repo = base / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "other").mkdir()
    (repo / ".git").mkdir()
    (repo / "pkg" / "own.py").write_text("VERSION = 0\n")
    (repo / "other" / "x.py").write_text("X = 1\n")
    spec = {
        "v": writepolicy.SPEC_VERSION,
        "agent": "w1-a1",
        "owned": ["pkg/own.py"],
        "others": ["other/x.py"],
        "state": [],
        "devices": True,
    }
    spec_file = base / "spec.json"
    spec_file.write_text(json.dumps(spec))
    return repo, spec_file


def _run(repo: Path, spec_file: Path | None, argv: list[str]) -> float:
    exit_file = repo.parent / "exit.json"
    sandbox = ["--sandbox", str(spec_file)] if spec_file is not None else []
    cmd = [sys.executable, "-I", str(WRAPPER), str(exit_file), *sandbox, "--", *argv]
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=repo, capture_output=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"agent failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--writes", type=int, default=None)
    args = parser.parse_args()
    abi = landlock.abi()
    if abi < landlock.MIN_ABI:
        print(json.dumps({"bench": "sandbox", "skipped": f"Landlock ABI {abi}"}))
        return 0
    writes = args.writes or (1500 if args.quick else 5000)
    with tempfile.TemporaryDirectory(prefix="wavedeck-sandbox-bench-") as tmp:
        repo, spec_file = _repo(Path(tmp))
        starts: dict[str, list[float]] = {"off": [], "landlock": []}
        for _ in range(STARTS):
            starts["off"].append(_run(repo, None, ["/bin/true"]))
            starts["landlock"].append(_run(repo, spec_file, ["/bin/true"]))
        writer = [sys.executable, "-I", "-c", WRITER, str(writes)]
        heavy: dict[str, list[float]] = {"off": [], "landlock": []}
        for _ in range(ROUNDS):
            heavy["off"].append(_run(repo, None, writer))
            heavy["landlock"].append(_run(repo, spec_file, writer))
    start_off = statistics.median(starts["off"]) * 1000
    start_on = statistics.median(starts["landlock"]) * 1000
    ratio = min(heavy["off"]) / min(heavy["landlock"])
    result = {
        "bench": "sandbox",
        "abi": abi,
        "start_ms": {"off": round(start_off, 1), "landlock": round(start_on, 1)},
        "start_cost_ms": round(start_on - start_off, 1),
        "writes": writes,
        "write_heavy_s": {
            "off": round(min(heavy["off"]), 3),
            "landlock": round(min(heavy["landlock"]), 3),
        },
        "ratio": round(ratio, 3),
        "targets": {"ratio": ">= 0.95", "start_cost_ms": "<= 50"},
    }
    ok = ratio >= 0.95 and result["start_cost_ms"] <= 50  # type: ignore[operator]
    result["ok"] = ok
    print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
