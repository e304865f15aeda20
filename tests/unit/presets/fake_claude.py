#!/usr/bin/env python3
"""A stand-in for ``claude -p --output-format stream-json``: prints the event shapes recorded from
the real CLI (tests/data/agent_streams/) for the agent its prompt (on stdin) describes, and
really writes its first owned file. The real CLI runs in tests/e2e (H8's harness); this drives
the engine's preset path where the real CLI is not installed.

``--replay MODE`` (extra_args): ``done`` (default), ``question``, ``deny`` (a refused write of
a file it does not own), ``spend`` (reports $5 of cost and keeps running until stopped),
``courtesy`` (done, then a closing question).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path


def out(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> int:
    argv = sys.argv[1:]
    mode = argv[argv.index("--replay") + 1] if "--replay" in argv else "done"
    session = None
    for flag in ("--session-id", "--resume"):
        if flag in argv:
            session = argv[argv.index(flag) + 1]
    prompt = sys.stdin.read()
    facts: dict[str, list[str]] = {}
    known = prompt
    if "--resume" in argv:  # a resumed session remembers its first prompt (the issues)
        first = Path(".wavedeck", "prompts", os.environ.get("WAVEDECK_AGENT_ID", "") + ".md")
        known = first.read_text("utf-8") if first.is_file() else prompt
    for line in known.splitlines():
        if line.startswith("wavedeck-") and ":" in line:
            key, _, value = line.partition(":")
            facts.setdefault(key[len("wavedeck-") :], []).append(value.strip())
    repo = Path(facts.get("repo", ["."])[0])
    files = facts.get("file", [])
    issues = [v.split()[0] for v in facts.get("issue", [])]
    out({"type": "system", "subtype": "init", "session_id": session or "s-none", "model": "m"})
    if "--resume" in argv:
        text = f"follow-up received: {prompt.strip()}"
        out({"type": "assistant", "message": {"content": [{"type": "text", "text": text}]}})
        # A review comment saying ANSWER-BY-EDITING: append a line to the file it is about
        # (``1. path:line`` in the follow-up), in the folder the agent runs in.
        where = re.search(r"^1\. ([^:\n]+):\d+", prompt, re.M)
        if "ANSWER-BY-EDITING" in prompt and where:
            with open(where.group(1), "a", encoding="utf-8") as handle:
                handle.write("# fake-claude answer\n")
    elif mode == "deny":
        target = str(repo / "not-mine.txt")
        use = {"type": "tool_use", "id": "t1", "name": "Write", "input": {"file_path": target}}
        out({"type": "assistant", "message": {"content": [use]}})
        result = {"type": "tool_result", "tool_use_id": "t1", "is_error": True, "content": "no"}
        out({"type": "user", "message": {"content": [result]}})
    elif files:
        target = str(repo / files[0])
        use = {"type": "tool_use", "id": "t1", "name": "Edit", "input": {"file_path": target}}
        out({"type": "assistant", "message": {"content": [use]}})
        with open(target, "a", encoding="utf-8") as handle:
            handle.write("# fake-claude edit\n")
        ok = {"type": "tool_result", "tool_use_id": "t1", "content": "updated"}
        out({"type": "user", "message": {"content": [ok]}})
    if mode == "question" and "--resume" not in argv:
        text = "Before I change it: should the error keep its code?"
    elif mode in ("done", "courtesy") or "--resume" in argv:
        text = "Fixed.\n\n" + "\n".join(f"wavedeck: done {i} fixed" for i in issues)
        if mode == "courtesy":
            text += "\n\nAnything else I can help with?"
    else:
        text = "Stopping here."
    out({"type": "assistant", "message": {"content": [{"type": "text", "text": text}]}})
    denials = []
    if mode == "deny":
        denials = [{"tool_name": "Write", "tool_use_id": "t1", "tool_input": {"file_path": target}}]
    cost = 5.0 if mode == "spend" else 0.25
    usage = {"input_tokens": 100, "cache_read_input_tokens": 20, "output_tokens": 30}
    out(
        {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "num_turns": 2,
            "total_cost_usd": cost,
            "usage": usage,
            "permission_denials": denials,
            "result": text,
        }
    )
    if mode == "spend":
        time.sleep(60)  # a runaway agent: wavedeck stops it over budget
    return 0


if __name__ == "__main__":
    sys.exit(main())
