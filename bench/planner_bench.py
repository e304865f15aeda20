"""Benchmark: ``plan make``'s planner on generated issues, against reading the plan it writes.

Generates 100, 1,000 and 10,000 issues spread over packages (one per 40 issues, at least four),
each needing one to three files of its package chosen with a heavy-tailed skew (a few hot files
shared by many issues, as ``client.py`` is in the reference data), 5 % of them depending on a
recent issue. Times (CPU time, best of several interleaved runs) ``make_plan`` with the default
limits and with ``max_issues`` (so waves are bounded by capacity too), and, in the same run,
``parse_plan`` on the Markdown the planner writes for that input (the baseline: wavedeck reads
a plan of that size anyway). Also reports, per size, the waves made against the lower bound.

Targets: at the checked size (10,000 issues) the planner costs at most ``RATIO_TARGET`` times
the parse of its own plan, and the waves made are within ``WAVES_SLACK`` of the lower bound.
Prints one JSON object; exits 1 when a target is missed.

    python3 bench/planner_bench.py [--quick]
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wavedeck.plan.making.model import IssueSpec, MadePlan, MakeOptions
from wavedeck.plan.making.planner import make_plan
from wavedeck.plan.making.render import RenderContext, render_made
from wavedeck.plan.reading.loader import parse_plan

RATIO_TARGET = 0.5
WAVES_SLACK = 1.25  # waves made / lower bound
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")


def make_issues(n: int, seed: int = 15) -> list[IssueSpec]:
    """``n`` issues over packages of 30 files, hot files shared, a few dependencies."""
    rnd = random.Random(seed)
    packages = max(4, n // 40)
    out = []
    for k in range(n):
        group = f"packages/p{rnd.randrange(packages)}/"
        files = {
            f"{group}src/m{int(rnd.paretovariate(1.2)) % 30}.py"
            for _ in range(rnd.choice((1, 1, 2, 3)))
        }
        deps: tuple[str, ...] = ()
        if k and rnd.random() < 0.05:
            deps = (f"i-{rnd.randrange(max(0, k - 50), k) + 1}",)
        out.append(
            IssueSpec(
                id=f"i-{k + 1}",
                severity=rnd.choice(SEVERITIES),
                title=f"Validate the input of handler number {k + 1} before use",
                depends_on=deps,
                paths=tuple(sorted(files)),
                group=group,
            )
        )
    return out


def _timed(fn: Callable[[], object]) -> float:
    # CPU time of this process: on a shared machine wall time mostly measures the neighbours.
    start = time.process_time()
    fn()
    return time.process_time() - start


def measure(n: int, repeat: int) -> dict[str, object]:
    issues = make_issues(n)
    capped = MakeOptions(max_issues=max(5, n // 100))
    made: dict[str, MadePlan] = {
        "default": make_plan(issues, MakeOptions()),
        "capped": make_plan(issues, capped),
    }
    text = render_made(made["default"], RenderContext(title="bench", origin="generated"))
    make_s = parse_s = float("inf")
    for _ in range(repeat):
        parse_s = min(parse_s, _timed(lambda: parse_plan(text, "bench.md")))
        make_s = min(make_s, _timed(lambda: make_plan(issues, MakeOptions())))
    capped_s = min(_timed(lambda: make_plan(issues, capped)) for _ in range(repeat))
    return {
        "issues": n,
        "make_s": round(make_s, 4),
        "make_capped_s": round(capped_s, 4),
        "parse_s": round(parse_s, 4),
        "ratio": round(max(make_s, capped_s) / parse_s, 3),
        "file_groups": made["default"].components,
        "waves": len(made["default"].waves),
        "lower_bound": made["default"].lower_bound,
        "max_issues": capped.max_issues,
        "waves_capped": len(made["capped"].waves),
        "lower_bound_capped": made["capped"].lower_bound,
    }


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    sizes = [100, 1_000, 10_000]
    repeat = 1 if quick else 5
    rows = [measure(n, repeat) for n in sizes]
    checked = rows[-1]
    ratio = float(str(checked["ratio"]))
    waves_ok = all(
        int(str(r["waves"])) <= int(str(r["lower_bound"])) * WAVES_SLACK
        and int(str(r["waves_capped"])) <= int(str(r["lower_bound_capped"])) * WAVES_SLACK
        for r in rows
    )
    ok = ratio <= RATIO_TARGET and waves_ok
    print(
        json.dumps(
            {
                "issues": checked["issues"],
                "make_s": checked["make_s"],
                "parse_s": checked["parse_s"],
                "ratio": checked["ratio"],
                "ratio_target": RATIO_TARGET,
                "waves_within_bound": waves_ok,
                "waves_slack": WAVES_SLACK,
                "sizes": rows,
                "ok": ok,
            }
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
