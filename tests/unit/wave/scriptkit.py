"""A repository with the two-agent plan of ``tests.e2e.real_cli_kit`` whose agents are a small
scripted program (the ``generic`` preset's ``command``): each agent does what its
``[agent.extra_args]`` say, in order, so a test states exactly who writes what, and when.

Steps: ``--write REL TEXT`` (a plain write), ``--append REL TEXT``, ``--say LINE`` (a log line;
``wavedeck: done <id> <outcome>`` reports an issue), ``--sleep S``, ``--wait REL`` (until the
file exists, at most 30 s: one agent waits for another without a sleep), ``--link REL TARGET``
(replace REL by a symbolic link to TARGET), ``--exit N``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.e2e.real_cli_kit import FILES, ISSUES, ORIGINAL, PLAN, PLAN_TEXT
from tests.sandboxkit import git
from wavedeck.agents.configread import load_config
from wavedeck.agents.wave.supervisor import Supervisor
from wavedeck.plan.reading.loader import load_plan

__all__ = ["FILES", "ISSUES", "ORIGINAL", "PLAN", "script_repo", "supervisor"]

AGENT = r"""
import os, sys, time
from pathlib import Path

args = sys.argv[1:]
i = 0
while i < len(args):
    op = args[i]
    if op == "--write":
        Path(args[i + 1]).write_text(args[i + 2])
        i += 3
    elif op == "--append":
        with open(args[i + 1], "a") as fh:
            fh.write(args[i + 2])
        i += 3
    elif op == "--say":
        print(args[i + 1], flush=True)
        i += 2
    elif op == "--sleep":
        time.sleep(float(args[i + 1]))
        i += 2
    elif op == "--wait":
        deadline = time.monotonic() + 30
        while not Path(args[i + 1]).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        i += 2
    elif op == "--link":
        tmp = args[i + 1] + ".new-link"
        os.symlink(args[i + 2], tmp)
        os.replace(tmp, args[i + 1])
        i += 3
    elif op == "--exit":
        sys.exit(int(args[i + 1]))
    else:
        sys.exit("unknown step " + op)
"""
TESTS = ["python3 -m py_compile src/api/server.py src/web/page.py"]


def _toml(value: object) -> str:
    return json.dumps(value)


def script_repo(
    folder: Path,
    steps: Mapping[str, Sequence[str]],
    *,
    sandbox: str = "off",
    extra_config: str = "",
    gitignore: str = ".wavedeck/\n__pycache__/\n",
) -> Path:
    """The repository at ``folder`` (created), its agents running ``steps`` (agent id -> the
    script's arguments), committed. The agent program lives beside it, outside the repo."""
    folder.mkdir(parents=True)
    program = folder.parent / f"{folder.name}-agent.py"
    program.write_text(AGENT, "utf-8")
    for rel, text in ORIGINAL.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, "utf-8")
    (folder / PLAN).parent.mkdir(parents=True)
    (folder / PLAN).write_text(PLAN_TEXT, "utf-8")
    (folder / ".gitignore").write_text(gitignore, "utf-8")
    extra = "".join(f"{_toml(agent)} = {_toml(list(args))}\n" for agent, args in steps.items())
    (folder / "wavedeck.toml").write_text(
        f"plan = {_toml(PLAN)}\n\n[agent]\n"
        f"command = {_toml([sys.executable, str(program)])}\n"
        f"sandbox = {_toml(sandbox)}\nstop_grace_s = 2\n{extra_config}\n"
        f"[agent.extra_args]\n{extra}\n"
        f"[tests]\ncommands = {_toml(TESTS)}\ntimeout_s = 60\n",
        "utf-8",
    )
    git(folder, "init", "-q", "-b", "main")
    git(folder, "config", "user.name", "test")
    git(folder, "config", "user.email", "test@example.com")
    git(folder, "config", "commit.gpgsign", "false")
    git(folder, "add", "-A")
    git(folder, "commit", "-qm", "start")
    return folder


def supervisor(root: Path) -> Supervisor:
    plan_path = root / PLAN
    return Supervisor(root, load_plan(plan_path).plan, load_config(root), plan_path=plan_path)
