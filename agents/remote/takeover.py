"""A take-over on an SSH host: the agent's CLI in the operator's terminal over ``ssh -t``.

The interactive session needs a terminal at both ends, so it runs under OpenSSH's own client
(``ssh -t``), in this terminal, with the host's configured key, known_hosts, port, user and ssh
config (``ssh_argv``): host keys are checked against the configured known_hosts only and never
added, whatever the user's ssh config says, as the asyncssh transport does. The remote command
is one ``sh -c '<script>'`` word built from checked tokens (``takeover_script``): into the
agent's worktree on the host, the agent's environment exported, then ``exec`` of the CLI (under
the host's Landlock script when the host can, as a remote run). ssh exits with the CLI's
status, or 255 when it could not connect or the connection dropped.

Around it, over the asyncssh transport (``HostSide``): the worktree's state before (a tree object
written from a throwaway index, nothing else touched), the CLI's transcript size and tail, and
after it the patch from that tree to the worktree now (what the take-over changed: brought into
the local tree like a remote run's changes), the transcript's appended bytes, and the record
appended to the host's log (its size before and after: the log offset moves past it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from wavedeck.agents.config import HostConfig
from wavedeck.agents.remote.commands import (
    HOST_EXPRS,
    CommandError,
    RemotePaths,
    exports,
    quote,
    sh_c,
)
from wavedeck.agents.remote.sync import GIT, GIT_FUNCTION, SyncError
from wavedeck.agents.remote.transport import HostTransport

# What may stand in an ssh option value or the destination: no whitespace, no control
# characters, nothing ssh would read as an option.
_WORD = re.compile(r"^[^\s\x00-\x1f\x7f-]([^\s\x00-\x1f\x7f]*)$")
TAIL_BYTES = 1 << 20  # the transcript's tail read before (its last cost record lies there)


def _word(value: str, what: str) -> str:
    if not _WORD.match(value):
        raise CommandError(f"{what} cannot be given to ssh: {value!r}")
    return value


def ssh_argv(cfg: HostConfig, script: str, *, program: str = "ssh") -> list[str]:
    """OpenSSH's argv running ``script`` (``sh -c``) on the host with a terminal (``-t``)."""
    import os

    argv = [program, "-t"]
    if cfg.ssh_config is not None:
        argv += ["-F", os.path.expanduser(cfg.ssh_config) if cfg.ssh_config else "/dev/null"]
    known = os.path.expanduser(cfg.known_hosts)
    argv += [
        "-o", "StrictHostKeyChecking=yes",
        "-o", f"UserKnownHostsFile={_word(known, 'known_hosts')}",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "UpdateHostKeys=no",
        "-o", f"ConnectTimeout={max(1, round(cfg.connect_timeout_s))}",
        "-o", f"ServerAliveInterval={max(1, round(cfg.keepalive_interval_s))}",
        "-o", f"ServerAliveCountMax={cfg.keepalive_count_max}",
    ]  # fmt: skip
    if cfg.client_keys:
        argv += ["-o", "IdentitiesOnly=yes"]
        for key in cfg.client_keys:
            argv += ["-i", _word(os.path.expanduser(key), "client key")]
    if "port" in cfg.model_fields_set:  # else the ssh config (or 22) decides, as for asyncssh
        argv += ["-p", str(cfg.port)]
    if cfg.user:
        argv += ["-l", _word(cfg.user, "user")]
    return [*argv, "--", _word(cfg.address, "address"), sh_c(script)]


def takeover_script(
    paths: RemotePaths,
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    argv_exprs: Mapping[int, str] | None = None,
    env_exprs: Mapping[str, str] | None = None,
) -> str:
    """Into the agent's worktree, its environment, then the CLI (``exec``: its status is ssh's).
    ``argv_exprs``/``env_exprs``: arguments and variables that name a local path standing for
    one on the host (``"$wt"``, ``"$prompt"``)."""
    argv_exprs = argv_exprs or {}
    if any(e not in HOST_EXPRS for e in argv_exprs.values()):
        raise CommandError("not a host expression")
    words = [argv_exprs.get(i) or quote(a) for i, a in enumerate(argv)]
    if not words:
        raise CommandError("empty command")
    return (
        paths.prelude()
        + 'cd "$wt" 2>/dev/null || { echo "wavedeck: no worktree of this agent here: $wt" >&2; '
        + "exit 3; }\n"
        + exports(env, env_exprs)
        + f"exec {' '.join(words)}\n"
    )


class HostSide:
    """The take-over's work before and after, on one host (over ``transport``)."""

    def __init__(self, transport: HostTransport, paths: RemotePaths) -> None:
        self.transport, self.paths = transport, paths

    async def _run(self, body: str, *, input: bytes | None = None, timeout: float = 120) -> bytes:
        res = await self.transport.run(
            sh_c(self.paths.prelude() + GIT_FUNCTION + body), input=input, timeout=timeout
        )
        if res.returncode != 0:
            detail = res.stderr.decode("utf-8", "replace").strip()
            raise SyncError(
                f"{self.transport.name}: {self.paths.agent_id}: {detail or res.returncode}"
            )
        return res.stdout

    async def tree(self) -> str:
        """The agent's worktree now, as a tree object (untracked files included)."""
        out = await self._run(
            'mkdir -p "$root/run" && cd "$wt" || exit 3\n'
            'idx="$root/run/$$.takeover.index"; trap \'rm -f "$idx" "$idx.lock"\' EXIT\n'
            'export GIT_INDEX_FILE="$idx"\n'
            f"{GIT} read-tree HEAD && {GIT} add -A . && {GIT} write-tree\n"
        )
        sha = out.decode().strip()
        if not re.fullmatch(r"[0-9a-f]{40}([0-9a-f]{24})?", sha):
            raise SyncError(f"{self.transport.name}: cannot record the worktree: {sha[:80]!r}")
        return sha

    async def changes_since(self, tree: str) -> bytes:
        """The binary patch from ``tree`` to the worktree now (``b""``: nothing changed)."""
        if not re.fullmatch(r"[0-9a-f]{40}([0-9a-f]{24})?", tree):
            raise CommandError(f"not a tree id: {tree!r}")
        return await self._run(
            'mkdir -p "$root/run" && cd "$wt" || exit 3\n'
            'idx="$root/run/$$.takeover.index"; trap \'rm -f "$idx" "$idx.lock"\' EXIT\n'
            'export GIT_INDEX_FILE="$idx"\n'
            f"{GIT} read-tree HEAD && {GIT} add -A . || exit 7\n"
            f"{GIT} diff --no-ext-diff --no-textconv --cached --binary --full-index {tree}\n",
            timeout=300,
        )

    async def transcript_state(self, env: Mapping[str, str], where: str) -> tuple[int, bytes]:
        """The transcript's size (-1: none) and tail; ``where``: its words (``Place.shell``)."""
        out = await self._run(
            exports(env)
            + f'for f in {where}; do [ -f "$f" ] || continue; wc -c < "$f"; '
            + f'tail -c {TAIL_BYTES} "$f"; exit 0; done\necho -1\n'
        )
        size, _, tail = out.partition(b"\n")
        return int(size.strip() or b"-1"), tail

    async def transcript_since(self, env: Mapping[str, str], where: str, size: int) -> bytes:
        """What the transcript gained after ``size`` bytes (all of it when it was new)."""
        start = max(0, int(size)) + 1
        return await self._run(
            exports(env)
            + f'for f in {where}; do [ -f "$f" ] && exec tail -c +{start} "$f"; done\n',
            timeout=300,
        )

    async def append_log(self, lines: Sequence[str]) -> tuple[int, int]:
        """Append ``lines`` to the agent's log on the host (after a newline when its last line
        is unfinished); its size before and after."""
        text = "".join(f"{line}\n" for line in lines).encode()
        out = await self._run(
            'mkdir -p "$root/logs" || exit 3\n'
            'size=$(wc -c < "$log" 2>/dev/null || echo 0)\n'
            'last=$(tail -c 1 "$log" 2>/dev/null | od -An -tx1 | tr -d " \\n")\n'
            'if [ "$size" -gt 0 ] && [ "$last" != "0a" ]; then printf "\\n" >> "$log"; fi\n'
            'cat >> "$log" || exit 3\n'
            'echo "$size $(wc -c < "$log")"\n',
            input=text,
        )
        before, after = out.decode().split()
        return int(before), int(after)


def tree_forms(local: Path) -> set[str]:
    """The spellings of the local tree an argv or env value may use (they mean ``"$wt"``)."""
    return {str(local), str(local.absolute()), str(local.resolve())}
