"""Programs an agent could plant for git to run, in every place git reads them (issue #20).

``plant_everything`` writes, for each configuration scope (the repository's ``.git/config``, a
file it includes, the user's ``~/.gitconfig`` and ``$XDG_CONFIG_HOME/git/config``), one driver
of each kind (clean, smudge and process filters, a filter named ``a=b``, textconv, a per-driver
diff command, a merge driver) with attributes naming them (``.gitattributes``,
``.git/info/attributes``, the XDG attributes file), plus every program-running setting git has
one of (fsmonitor, hooks folder, pager, editors, ssh command, askpass, credential helpers,
external diff, signer programs). Every planted program appends its label to one marker file:
``ran()`` lists what ran.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SCOPES = ("repo", "include", "global", "xdg")
# Which tracked file each scope's drivers apply to (one filter per file: git keeps one).
FILES = {"repo": "f-repo.txt", "include": "f-include.txt", "global": "f-global.txt"}
FILES["xdg"] = "f-xdg.txt"
SINGLE_KEYS = (  # (section header, key)
    ("core", "fsmonitor"),
    ("core", "pager"),
    ("core", "editor"),
    ("sequence", "editor"),
    ("core", "sshCommand"),
    ("core", "askPass"),
    ("core", "gitProxy"),
    ("core", "alternateRefsCommand"),
    ("credential", "helper"),
    ("diff", "external"),
    ("gpg", "program"),
    ('gpg "openpgp"', "program"),
    ('gpg "ssh"', "program"),
    ('gpg "x509"', "program"),
    ('gpg "ssh"', "defaultKeyCommand"),
    ("uploadpack", "packObjectsHook"),
)
HOOKS = ("pre-commit", "commit-msg", "post-commit", "post-checkout", "post-index-change")
HOOKS += ("reference-transaction", "pre-auto-gc", "post-rewrite", "prepare-commit-msg")


@dataclass(frozen=True)
class Planted:
    """Where the plants are and how to see whether any ran."""

    marker: Path
    home: Path
    xdg: Path

    def ran(self) -> list[str]:
        try:
            return sorted(set(self.marker.read_text().split()))
        except FileNotFoundError:
            return []


def _program(folder: Path, label: str, marker: Path) -> Path:
    script = folder / f"prog-{label.replace('=', '_')}.sh"
    # Filters must pass content through for git to carry on; the label is all that matters.
    script.write_text(f"#!/bin/sh\necho '{label}' >> '{marker}'\ncat\n")
    script.chmod(0o755)
    return script


def _section(lines: list[str], header: str, entries: dict[str, str]) -> None:
    lines.append(header)
    lines += [f"\t{key} = {value}" for key, value in entries.items()]


def _config_text(scope: str, folder: Path, marker: Path, hooks: Path) -> str:
    lines: list[str] = []

    def prog(kind: str) -> str:
        return f'"{_program(folder, f"{kind}@{scope}", marker)}"'

    _section(lines, f'[filter "clean{scope}"]', {"clean": prog("clean"), "required": "true"})
    _section(lines, f'[filter "smudge{scope}"]', {"smudge": prog("smudge")})
    _section(lines, f'[filter "process{scope}"]', {"process": prog("process")})
    _section(lines, f'[filter "a=b{scope}"]', {"clean": prog("clean-a=b")})
    _section(lines, f'[diff "textconv{scope}"]', {"textconv": prog("textconv")})
    _section(lines, f'[diff "command{scope}"]', {"command": prog("diff-command")})
    _section(lines, f'[merge "driver{scope}"]', {"driver": prog("merge-driver")})
    _section(lines, '[credential "https://example.com"]', {"helper": prog("credential-url")})
    _section(lines, "[pager]", {"diff": prog("pager-diff"), "log": prog("pager-log")})
    for section, key in SINGLE_KEYS:
        label = f"{section.replace(' ', '.').replace(chr(34), '')}.{key}"
        lines.append(f"[{section}]")
        lines.append(f"\t{key} = {prog(label)}")
    lines.append("[core]")
    lines.append(f"\thooksPath = {hooks}")
    return "\n".join(lines) + "\n"


def _attributes(scope: str) -> str:
    name = FILES[scope]
    # A file keeps one filter: the others go on files of their own.
    return (
        f"{name} filter=clean{scope} merge=driver{scope}\n"
        f"smudge-{name} filter=smudge{scope} diff=command{scope}\n"
        f"process-{name} filter=process{scope}\n"
        f"ab-{name} filter=a=b{scope} diff=textconv{scope}\n"
    )


def tracked_files() -> list[str]:
    """Every file the attributes name (the test commits them, then an agent changes them)."""
    out = []
    for scope in SCOPES:
        name = FILES[scope]
        out += [name, f"smudge-{name}", f"process-{name}", f"ab-{name}"]
    return out


def plant_everything(root: Path, tmp: Path) -> Planted:
    """Plant every kind in every scope of the repository at ``root`` (see the module
    docstring); the caller points ``HOME``/``XDG_CONFIG_HOME`` at ``planted.home``/``.xdg``."""
    marker = tmp / "planted-ran"
    folder = tmp / "planted"
    folder.mkdir(exist_ok=True)
    hooks = folder / "hooks"
    hooks.mkdir(exist_ok=True)
    for name in (*HOOKS, "fsmonitor-watchman"):
        hook = hooks / name
        hook.write_text(f"#!/bin/sh\necho 'hook-{name}' >> '{marker}'\n")
        hook.chmod(0o755)
        repo_hook = root / ".git" / "hooks" / name
        repo_hook.parent.mkdir(parents=True, exist_ok=True)
        repo_hook.write_text(f"#!/bin/sh\necho 'repo-hook-{name}' >> '{marker}'\n")
        repo_hook.chmod(0o755)
    home = tmp / "home"
    xdg = tmp / "xdg"
    (xdg / "git").mkdir(parents=True, exist_ok=True)
    home.mkdir(exist_ok=True)
    (home / ".gitconfig").write_text(_config_text("global", folder, marker, hooks))
    (xdg / "git" / "config").write_text(_config_text("xdg", folder, marker, hooks))
    (xdg / "git" / "attributes").write_text(_attributes("xdg"))
    include = tmp / "included.gitconfig"
    include.write_text(_config_text("include", folder, marker, hooks))
    with (root / ".git" / "config").open("a") as fh:
        fh.write(_config_text("repo", folder, marker, hooks))
        fh.write(f"[include]\n\tpath = {include}\n")
    info = root / ".git" / "info"
    info.mkdir(exist_ok=True)
    (info / "attributes").write_text(_attributes("global"))
    gitattributes = root / ".gitattributes"
    with gitattributes.open("a") as fh:
        fh.write(_attributes("repo") + _attributes("include"))
    return Planted(marker, home, xdg)


def planted_environment(planted: Planted) -> dict[str, str]:
    """The variables under which git reads the planted user configuration."""
    return {
        "HOME": str(planted.home),
        "XDG_CONFIG_HOME": str(planted.xdg),
        **{k: v for k, v in os.environ.items() if k == "PATH"},
    }
