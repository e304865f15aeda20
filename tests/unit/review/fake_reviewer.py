#!/usr/bin/env python3
"""A stand-in for ``claude -p --output-format stream-json`` as a reviewer agent (the real CLI
reviews in tests/e2e): reads the reviewer prompt on stdin, tries to change the first file it
names (a reviewer must not: the kernel sandbox refuses it), and answers with the findings block
the prompt asks for: a high finding saying whether its write was refused, and a low one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def out(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> int:
    argv = sys.argv[1:]
    session = argv[argv.index("--session-id") + 1] if "--session-id" in argv else "s-review"
    prompt = sys.stdin.read()
    files = [ln[2:] for ln in prompt.split("It changed these files:\n\n", 1)[-1].splitlines()]
    target = next((f for f in files if f and not f.startswith("(")), "")
    try:
        with open(Path.cwd() / target, "a", encoding="utf-8") as handle:
            handle.write("# the reviewer wrote this\n")
        wrote = "my write landed"
    except OSError as exc:
        wrote = f"my write was refused ({exc.strerror})"
    out({"type": "system", "subtype": "init", "session_id": session, "model": "m"})
    findings = [
        {"file": target, "line": 1, "severity": "high", "text": f"check this; {wrote}"},
        {"file": target, "line": 2, "severity": "nit", "text": "naming"},
    ]
    block = "\n".join(json.dumps(f) for f in findings)
    text = f"Reviewed.\n\n```wavedeck-findings\n{block}\n```"
    out({"type": "assistant", "message": {"content": [{"type": "text", "text": text}]}})
    usage = {"input_tokens": 1000, "output_tokens": 50}
    out(
        {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "num_turns": 1,
            "total_cost_usd": 0.1,
            "usage": usage,
            "result": text,
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
