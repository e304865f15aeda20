"""Remote shell commands built only from validated, quoted tokens.

Every command wavedeck sends to an SSH host goes through this module. An SSH "command" is one
string that the remote *login shell* interprets, whatever that shell is (bash, zsh, fish, csh).
So each command is a small POSIX ``sh`` script whose every variable part is a token quoted with
``shlex.quote`` (or ``shlex.join``), and the whole script is wrapped as ``sh -c '<script>'`` with
the script itself single-quoted: the login shell only ever sees ``sh``, ``-c`` and one quoted word.

Tokens may contain anything but NUL (it cannot cross ``execve``); environment names must match
``[A-Za-z_][A-Za-z0-9_]*``. Prompts never travel in argv: they go over the channel's stdin.

Layout on the host, under ``<workdir>/.wavedeck/`` (excluded from git there):
``logs/<id>.log`` (every run's output, appended), ``run/<id>.pid`` (``PID START``),
``run/<id>.exit`` (``rc N``),
``run/<id>.launch`` (the launch id the control room recorded, written before the agent starts),
``prompts/<id>.md`` and ``worktrees/<id>`` (the agent's own git worktree at the base commit).

Also here, because they are the other side of these commands: the mapping of local paths (the
prompt file, the working tree) to their places on the host (``host_forms``, ``translate_paths``).
The script that streams an agent's log, built on these, is ``wavedeck.agents.remote.tailscript``'s.
"""

from __future__ import annotations

import contextlib
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from wavedeck.agents.config import ENV_NAME_RE
from wavedeck.agents.runtypes import LaunchSpec
from wavedeck.plan.errors import WavedeckError

AGENT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
GIT_SHA_RE = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
LAUNCH_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")


class CommandError(WavedeckError, ValueError):
    """A token or name that cannot be put safely into a remote command."""


def check_token(token: str, what: str = "argument") -> str:
    """Return ``token`` if it can be passed through a shell word byte-exact (no NUL)."""
    if "\0" in token:
        raise CommandError(f"{what} contains a NUL byte: {token!r}")
    return token


def check_env_name(name: str) -> str:
    if not ENV_NAME_RE.match(name):
        raise CommandError(f"invalid environment variable name {name!r}")
    return name


def check_agent_id(agent_id: str) -> str:
    if not AGENT_ID_RE.match(agent_id):
        raise CommandError(f"invalid agent id {agent_id!r} (expected [a-z0-9-])")
    return agent_id


def check_launch_id(launch_id: str) -> str:
    if not LAUNCH_ID_RE.match(launch_id):
        raise CommandError(f"invalid launch id {launch_id!r} (expected [A-Za-z0-9-])")
    return launch_id


def check_sha(sha: str) -> str:
    if not GIT_SHA_RE.match(sha):
        raise CommandError(f"not a full commit id: {sha!r}")
    return sha


def quote(token: str) -> str:
    return shlex.quote(check_token(token))


def join(argv: Sequence[str]) -> str:
    """``shlex.join`` after checking every token."""
    if not argv:
        raise CommandError("empty command")
    return shlex.join([check_token(a) for a in argv])


def sh_c(script: str) -> str:
    """Wrap a POSIX sh script as ``sh -c '<script>'`` (always single-quoted, see module doc)."""
    check_token(script, "script")
    return "sh -c '" + script.replace("'", "'\"'\"'") + "'"


def workdir_word(workdir: str) -> str:
    """A shell word for the host workdir. ``~/x`` becomes ``"$HOME"/x`` (quoting stops ``~``)."""
    check_token(workdir, "workdir")
    if workdir == "~":
        return '"$HOME"'
    if workdir.startswith("~/"):
        return '"$HOME"/' + shlex.quote(workdir[2:])
    return shlex.quote(workdir)


# Host-side values a local path may stand for (the prompt file, the agent's worktree).
HOST_EXPRS = frozenset({'"$prompt"', '"$wt"'})


def exports(env: Mapping[str, str], exprs: Mapping[str, str] | None = None) -> str:
    """``export NAME='value'`` lines; values arrive byte-exact, names are validated.

    ``exprs`` maps a name to one of ``HOST_EXPRS`` instead (a path that differs on the host).
    """
    exprs = exprs or {}
    lines = []
    for name, value in sorted(env.items()):
        expr = exprs.get(name)
        if expr is not None and expr not in HOST_EXPRS:
            raise CommandError(f"not a host expression: {expr!r}")
        lines.append(f"export {check_env_name(name)}={expr or quote(value)}\n")
    return "".join(lines)


@dataclass(frozen=True)
class RemotePaths:
    """Shell expressions for one agent's files on the host (all under ``$root``)."""

    agent_id: str
    workdir: str

    def prelude(self) -> str:
        """Sets ``$wd``, ``$root``, ``$log``, ``$ex``, ``$pidf``, ``$launchf``, ``$prompt``,
        ``$wt``, ``$applied``."""
        aid = check_agent_id(self.agent_id)
        return (
            f"wd={workdir_word(self.workdir)}\n"
            'root="$wd/.wavedeck"\n'
            f'log="$root/logs/{aid}.log"\n'
            f'ex="$root/run/{aid}.exit"\n'
            f'pidf="$root/run/{aid}.pid"\n'
            f'launchf="$root/run/{aid}.launch"\n'
            f'prompt="$root/prompts/{aid}.md"\n'
            f'wt="$root/worktrees/{aid}"\n'
            f'applied="$root/run/{aid}.applied"\n'
        )

    @property
    def log(self) -> str:
        return f"{self.workdir}/.wavedeck/logs/{self.agent_id}.log"

    @property
    def exit(self) -> str:
        return f"{self.workdir}/.wavedeck/run/{self.agent_id}.exit"


# Prints the start time (field 22 of /proc/PID/stat) of pid $1, or nothing when it is gone.
# ``running`` prints it only for a process that has not ended: an ended wrapper stays a zombie
# until its parent reaps it, and its parent is the host's PID 1 (setsid, the launch shell gone),
# which in a container may reap late or never; ``kill -0`` and ``tail --pid`` take a zombie for
# alive. Builtins only (``running`` is polled). ``stop_script`` keeps ``starttime``: a zombie
# leader's group may still hold live processes the agent left behind, which a stop must reach.
START_FN = """starttime() { [ -r "/proc/$1/stat" ] && sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }
running() { { read -r s < "/proc/$1/stat"; } 2>/dev/null || return 0; s=${s##*) }
  case $s in Z*|X*|x*) return 0;; esac; set -- $s; shift 19; echo "$1"; }
"""

# The wrapper every remote agent runs under, as the leader of its own session (setsid), so
# pid == pgid. It records "PID START", waits for the agent and records "rc N" atomically. A TERM
# to the group reaches the agent; the wrapper's no-op trap keeps it alive to record the status.
WRAPPER = (
    START_FN
    + """pidf=$1; ex=$2; input=$3; shift 3
st=$(starttime $$)
echo "$$ $st" > "$pidf.tmp" && mv -f "$pidf.tmp" "$pidf"
trap : TERM INT HUP
exec 3>&2 2>/dev/null  # the agent's stderr is the log; the shell's own job reports are not
"$@" < "$input" 2>&3 3>&- &
child=$!
while :; do wait "$child"; rc=$?; kill -0 "$child" 2>/dev/null || break; done
echo "rc $rc" > "$ex.tmp" && mv -f "$ex.tmp" "$ex"
"""
)


def launch_script(
    paths: RemotePaths,
    argv: Sequence[str],
    env: Mapping[str, str],
    with_prompt: bool,
    prepare: str = "",
    store_prompt: bool = False,
    argv_exprs: Mapping[int, str] | None = None,
    env_exprs: Mapping[str, str] | None = None,
    launch_id: str = "",
) -> str:
    """Start the agent detached unless a live copy already runs; prints ``started|running PID ST``.

    ``prepare`` (shell, run only when starting) readies the worktree ``$wt`` the agent runs in.
    With ``store_prompt`` (or ``with_prompt``) the channel's stdin is stored as the prompt file;
    ``with_prompt`` makes it the agent's stdin (else ``/dev/null``). ``argv_exprs`` and
    ``env_exprs`` replace arguments (by index) and variables (by name) with ``"$prompt"`` or
    ``"$wt"``: local paths that have a different place on the host. ``launch_id`` (the id the
    control room recorded) is written to ``$launchf`` before the agent starts: a control room
    killed before recording the handle finds the run by it (``found_script``).
    """
    argv_exprs = argv_exprs or {}
    if any(e not in HOST_EXPRS for e in argv_exprs.values()):
        raise CommandError("not a host expression")
    stdin = '"$prompt"' if with_prompt else "/dev/null"
    words = [argv_exprs.get(i) or quote(a) for i, a in enumerate(argv)]
    if not words:
        raise CommandError("empty command")
    store = (
        'mkdir -p "$root/prompts" && cat > "$prompt.tmp" && mv -f "$prompt.tmp" "$prompt" || exit 3\n'
        if with_prompt or store_prompt
        else ""
    )
    return (
        paths.prelude()
        + START_FN
        + 'mkdir -p "$root/logs" "$root/run" || exit 3\n'
        + 'if [ -s "$pidf" ]; then read pid st < "$pidf"\n'
        + '  if [ -n "$pid" ] && [ "$(running "$pid")" = "$st" ]; then cat >/dev/null; echo "running $pid $st"; exit 0; fi\n'
        + "fi\n"
        + prepare
        + store
        # Appended to, never emptied (as the local wrapper does): a relaunch's output follows
        # the last run's, so the offset the control room consumed to stays right for it.
        + 'rm -f "$ex" "$pidf" "$applied" "$launchf"; : >> "$log" || exit 3\n'
        + (
            f'echo {quote(check_launch_id(launch_id))} > "$launchf.tmp"'
            ' && mv -f "$launchf.tmp" "$launchf" || exit 3\n'
            if launch_id
            else ""
        )
        + 'cd "$wt" || exit 3\n'
        + exports(env, env_exprs)
        + f'setsid sh -c {quote(WRAPPER)} wavedeck-wrap "$pidf" "$ex" {stdin} {" ".join(words)}'
        + ' </dev/null >>"$log" 2>&1 &\n'
        + 'i=0; while [ ! -s "$pidf" ]; do i=$((i+1)); [ "$i" -gt 1000 ] && { echo "the agent did not start" >&2; exit 4; }; sleep 0.01; done\n'
        + 'read pid st < "$pidf"; echo "started $pid $st"\n'
    )


def found_script(paths: RemotePaths, launch_id: str) -> str:
    """The run launched as ``launch_id``: prints ``running PID ST`` (its wrapper lives),
    ``ended PID ST`` (its exit file is there) or ``none`` (another launch's files, or none).
    A launch recorded whose wrapper has not written its pid file yet is waited for (as
    ``launch_script`` waits), so a run being started is never taken for one that never was."""
    lid = quote(check_launch_id(launch_id))
    return (
        paths.prelude()
        + START_FN
        + f'[ -f "$launchf" ] && [ "$(cat "$launchf")" = {lid} ] || {{ echo none; exit 0; }}\n'
        + 'i=0; while [ ! -s "$pidf" ]; do i=$((i+1)); [ "$i" -gt 1000 ] && { echo none; exit 0; }; sleep 0.01; done\n'
        + 'read pid st < "$pidf"\n'
        + 'if [ -n "$pid" ] && [ "$(running "$pid")" = "$st" ]; then echo "running $pid $st"\n'
        + 'elif [ -f "$ex" ]; then echo "ended $pid $st"\n'
        + "else echo none; fi\n"
    )


def log_size_script(paths: RemotePaths) -> str:
    """Prints the size in bytes of the agent's log (0 when there is none)."""
    return paths.prelude() + '[ -f "$log" ] && wc -c < "$log" || echo 0\n'


def status_script(paths: RemotePaths, pid: int, start_time: int) -> str:
    """Prints ``alive`` or ``dead``, then the exit file's line if there is one."""
    return (
        paths.prelude()
        + START_FN
        + f'if [ "$(running {int(pid)})" = "{int(start_time)}" ]; then echo alive; else echo dead; fi\n'
        + '[ -f "$ex" ] && cat "$ex"; exit 0\n'
    )


def stop_script(paths: RemotePaths, pgid: int, start_time: int, grace_s: float) -> str:
    """TERM the group, KILL it after ``grace_s``; prints ``not running``, ``terminated`` or
    ``killed``. Never signals a group whose leader's start time differs (pid reuse)."""
    ticks = max(1, round(grace_s * 20))
    pg = int(pgid)
    return (
        paths.prelude()
        + START_FN
        + f'if [ "$(starttime {pg})" != "{int(start_time)}" ]; then echo "not running"; exit 0; fi\n'
        + f"kill -s TERM -- -{pg} 2>/dev/null || {{ echo 'not running'; exit 0; }}\n"
        + f'i=0; while kill -s 0 -- -{pg} 2>/dev/null && [ "$i" -lt {ticks} ]; do i=$((i+1)); sleep 0.05; done\n'
        + f"if kill -s 0 -- -{pg} 2>/dev/null; then kill -s KILL -- -{pg} 2>/dev/null\n"
        + f'  i=0; while kill -s 0 -- -{pg} 2>/dev/null && [ "$i" -lt 100 ]; do i=$((i+1)); sleep 0.02; done\n'
        + '  [ -f "$ex" ] || { echo "rc 137" > "$ex.tmp" && mv -f "$ex.tmp" "$ex"; }\n'
        + "  echo killed; else echo terminated; fi\n"
    )


# -- local paths that live elsewhere on the host ------------------------------------------


def host_forms(path: Path, cwd: Path | None) -> set[str]:
    """The spellings of a local path an argv or env value may use (as given, absolute, relative)."""
    forms = {str(path), str(path.absolute()), str(path.resolve())}
    if cwd is not None:
        with contextlib.suppress(ValueError):
            forms.add(str(path.resolve().relative_to(cwd.resolve())))
    return forms


def translate_paths(text: bytes, local: Path, remote: str) -> bytes:
    """``text`` with each whole mention of the local tree's path replaced by ``remote``."""
    for form in sorted(host_forms(local, None), key=len, reverse=True):
        pattern = re.escape(form.encode()) + rb"(?=[/\s\"'`),;:]|$)"
        text = re.sub(pattern, remote.encode().replace(b"\\", b"\\\\"), text, flags=re.M)
    return text


def local_prompt_file(spec: LaunchSpec) -> Path | None:
    """The agent's prompt file when the argv or env names it (prompt given as ``{prompt_file}``):
    ``WAVEDECK_PROMPT_FILE``, an argument ending in ``.wavedeck/prompts/<id>.md``, or that file
    under the working tree."""
    suffix = f".wavedeck/prompts/{spec.agent_id}.md"
    candidates = [spec.env.get("WAVEDECK_PROMPT_FILE", "")]
    candidates += [a for a in spec.argv if a.endswith(suffix)]
    candidates.append(str(spec.cwd / suffix))
    for candidate in candidates:
        path = Path(candidate) if candidate else None
        if path is not None and not path.is_absolute():
            path = spec.cwd / path
        if path is not None and path.is_file():
            return path
    return None
