"""What wavedeck's git commands may run: no program a git configuration names, unless the
operator enabled it in ``wavedeck.toml``.

An agent can write ``.git/config`` (and, running as the operator, ``~/.gitconfig``): a
``filter.<name>.clean`` plus a ``.gitattributes`` line naming it makes git run a program on the
next ``git diff`` or ``git add``; so do ``core.fsmonitor``, hooks, ``diff.<name>.textconv``,
``merge.<name>.driver``, ``gpg.program``, pagers, editors, credential helpers and transports.
``GitCmd`` (``wavedeck.agents.git.cmd``, the one git runner) asks this module, for every command:

- ``STATIC_OVERRIDES``: ``-c`` settings for the keys git has one of (hooks, fsmonitor, pager,
  transports, auto-gc, submodule recursion, signature display); ``-c`` is read last, so it wins
  over every configuration file;
- ``ENVIRONMENT``: variables that stop git from prompting or starting an editor, pager or
  askpass program;
- ``driver_overrides``: one ``-c`` per key of every filter, diff and merge driver that *any*
  configuration scope defines (system, global, XDG, repository, worktree, included files), read
  by ``git config --list`` (which runs nothing) immediately before the command. A driver's
  program is set empty, which git treats as "no driver": a ``filter=`` attribute whose driver
  has no program converts nothing, and ``required`` is set false so that is not an error. The
  filters the operator enabled (``[git.filters.NAME]``) get the programs written in
  ``wavedeck.toml`` instead, never the ones in git's configuration;
- ``diff_flags``: ``--no-ext-diff --no-textconv`` added to every command that can produce a
  patch, so no external diff or text conversion program runs whatever the configuration says.

``safe_environment`` assembles one command's environment from these; ``set_policy`` /
``policy_for`` keep each repository's opt-ins for every runner in the process. Signing
(``wavedeck.agents.git.signing``) pins the signer the same way. The configuration is
read again before each command, so a driver planted during a wave is neutralised from the next
command on; a configuration rewritten in the few milliseconds between that reading and git's
own is the one window left, and the wave's tamper check still reports the change.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from wavedeck.plan.errors import WavedeckError

# Settings git has one of, each pinned to a value that runs nothing.
STATIC_OVERRIDES: tuple[tuple[str, str], ...] = (
    ("core.hooksPath", "/dev/null"),  # hooks (opted-in hooks get their pinned folder instead)
    ("core.fsmonitor", "false"),  # runs a program even for a plain status
    ("core.pager", "cat"),
    ("core.editor", ":"),
    ("sequence.editor", ":"),
    ("core.askPass", ""),
    ("core.sshCommand", ""),
    ("core.alternateRefsCommand", ""),
    ("credential.helper", ""),  # an empty value empties the list of helpers
    ("diff.external", ""),
    ("protocol.allow", "never"),  # no transport at all: ssh commands, proxies, remote helpers
    ("log.showSignature", "false"),  # would run gpg to verify
    ("gc.auto", "0"),  # no automatic gc or maintenance in the middle of wavedeck's commands
    ("maintenance.auto", "false"),
    ("submodule.recurse", "false"),  # a submodule's own configuration is not read by our reading
    ("diff.ignoreSubmodules", "dirty"),  # ...nor run by a status inside it
    ("uploadpack.packObjectsHook", ""),
)

# Variables that win over the configuration (GIT_EDITOR over core.editor...): set to values
# that run nothing. An empty GIT_ASKPASS means "no askpass", not "ask the configuration".
ENVIRONMENT: dict[str, str] = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "GIT_EDITOR": ":",
    "GIT_SEQUENCE_EDITOR": ":",
    "GIT_ASKPASS": "",
    "SSH_ASKPASS": "",
}

# Commands that can print a patch and so could run an external diff or a textconv program.
DIFF_COMMANDS = frozenset(
    {"diff", "diff-tree", "diff-index", "diff-files", "log", "show", "format-patch", "whatchanged"}
)
DIFF_FLAGS = ("--no-ext-diff", "--no-textconv")

# The configuration keys that read with ``git config --list`` name a driver's program, by
# section: the driver's name is the subsection (any characters but newline).
_DRIVER = re.compile(r"^(filter|diff|merge|hook)\.(.+)\.([^.]+)$", re.DOTALL)
_DRIVER_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "filter": (("clean", ""), ("smudge", ""), ("process", ""), ("required", "false")),
    "diff": (("textconv", ""), ("command", "")),
    "merge": (("driver", ""),),
    "hook": (("command", ""),),  # config-defined hooks (newer git)
}
# Credential helpers per URL (``credential.https://host.helper``): the list is emptied too.
_CREDENTIAL = re.compile(r"^credential\.(.+)\.helper$", re.DOTALL)


@dataclass(frozen=True)
class FilterDriver:
    """A filter driver the operator enabled in ``wavedeck.toml``: the programs wavedeck runs
    for it (empty: none), whatever git's configuration says for that name."""

    clean: str = ""
    smudge: str = ""
    process: str = ""
    required: bool = False


@dataclass(frozen=True)
class RunPolicy:
    """What the operator enabled for one repository: filter drivers by name (the only
    programs a git configuration can make wavedeck's git run, besides hooks and the signer,
    which have their own settings)."""

    filters: Mapping[str, FilterDriver] = field(default_factory=dict)


NO_PROGRAMS = RunPolicy()


@dataclass(frozen=True)
class Drivers:
    """The drivers git's configuration defines, as read by ``git config --list``."""

    filters: frozenset[str] = frozenset()
    diffs: frozenset[str] = frozenset()
    merges: frozenset[str] = frozenset()
    hooks: frozenset[str] = frozenset()
    credentials: frozenset[str] = frozenset()  # URLs with their own helper
    processes: frozenset[str] = frozenset()  # filters with a ``process`` program

    @property
    def any(self) -> bool:
        return bool(self.filters or self.diffs or self.merges or self.hooks or self.credentials)


def parse_drivers(listing: bytes) -> Drivers:
    """The drivers named in ``git config --list -z`` output (``key\\nvalue\\0`` records)."""
    found: dict[str, set[str]] = {"filter": set(), "diff": set(), "merge": set(), "hook": set()}
    credentials: set[str] = set()
    processes: set[str] = set()
    for record in listing.split(b"\0"):
        if not record:
            continue
        key = record.partition(b"\n")[0].decode("utf-8", "surrogateescape")
        match = _DRIVER.match(key)
        if match is not None:
            section, name = match.group(1).lower(), match.group(2)
            found[section].add(name)
            if section == "filter" and match.group(3).lower() == "process":
                processes.add(name)
            continue
        credential = _CREDENTIAL.match(key)
        if credential is not None:
            credentials.add(credential.group(1))
    return Drivers(
        frozenset(found["filter"]),
        frozenset(found["diff"]),
        frozenset(found["merge"]),
        frozenset(found["hook"]),
        frozenset(credentials),
        frozenset(processes),
    )


def neutralised(drivers: Drivers, policy: RunPolicy | None) -> list[str]:
    """The filter drivers ``drivers`` defines that ``policy`` does not enable, sorted: wavedeck's
    git does not run them, so files using them look changed to it."""
    enabled = policy.filters if policy is not None else {}
    return sorted(name for name in drivers.filters if name not in enabled)


class DriverConflict(WavedeckError, ValueError):
    """An enabled filter whose ``process`` git's configuration sets and ``wavedeck.toml`` does
    not: git prefers ``process`` to ``clean``/``smudge``, and emptying it turns the whole
    filter off, so wavedeck cannot run the operator's programs without the planted one."""


def driver_overrides(drivers: Drivers, policy: RunPolicy) -> list[tuple[str, str]]:
    """Settings neutralising every driver found; the enabled filters get the operator's
    programs (pinned even when git's configuration does not name them)."""
    out: list[tuple[str, str]] = []
    for name in sorted(drivers.filters | policy.filters.keys()):
        enabled = policy.filters.get(name)
        if enabled is None:
            out += [(f"filter.{name}.{key}", value) for key, value in _DRIVER_KEYS["filter"]]
        else:
            if not enabled.process and name in drivers.processes:
                raise DriverConflict(
                    f"filter.{name}.process is set in git's configuration but [git.filters."
                    f"{name}] in wavedeck.toml names no process: wavedeck runs neither. Remove "
                    f"it (git config --unset filter.{name}.process; an agent may have planted "
                    "it) or write the process program in wavedeck.toml"
                )
            out += [
                (f"filter.{name}.clean", enabled.clean),
                (f"filter.{name}.smudge", enabled.smudge),
                (f"filter.{name}.required", "true" if enabled.required else "false"),
            ]
            if enabled.process:  # an empty process would turn clean and smudge off too
                out.append((f"filter.{name}.process", enabled.process))
    for section, names in (("diff", drivers.diffs), ("merge", drivers.merges)):
        for name in sorted(names):
            out += [(f"{section}.{name}.{key}", value) for key, value in _DRIVER_KEYS[section]]
    out += [(f"hook.{name}.command", "") for name in sorted(drivers.hooks)]
    out += [(f"credential.{url}.helper", "") for url in sorted(drivers.credentials)]
    return out


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def config_parameters(settings: Sequence[tuple[str, str]], inherited: str | None) -> str:
    """The ``GIT_CONFIG_PARAMETERS`` value holding ``settings`` after ``inherited`` (the
    variable's value in wavedeck's own environment, if any), so that ours are read last.

    The ``'key'='value'`` form keeps a driver named ``a=b`` whole, where ``-c filter.a=b.clean=``
    would be read as the key ``filter.a`` (and leave the driver running).
    """
    ours = " ".join(_entry(key, value) for key, value in settings)
    return f"{inherited} {ours}" if inherited else ours


def _entry(key: str, value: str) -> str:
    # 'key=value' is read by every git; 'key'='value' (git 2.31+) only where the key holds an
    # '=' of its own (an older git then refuses the command, which is what must happen).
    if "=" in key:
        return f"{_quoted(key)}={_quoted(value)}"
    return _quoted(f"{key}={value}")


def subcommand_index(args: Sequence[str]) -> int | None:
    """Where the subcommand is in ``args`` (after ``-c key=value`` pairs and other global
    options), or None."""
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
        elif arg in ("-c", "-C"):
            skip = True
        elif not arg.startswith("-"):
            return i
    return None


def with_diff_flags(args: Sequence[str]) -> list[str]:
    """``args`` with ``--no-ext-diff --no-textconv`` after a patch-producing subcommand."""
    out = list(args)
    at = subcommand_index(out)
    if at is None or out[at] not in DIFF_COMMANDS:
        return out
    missing = [flag for flag in DIFF_FLAGS if flag not in out]
    out[at + 1 : at + 1] = missing
    return out


def _sh(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def shell_function(name: str = "wdgit") -> str:
    """A POSIX shell function ``name`` that runs ``git "$@"`` on an SSH host with the same
    guard: the static settings, and every driver the host's git configuration defines emptied
    (read with ``git config --name-only``, which runs nothing, just before the command). Needs
    only ``sed`` and ``sort`` besides git (a driver whose name holds '=' needs git 2.31)."""
    static = " ".join(_entry(key, value) for key, value in STATIC_OVERRIDES)
    env = " ".join(f"{var}={_sh(value)}" for var, value in ENVIRONMENT.items())
    per_driver = "\n".join(
        f"      {section}.*) printf '%s\\n' "
        + " ".join(f'"$_d.{key}={value}"' for key, value in keys)
        + " ;;"
        for section, keys in _DRIVER_KEYS.items()
    )
    return (
        f"{name}() {{\n"
        "  _wdp=$(git --no-pager -c core.fsmonitor=false config --name-only --get-regexp "
        "'^(filter|diff|merge|hook)[.].*[.][^.]*$' 2>/dev/null | sed -e 's/[.][^.]*$//' "
        "| sort -u | while IFS= read -r _d; do\n"
        '    case "$_d" in\n'
        f"{per_driver}\n"
        "    esac\n"
        # Values hold no '=' or quote: a line with one '=' is 'key=value' (any git), one with
        # more has a key holding '=': 'key'='value' (git 2.31+).
        "  done | sed -e \"s/'/'\\\\\\\\''/g\" "
        "-e \"/=.*=/s/^\\(.*\\)=\\([^=]*\\)\\$/'\\1'='\\2'/\" "
        "-e \"/=.*=/!s/^\\(.*\\)\\$/'\\1'/\" | tr '\\n' ' ')\n"
        f'  GIT_CONFIG_PARAMETERS="{static} $_wdp" {env} git --no-pager "$@"\n'
        "}\n"
    )


# What every git command's environment starts from: the variables above, and literal
# pathspecs (a file named ``:(exclude)x`` is that file, not "everything but x").
BASE_ENV = {**ENVIRONMENT, "GIT_LITERAL_PATHSPECS": "1"}


# The operator's opt-ins (``[git.filters]``) per repository, by the same key as the locks: a
# ``GitRepo`` made from the configuration registers them, so ``run_git`` in that repository
# (worktrees, audits) runs the same filters and no others.
_POLICIES: dict[str, RunPolicy] = {}
_POLICIES_GUARD = threading.Lock()


def set_policy(key: str, policy: RunPolicy) -> None:
    """Use ``policy`` for every git command in the repository ``key`` (its common git dir)."""
    with _POLICIES_GUARD:
        _POLICIES[key] = policy


def policy_for(key: str) -> RunPolicy:
    """The policy registered for the repository ``key``; none enabled by default."""
    with _POLICIES_GUARD:
        return _POLICIES.get(key, NO_PROGRAMS)


def _settings(drivers: Drivers, policy: RunPolicy, *, hooks: bool) -> list[tuple[str, str]]:
    static = [kv for kv in STATIC_OVERRIDES if not (hooks and kv[0] == "core.hooksPath")]
    return static + driver_overrides(drivers, policy)


def safe_environment(
    drivers: Drivers,
    policy: RunPolicy,
    *,
    read_only: bool,
    hooks: bool = False,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of one git command: ``BASE_ENV``, the guard's settings as
    ``GIT_CONFIG_PARAMETERS`` (after any the operator's environment holds), ``extra``."""
    env = dict(BASE_ENV)
    if read_only:
        env["GIT_OPTIONAL_LOCKS"] = "0"
    env["GIT_CONFIG_PARAMETERS"] = config_parameters(
        _settings(drivers, policy, hooks=hooks), os.environ.get("GIT_CONFIG_PARAMETERS")
    )
    if extra:
        env.update(extra)
    return env
