#!/usr/bin/env python3
"""A stand-in for Claude Code where the real CLI is not needed: with ``-p`` it is
``tests/unit/presets/fake_claude.py`` (a headless run); without, it is a session taken over in a
terminal (``claude --resume <id> ...``): it appends to the session's transcript what the real
CLI's holds for one operator turn (the shapes of tests/data/agent_streams/
claude-transcript-attach.jsonl: the operator's words, an answer with its usage and a Write of the
agent's own file, the session's cost so far), edits that file (from ``--settings``), tries the
file ``TAKEOVER_FOREIGN`` names (another agent's: the kernel sandbox refuses it), writes what it
saw to ``TAKEOVER_OUT`` and exits ``TAKEOVER_EXIT`` (3 unless set; ``TERM``: killed by SIGTERM).

The real CLI is taken over in tmux by tests/e2e/test_takeover.py.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import signal
import sys
from pathlib import Path

SAID = "stand-in: keep the error code"
ANSWER = "stand-in: done by hand"


def main() -> int:
    argv = sys.argv[1:]
    if "-p" in argv:
        sys.argv = [str(Path(__file__).parents[2] / "unit/presets/fake_claude.py"), *argv]
        runpy.run_path(sys.argv[0], run_name="__main__")
        return 0
    session = argv[argv.index("--resume") + 1]
    allow = json.loads(argv[argv.index("--settings") + 1])["permissions"]["allow"]
    owned = next(rule[len("Edit(./") : -1] for rule in allow if rule.startswith("Edit(./"))
    cwd = os.getcwd()
    base = Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude")
    transcript = base / "projects" / re.sub(r"[^A-Za-z0-9]", "-", cwd) / f"{session}.jsonl"
    transcript.parent.mkdir(parents=True, exist_ok=True)
    before = 0.25 if transcript.exists() else 0.0
    target = str(Path(cwd) / owned)
    entries = [
        {"type": "user", "message": {"role": "user", "content": SAID}},
        {
            "type": "assistant",
            "message": {
                "id": "msg_standin_1",
                "usage": {
                    "input_tokens": 1000,
                    "cache_read_input_tokens": 200,
                    "output_tokens": 40,
                },
                "content": [{"type": "tool_use", "name": "Write", "input": {"file_path": target}}],
            },
        },
        {
            "type": "assistant",
            "message": {
                "id": "msg_standin_2",
                "usage": {"input_tokens": 1100, "output_tokens": 10},
                "content": [{"type": "text", "text": ANSWER}],
            },
        },
        {"type": "cost-state", "totalCostUSD": before + 0.05},
    ]
    with transcript.open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(e) + "\n" for e in entries)
    with open(target, "a", encoding="utf-8") as handle:
        handle.write("# edited by hand\n")
    seen = {"argv": argv, "cwd": cwd, "tty": os.isatty(0)}
    foreign = os.environ.get("TAKEOVER_FOREIGN")
    if foreign:
        try:
            with open(foreign, "a", encoding="utf-8") as handle:
                handle.write("# not mine\n")
            seen["foreign"] = "written"
        except OSError as exc:
            seen["foreign"] = exc.strerror or str(exc)
    out = os.environ.get("TAKEOVER_OUT")
    if out:
        Path(out).write_text(json.dumps(seen), "utf-8")
    ending = os.environ.get("TAKEOVER_EXIT", "3")
    if ending == "TERM":  # killed by a signal (its terminal closed...)
        os.kill(os.getpid(), signal.SIGTERM)
    return int(ending)


if __name__ == "__main__":
    sys.exit(main())
