"""``wavedeck demo``: a sandbox repository where the reference plan runs with simulated agents.

The sandbox is a git repository (one initial commit) holding every file the bundled reference plan
declares, with plausible content per file type, the plan itself (``plans/security-waves.md``), a
``wavedeck.toml`` whose agent command is the simulated agent (run through this Python, so it works
without ``wavedeck`` on PATH), and a test command that works offline.

Like the agent of the real run of this plan (see the zajel field data), agent ``w1-a2`` also
writes two files no wave-1 agent declares: a test of its protocol (``TEST_PATH``), which the
sandbox's ``[policy] accept`` globs (``ACCEPT_GLOBS``) let through, recorded in the checkpoint
trailers; and the daemon at its real path (``STRAY_PATH``), which no glob covers, so the
checkpoint gate shows itself.
"""

from __future__ import annotations

import json
import shlex
import sys
from importlib import resources
from pathlib import Path, PurePosixPath

from wavedeck.agents.git.cmd import run_git
from wavedeck.agents.git.errors import GitError
from wavedeck.plan.errors import WavedeckError

PLAN_NAME = "security-waves.md"
PLAN_IN_SANDBOX = "plans/security-waves.md"
# Real agents working this plan edited the daemon at its real path (see the zajel field data);
# no wave-1 agent declares it, so the gate has something to show.
STRAY_AGENT = "w1-a2"
STRAY_PATH = "packages/headless-client/zajel/cli/daemon.py"
EXTRA_FILES = (
    "packages/headless-client/zajel/__init__.py",
    "packages/headless-client/zajel/cli/__init__.py",
    STRAY_PATH,
)
# The real run's agent also changed this test (it declared none); the policy accepts tests.
TEST_PATH = "packages/headless-client/tests/unit/test_cli_protocol.py"
ACCEPT_GLOBS = ("**/tests/**", "**/package-lock.json")
# One agent writes both (tests elsewhere add extra_args for other agents of wave 1).
STRAY_ARGS = ("--touch-unowned", TEST_PATH, "--touch-unowned", STRAY_PATH)
FAST_SPEED = "0.02"
NORMAL_SPEED = "1"


class DemoError(WavedeckError):
    """The sandbox cannot be made (folder not empty, git missing, ...)."""


def bundled_plan_text() -> str:
    """The reference plan shipped as package data."""
    return resources.files("wavedeck.agents.data").joinpath(PLAN_NAME).read_text(encoding="utf-8")


def _content(path: str) -> str:
    """Plausible content for a file, by its extension, naming the file so diffs are readable."""
    p = PurePosixPath(path)
    stem = p.stem.replace("-", "_").replace(".", "_") or "module"
    ext = p.suffix
    if ext == ".py":
        return (
            f'"""{p.name}: part of the zajel headless client (demo sandbox)."""\n\n'
            f"from __future__ import annotations\n\n\n"
            f"def {stem}_ready() -> bool:\n"
            f'    """Whether {p.name} is set up."""\n'
            f"    return True\n"
        )
    if ext in (".ts", ".tsx", ".js"):
        name = "".join(part.capitalize() for part in stem.split("_")) or "Module"
        if ext == ".tsx":
            return (
                f"// {p.name}: demo sandbox component\n"
                f"export default function {name}() {{\n"
                f'  return <div className="{stem}">{name}</div>;\n'
                f"}}\n"
            )
        return (
            f"// {p.name}: demo sandbox module\n"
            f"export function {stem}Ready() {{\n"
            f"  return true;\n"
            f"}}\n"
        )
    if ext == ".css":
        return f"/* {p.name}: demo sandbox styles */\nbody {{\n  margin: 0;\n}}\n"
    if p.name == "_headers":
        return "/*\n  X-Content-Type-Options: nosniff\n"
    return f"{p.name}: demo sandbox file\n"


def _toml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"


def _config_text(fast: bool) -> str:
    py = sys.executable
    speed = FAST_SPEED if fast else NORMAL_SPEED
    command = [py, "-m", "wavedeck.agents.tools.sim", "--prompt", "{prompt_file}", "--speed", speed]
    q = shlex.quote
    tests = [
        f"{q(py)} -m compileall -q packages/headless-client",
        f"{q(py)} tests/check_sandbox.py",
    ]
    return (
        "# wavedeck demo sandbox: simulated agents run the reference plan.\n"
        f"plan = {_toml_str(PLAN_IN_SANDBOX)}\n\n"
        "[agent]\n"
        "# The simulated agent shipped with wavedeck, run by this Python (never a shell).\n"
        f"command = {_toml_list(command)}\n"
        'prompt = "file"\n'
        "stop_grace_s = 3\n"
        "# w1-a2 writes outside the plan on purpose, so the watcher and the checkpoint gate show\n"
        '# themselves: with sandbox = "landlock" (the default elsewhere) the kernel refuses those\n'
        "# writes before they land.\n"
        'sandbox = "off"\n\n'
        "[agent.extra_args]\n"
        "# w1-a2 also writes a test no agent declares (the [policy] below accepts it) and edits\n"
        "# a file no wave-1 agent owns and no glob covers: the checkpoint gate will list it.\n"
        f"{_toml_str(STRAY_AGENT)} = {_toml_list(list(STRAY_ARGS))}\n\n"
        "[tests]\n"
        "# Shell commands, run with sh -c from the repository root between waves.\n"
        f"commands = {_toml_list(tests)}\n"
        "timeout_s = 120\n\n"
        "[policy]\n"
        "# Agents write tests and lockfiles the plan does not list: accept them without asking.\n"
        "# Each accepted path is named, with the glob, in a Wavedeck-Accepted trailer of the\n"
        "# checkpoint. daemon.py under cli/ matches no glob, so the gate still stops on it.\n"
        f"accept = {_toml_list(list(ACCEPT_GLOBS))}\n"
    )


def _check_script(paths: list[str]) -> str:
    return (
        '"""Sandbox test: every declared file exists and every Python file parses."""\n\n'
        "import ast\n"
        "import sys\n"
        "from pathlib import Path\n\n"
        f"PATHS = {json.dumps(paths, indent=4)}\n\n"
        "missing = [p for p in PATHS if not Path(p).is_file()]\n"
        "for p in PATHS:\n"
        "    if p.endswith('.py') and Path(p).is_file():\n"
        "        ast.parse(Path(p).read_text(encoding='utf-8'), p)\n"
        "if missing:\n"
        "    print('missing:', *missing)\n"
        "    sys.exit(1)\n"
        "print(f'{len(PATHS)} files present')\n"
    )


def _git(root: Path, *args: str) -> None:
    try:
        # No lock: the sandbox is being made (there is no repository before ``git init``).
        run_git(root, args, read_only=False, lock=False)
    except GitError as exc:
        raise DemoError(str(exc)) from None


def make_sandbox(folder: Path, *, fast: bool = False) -> Path:
    """Create the sandbox in ``folder`` (missing or empty) and return its absolute path.

    Raises ``DemoError`` naming the folder when it is not empty or cannot be written.
    """
    folder = folder.expanduser().absolute()
    try:
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise DemoError(f"{folder} exists and is not empty: give a new or empty folder")
        return _fill(folder, fast)
    except OSError as exc:
        where = exc.filename or folder
        raise DemoError(f"{where}: cannot create the sandbox: {exc.strerror or exc}") from None


def _fill(folder: Path, fast: bool) -> Path:
    from wavedeck.plan.reading.loader import (
        load_plan,  # the parser; imported here to keep startup light
    )

    text = bundled_plan_text()
    folder.mkdir(parents=True, exist_ok=True)
    plan_file = folder / PLAN_IN_SANDBOX
    plan_file.parent.mkdir(parents=True, exist_ok=True)
    plan_file.write_text(text, encoding="utf-8")
    plan = load_plan(plan_file).plan
    declared = sorted({p for agent in plan.agents for p in agent.paths})
    for path in sorted({*declared, *EXTRA_FILES}):
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_content(path), encoding="utf-8")
    (folder / "tests").mkdir(exist_ok=True)
    (folder / "tests" / "check_sandbox.py").write_text(_check_script(declared), encoding="utf-8")
    (folder / "wavedeck.toml").write_text(_config_text(fast), encoding="utf-8")
    (folder / ".gitignore").write_text("__pycache__/\n*.pyc\n", encoding="utf-8")
    (folder / "README.md").write_text(
        "# wavedeck demo sandbox\n\nRun `wavedeck` here, or every wave headless with\n"
        "`wavedeck run --headless --all --yes --accept-violations` (wave 1 writes one file\n"
        "outside the plan on purpose; the flag accepts it, recorded in the checkpoint).\n",
        encoding="utf-8",
    )
    _git(folder, "init", "-q", "-b", "main")
    _git(folder, "config", "user.name", "wavedeck demo")
    _git(folder, "config", "user.email", "demo@wavedeck.invalid")
    _git(folder, "config", "commit.gpgsign", "false")
    _git(folder, "add", "--", ".")
    _git(folder, "commit", "-q", "-m", "Demo sandbox: the repository the reference plan works on")
    exclude = folder / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    with exclude.open("a", encoding="utf-8") as fh:
        fh.write("\n.wavedeck/\n")
    return folder
