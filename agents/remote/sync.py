"""Work in and out of an SSH host: the base commit goes to the host, the agent's changes come back.

**In.** The host's clone (``HostConfig.workdir``) only stores objects; each remote agent works in
its own git worktree ``<workdir>/.wavedeck/worktrees/<id>``, checked out detached at the wave's
base commit. When the host lacks that commit, wavedeck streams a pack over the SSH channel
(``git pack-objects --revs --thin --stdout`` locally, excluding the host's HEAD when this repo has
it, piped into ``git index-pack --stdin --fix-thin`` on the host): no refs are created on either
side, no git daemon or reverse connection is needed, and the host's clone needs no remote.

**Again.** A relaunch (follow-up, restart) must resume on the tree the agent left, which is now
the local one (its changes came back, maybe reviewed or edited since): ``local_changes`` (the
local tree against the base) is sent as a seed (``send_seed``) that ``worktree_body`` applies and
commits on top of the base, recording that commit in ``<id>.from``; ``touched_paths`` and
``collected_patch`` measure from it, so only what the new run changes comes back (and applies).

**During.** ``touched_paths`` lists what the agent changed relative to the base (or the seed) (``git status
--porcelain -z`` plus commits the agent made), polled by the runner so violations show live.

**Out.** ``collected_patch`` builds the agent's whole change against the base in a throwaway index
(``GIT_INDEX_FILE``: ``read-tree <base>``, ``add -A``, ``diff --cached --binary``), so new files,
deletions, binaries and even commits the agent made are included and the worktree is untouched.
The patch streams from the SSH channel into a temporary file a chunk at a time (an agent's
gigabyte of new data costs the control room one chunk of memory, not the patch), and
``apply_patch`` applies that file to the local working tree with ``git apply --binary`` (not the
index), so review, tests and checkpoint see it exactly like a local agent's edits.

Every git command runs no program a git configuration names (an agent could plant hooks,
fsmonitor, filters, textconv or diff drivers there): the local ones go through
``wavedeck.agents.git.cmd`` (its lock, timeout and literal pathspecs too), the host's through
the shell function ``wavedeck.agents.git.guard.shell_function`` defines (``GIT_FUNCTION``,
at the top of every script that runs git there).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from wavedeck.agents.git.cmd import arun_git, git_process
from wavedeck.agents.git.errors import GitError
from wavedeck.agents.git.guard import shell_function
from wavedeck.agents.remote.commands import RemotePaths, check_sha, sh_c, workdir_word
from wavedeck.agents.remote.transport import ConnectionLostError, HostTransport
from wavedeck.plan.errors import WavedeckError

GIT = "wdgit"
GIT_FUNCTION = shell_function(GIT)
CHUNK = 64 * 1024


class SyncError(WavedeckError, OSError):
    """The host's clone could not be prepared or the changes could not come back."""


async def _local_git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    read_only = args[0] != "apply" or "--numstat" in args
    try:
        done = await arun_git(repo, args, read_only=read_only, stdin=input)
    except GitError as exc:
        raise SyncError(f"git {' '.join(args[:2])} in {repo}: {exc}") from None
    return done.out


async def local_head(repo: Path) -> str:
    return (await _local_git(repo, "rev-parse", "--verify", "HEAD^{commit}")).decode().strip()


async def push_base(transport: HostTransport, workdir: str, repo: Path, base: str) -> bool:
    """Make sure the host's clone has commit ``base``; returns True when a pack was sent."""
    check_sha(base)
    wd = workdir_word(workdir)
    probe = await transport.run(
        sh_c(
            GIT_FUNCTION + f"cd {wd} || exit 3\n"
            f"{GIT} rev-parse -q --is-inside-work-tree >/dev/null 2>&1 || {{ {GIT} status >/dev/null; exit 4; }}\n"
            f"{GIT} cat-file -e {base}^{{commit}} 2>/dev/null && {{ echo have; exit 0; }}\n"
            f"{GIT} rev-parse -q --verify HEAD^{{commit}} 2>/dev/null\n"
            # Bases sent for earlier agents: what the host surely has (no refs are kept there).
            "cat .wavedeck/run/*.base 2>/dev/null | sort -u | tail -n 20\n"
        )
    )
    if probe.returncode == 3:
        raise SyncError(f"{transport.name}: workdir {workdir} does not exist on the host")
    if probe.returncode == 4:
        detail = probe.stderr.decode("utf-8", "replace").strip()
        raise SyncError(f"{transport.name}: workdir {workdir} is not a usable git clone: {detail}")
    answer = probe.text.split()
    if answer == ["have"]:
        return False
    revs = base + "\n"
    for have in dict.fromkeys(a for a in answer if len(a) == 40):
        try:
            await _local_git(repo, "cat-file", "-e", f"{check_sha(have)}^{{commit}}")
            revs += f"^{have}\n"
        except (SyncError, ValueError):
            pass  # unknown here: it cannot shorten the pack
    async with (
        git_process(repo, ("pack-objects", "--revs", "--thin", "--stdout", "-q")) as pack,
        transport.process(
            sh_c(GIT_FUNCTION + f"cd {wd} && {GIT} index-pack --stdin --fix-thin >/dev/null")
        ) as proc,
    ):
        assert pack.stdin is not None and pack.stdout is not None
        pack.stdin.write(revs.encode())
        pack.stdin.close()
        while data := await pack.stdout.read(CHUNK):
            proc.stdin.write(data)
            await proc.stdin.drain()
        proc.stdin.write_eof()
        done = await proc.wait(check=False)
        err = await pack.stderr.read() if pack.stderr else b""
        if await pack.wait() != 0:
            raise SyncError(f"git pack-objects failed: {err.decode('utf-8', 'replace')}")
        if done.exit_status != 0:
            detail = (
                done.stderr.decode("utf-8", "replace") if isinstance(done.stderr, bytes) else ""
            )
            raise SyncError(f"{transport.name}: git index-pack failed: {detail.strip()}")
    return True


async def local_changes(repo: Path, base: str) -> bytes:
    """The local tree's change against ``base`` as a binary patch: tracked and untracked files
    (ignored ones left out), built in a throwaway index so the repository's index is untouched."""
    sha = check_sha(base)
    with tempfile.TemporaryDirectory(prefix="wavedeck-seed-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        try:
            await arun_git(repo, ("read-tree", sha), read_only=False, env=env)
            await arun_git(repo, ("add", "-A", "."), read_only=False, env=env)
            diff = ("diff", "--no-ext-diff", "--no-textconv", "--cached", "--binary")
            done = await arun_git(repo, (*diff, "--full-index", sha), env=env)
        except GitError as exc:
            raise SyncError(f"cannot read the local changes in {repo}: {exc}") from None
    return done.out


async def send_seed(transport: HostTransport, paths: RemotePaths, patch: bytes) -> None:
    """Store ``patch`` as the agent's seed on the host: ``worktree_body`` applies it on top of
    the base, so a relaunch starts from what the agent's tree holds locally."""
    aid = paths.agent_id
    res = await transport.run(
        sh_c(
            paths.prelude()
            + f'mkdir -p "$root/run" && cat > "$root/run/{aid}.seed.tmp"'
            + f' && mv -f "$root/run/{aid}.seed.tmp" "$root/run/{aid}.seed"\n'
        ),
        input=patch,
    )
    if res.returncode != 0:
        detail = res.stderr.decode("utf-8", "replace").strip()
        raise SyncError(f"{transport.name}: cannot send the local changes of {aid}: {detail}")


def _from_expr(aid: str, fallback: str) -> str:
    """Shell setting ``$from``: the commit the agent's changes are measured from (its seed
    commit on a relaunch, else ``fallback``)."""
    return f'from={fallback}; [ -s "$root/run/{aid}.from" ] && read from < "$root/run/{aid}.from"\n'


def worktree_body(paths: RemotePaths, base: str) -> str:
    """Shell (after ``paths.prelude()``) checking out ``base`` detached and clean in ``$wt``.

    When a seed was sent (``send_seed``: a relaunch), it is applied and committed on top of the
    base, and that commit is recorded in ``<id>.from``: the agent resumes on its earlier changes
    as they are locally, and only what this run changes comes back."""
    sha = check_sha(base)
    aid = paths.agent_id
    return (
        GIT_FUNCTION
        + 'cd "$wd" || exit 3\n'
        + f"exclude=$({GIT} rev-parse --git-path info/exclude) || exit 4\n"
        + 'mkdir -p "$(dirname "$exclude")"\n'
        + 'grep -qx "/.wavedeck/" "$exclude" 2>/dev/null || echo "/.wavedeck/" >> "$exclude"\n'
        + 'mkdir -p "$root/worktrees" "$root/run"\n'
        + f'echo {sha} > "$root/run/{paths.agent_id}.base"\n'
        + 'if [ -e "$wt/.git" ]; then\n'
        + f'  cd "$wt" && {GIT} checkout -q --detach --force {sha} && {GIT} reset -q --hard {sha}'
        + f" && {GIT} clean -q -fd || exit 5\n"
        + "else\n"
        + f'  rm -rf "$wt"; {GIT} worktree prune; {GIT} worktree add -q --detach --force "$wt" {sha}'
        + " >/dev/null || exit 5\n"
        + "fi\n"
        + f'seed="$root/run/{aid}.seed"; rm -f "$root/run/{aid}.from"\n'
        + 'if [ -s "$seed" ]; then\n'
        + f'  (cd "$wt" && {GIT} apply --binary --whitespace=nowarn "$seed" && {GIT} add -A .'
        + f" && {GIT} -c user.name=wavedeck -c user.email=wavedeck@localhost -c commit.gpgsign=false"
        + " commit -q --no-verify -m 'wavedeck: earlier changes, as they are locally'"
        + f' && {GIT} rev-parse HEAD > "$root/run/{aid}.from") || {{ rm -f "$seed"; exit 5; }}\n'
        + "fi\n"
        + 'rm -f "$seed"\n'
        + 'cd "$wd" || exit 3\n'
    )


async def recorded_base(transport: HostTransport, paths: RemotePaths) -> str | None:
    res = await transport.run(sh_c(paths.prelude() + f'cat "$root/run/{paths.agent_id}.base"'))
    text = res.text.strip()
    return text if res.returncode == 0 and len(text) == 40 else None


def _parse_status(data: bytes) -> dict[str, str]:
    """``git status --porcelain -z`` → {path: added|modified|deleted}."""
    out: dict[str, str] = {}
    parts = data.split(b"\0")
    i = 0
    while i < len(parts):
        entry = parts[i]
        i += 1
        if len(entry) < 4:
            continue
        code, path = entry[:2].decode(), entry[3:].decode("utf-8", "surrogateescape")
        if "R" in code or "C" in code:
            i += 1  # the source path of a rename follows
        if "D" in code:
            out[path] = "deleted"
        elif code in ("??", "A ", " A", "AM"):
            out[path] = "added"
        else:
            out[path] = "modified"
    return out


async def touched_paths(transport: HostTransport, paths: RemotePaths, base: str) -> dict[str, str]:
    """Paths the agent changed relative to ``base`` (working tree, index and its own commits)."""
    sha = check_sha(base)
    script = (
        paths.prelude()
        + GIT_FUNCTION
        + _from_expr(paths.agent_id, sha)
        + 'cd "$wt" || exit 3\n'
        + f"GIT_OPTIONAL_LOCKS=0 {GIT} status --porcelain -z --untracked-files=all || exit 4\n"
        + "printf '\\0--wavedeck--\\0'\n"
        + f'{GIT} diff --no-ext-diff --no-textconv --name-status -z "$from" HEAD\n'
    )
    res = await transport.run(sh_c(script))
    if res.returncode != 0:
        return {}
    status, _, committed = res.stdout.partition(b"\0--wavedeck--\0")
    found: dict[str, str] = {}
    fields = committed.split(b"\0")
    for i in range(0, len(fields) - 1, 2):
        kind = fields[i].decode()[:1]
        path = fields[i + 1].decode("utf-8", "surrogateescape")
        found[path] = {"A": "added", "D": "deleted"}.get(kind, "modified")
    found.update(_parse_status(status))
    return found


def _patch_script(paths: RemotePaths) -> str:
    aid = paths.agent_id
    return (
        paths.prelude()
        + GIT_FUNCTION
        + f'[ -e "$root/run/{aid}.applied" ] && {{ echo applied; exit 0; }}\n'
        + f'read base < "$root/run/{aid}.base" || exit 6\n'
        + _from_expr(aid, '"$base"')
        + 'cd "$wt" || exit 3\n'
        + 'idx="$root/run/$$.index"; trap \'rm -f "$idx" "$idx.lock"\' EXIT\n'
        + 'export GIT_INDEX_FILE="$idx"\n'
        + f'{GIT} read-tree "$from" && {GIT} add -A . || exit 7\n'
        + f"echo patch; {GIT} diff --no-ext-diff --no-textconv --cached --binary --full-index"
        + ' "$from"\n'
    )


@contextlib.asynccontextmanager
async def collected_patch(
    transport: HostTransport, paths: RemotePaths, timeout_s: float = 300.0
) -> AsyncIterator[Path | None]:
    """The agent's whole change against its recorded base as a binary patch in a temporary
    file (empty when there is none; removed when the block ends), or None when it was already
    brought back (the ``.applied`` marker exists). The patch is copied from the channel a chunk
    at a time, never held in memory."""
    fd, name = tempfile.mkstemp(prefix="wavedeck-patch-", suffix=".diff")
    os.close(fd)
    patch = Path(name)
    try:
        head, rc, err, unwritten = await _stream_patch(transport, paths, patch, timeout_s)
        if unwritten is not None:  # raised here: inside the channel it would read as a drop
            raise SyncError(f"cannot write {patch}: {unwritten}")
        if rc != 0 or head not in (b"applied", b"patch"):
            raise SyncError(
                f"{transport.name}: cannot collect the changes of {paths.agent_id}: "
                f"{err.decode('utf-8', 'replace').strip()}"
            )
        yield None if head == b"applied" else patch
    finally:
        patch.unlink(missing_ok=True)


async def _stream_patch(
    transport: HostTransport, paths: RemotePaths, into: Path, timeout_s: float
) -> tuple[bytes, int, bytes, str | None]:
    """Run the patch script on the host, its output after the first line into ``into``:
    (the first line, the exit status, the end of its standard error, why ``into`` could not be
    written or None)."""
    async with transport.process(sh_c(_patch_script(paths))) as proc:
        proc.stdin.write_eof()
        unwritten: str | None = None

        async def copy() -> bytes:
            nonlocal unwritten
            head = (await proc.stdout.readline()).rstrip(b"\n")
            with into.open("wb") as out:
                while chunk := await proc.stdout.read(CHUNK):
                    if unwritten is None:  # after a failure: drained, so the host can end
                        try:
                            # On the loop: 64 KiB into the page cache. A thread per chunk let
                            # the received data pile up (20 MB of 30 MB held, measured).
                            out.write(chunk)
                        except OSError as exc:
                            unwritten = exc.strerror or str(exc)
            return head

        async def errors() -> bytes:
            kept = b""
            while chunk := await proc.stderr.read(CHUNK):
                kept = (kept + chunk)[-CHUNK:]  # the end says why; bounded however long
            return kept

        try:
            async with asyncio.timeout(timeout_s):
                head, err = await asyncio.gather(copy(), errors())
                done = await proc.wait(check=False)
        except TimeoutError:
            raise ConnectionLostError(
                f"{transport.name}: no answer within {timeout_s:.0f} s"
            ) from None
        # asyncssh's own errors leave the block through transport.process: a lost connection.
        if done.exit_status is None and done.exit_signal is None:
            raise ConnectionLostError(f"{transport.name}: connection lost")
        rc = done.exit_status if done.exit_status is not None else 255
        return head, rc, err, unwritten


async def mark_applied(transport: HostTransport, paths: RemotePaths, size: int) -> None:
    await transport.run(
        sh_c(paths.prelude() + f'echo {int(size)} > "$root/run/{paths.agent_id}.applied"')
    )


async def apply_patch(
    repo: Path, patch: bytes | Path, before: Callable[[list[str]], None] | None = None
) -> list[str]:
    """Apply a binary patch (its bytes, or a file holding it) to the local working tree;
    returns the paths it touches (``before`` is told them first: a watcher learns who wrote
    them before it sees the writes)."""
    if isinstance(patch, Path):
        if patch.stat().st_size == 0:
            return []
        source, given = str(patch), None
    else:
        if not patch.strip():
            return []
        source, given = "-", patch
    listed = await _local_git(repo, "apply", "--numstat", "-z", source, input=given)
    names = []
    for entry in listed.split(b"\0"):
        if entry:
            names.append(entry.split(b"\t", 2)[-1].decode("utf-8", "surrogateescape"))
    names = [n for n in names if n]
    if before is not None:
        before(names)
    await _local_git(repo, "apply", "--binary", "--whitespace=nowarn", source, input=given)
    return names
