"""The one sandbox configurator and the one ``git()`` helper every test folder uses.

``configure`` changes a demo sandbox's ``wavedeck.toml`` (made by ``wavedeck.agents.tools.demo``) through
keyword options: the agents' ``speed``, their ``extra`` arguments (replacing the demo's, or
added to them), the ``tests`` commands, the ``workspace`` mode and an ``[agent.restart]`` table.
Only this module edits that text, so a change of the demo's config is followed in one place.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

DEMO_SPEED = '"--speed", "0.02"'  # how the demo's fast config spells the agents' speed


def git(cwd: Path, *args: str, input_text: str | None = None, check: bool = True) -> str:
    """Run git in ``cwd``; its stripped output (``check``: fail the test on an error)."""
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=check, input=input_text
    )
    return done.stdout.strip()


def _toml_value(value: object) -> str:
    return json.dumps(value)  # strings, numbers, booleans and lists of them: JSON is TOML here


def configure(
    root: Path,
    *,
    speed: str | None = None,
    extra: Mapping[str, Sequence[str]] | None = None,
    keep_extra: bool = False,
    tests: Sequence[str] | None = None,
    workspace: str | None = None,
    restart: Mapping[str, object] | None = None,
    commit: bool = False,
) -> Path:
    """Change the sandbox's ``wavedeck.toml`` (see the module docstring); ``commit`` commits it
    (else the changed config is a stray file of the first wave). Returns ``root``."""
    config = root / "wavedeck.toml"
    text = config.read_text(encoding="utf-8")
    if speed is not None:
        assert DEMO_SPEED in text, "the demo config no longer sets --speed 0.02"
        text = text.replace(DEMO_SPEED, f'"--speed", "{speed}"')
    if extra is not None:
        head, _, rest = text.partition("[agent.extra_args]\n")
        kept, _, tail = rest.partition("\n[tests]")
        lines = "".join(f"{json.dumps(a)} = {_toml_value(list(v))}\n" for a, v in extra.items())
        body = kept + "\n" + lines if keep_extra else lines
        text = head + "[agent.extra_args]\n" + body + "\n[tests]" + tail
    if tests is not None:
        before, _, after = text.partition("commands = ")
        text = before + f"commands = {_toml_value(list(tests))}\n" + after.partition("\n")[2]
    if workspace is not None:
        text = f"workspace = {_toml_value(workspace)}\n" + text
    if restart is not None:
        table = "".join(f"{k} = {_toml_value(v)}\n" for k, v in restart.items())
        text += f"\n[agent.restart]\n{table}"
    config.write_text(text, encoding="utf-8")
    if commit:
        git(root, "commit", "-q", "-m", "test settings", "--", "wavedeck.toml")
    return root
