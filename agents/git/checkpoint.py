"""Checkpoint commits that touch nothing but the declared paths and the branch they move.

The procedure (the user's own index and partially staged work stay as they were):

1. refuse early: unsafe names, symbolic links, a merge/rebase/cherry-pick/revert/bisect in
   progress, unmerged paths, a detached HEAD (``wavedeck.agents.git.busy``), a HEAD other than
   the one the wave started from;
2. wait (bounded) while another git process holds ``index.lock``;
3. build the commit in a *temporary* index (``GIT_INDEX_FILE``): ``read-tree HEAD``, then
   ``update-index --add --remove`` of exactly the declared paths. A file still being written is
   detected by its stat signature changing across the staging (or a modification time too recent
   to trust) and staged again once it is quiet, so the committed blob is the content git read
   while the file was not changing; a file that never settles within ``write_wait_s`` is refused
   by name;
4. refuse leftover conflict markers (``diff --cached --check``) and an empty commit;
5. ``commit-tree`` (signed when ``[git] sign`` or ``commit.gpgsign`` says so, by the signer
   ``wavedeck.agents.git.signing`` pins, with a timeout so a broken or prompting signer fails
   fast), then move the branch with a compare-and-swap ``update-ref``: a
   commit made meanwhile is never overwritten, the checkpoint is refused instead;
6. bring the user's index entries for the checkpointed paths up to the new commit (as
   ``git commit --only`` does), leaving every other entry, staged or not, untouched.

``prepare`` does steps 1-5 up to the commit, ``land`` moves the branch and does step 6, so that
the caller can record the commit it is about to move the branch to in between: a control room
killed right after the move then recognises its own commit (``refresh_index`` finishes step 6).
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from wavedeck.agents import faults
from wavedeck.agents.git.busy import in_progress_state
from wavedeck.agents.git.cmd import GitCmd
from wavedeck.agents.git.errors import CheckpointIndexStale, CheckpointRefused, GitError
from wavedeck.agents.git.locks import backoff, wait_for_lock
from wavedeck.agents.git.paths import bad_names, link_problem
from wavedeck.agents.git.result import failure_message
from wavedeck.agents.git.signing import read_signing

_MARKER = re.compile(r"^(.+):(\d+): leftover conflict marker$", re.MULTILINE)
_CAS_FAILED = ("but expected", "already exists", "cannot lock ref")


@dataclass(frozen=True)
class CheckpointOptions:
    """Policy for one repository's checkpoints (from ``[git]`` in ``wavedeck.toml``)."""

    run_hooks: bool = False
    hook_timeout_s: float = 60.0
    sign_timeout_s: float = 3.0
    write_wait_s: float = 5.0
    sign: bool | None = None  # None: the repository's commit.gpgsign, read at start
    sign_program: str | None = None  # None: git's default signer for gpg.format


# File timestamps come from a coarse kernel clock (a few ms per tick), so a write landing in the
# same tick as our reading leaves the stat signature unchanged (git's "racily clean" problem).
# A file modified less than this long before staging counts as still being written: it is
# staged again once it has been quiet that long.
QUIET_NS = 200_000_000


def _recent(signature: tuple[int, ...] | None, start_ns: int) -> bool:
    return signature is not None and start_ns - QUIET_NS <= signature[2] <= start_ns + 1_000_000_000


def _signature(path: Path) -> tuple[int, ...] | None:
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return (info.st_mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


def _staged(cmd: GitCmd, env: dict[str, str], paths: Sequence[str]) -> dict[str, tuple[str, str]]:
    """``{path: (mode, sha)}`` of ``paths`` in the index ``env`` selects (stage 0 only)."""
    # Past a few hundred names the whole index is listed instead (no argv limit to hit).
    named = list(paths) if len(paths) <= 500 else []
    out = cmd.run(["ls-files", "-s", "-z", "--", *named], env=env).out
    wanted = set(paths)
    entries = {}
    for record in out.split(b"\0"):
        if not record:
            continue
        info, name = record.split(b"\t", 1)
        mode, sha, stage = info.decode().split()
        path = name.decode("utf-8", "surrogateescape")
        if stage == "0" and path in wanted:
            entries[path] = (mode, sha)
    return entries


@dataclass(frozen=True)
class PreparedCheckpoint:
    """A checkpoint commit made but not landed: ``land`` moves ``ref`` from ``parent`` to it.
    Between the two, the caller records it (so a crash after the move is recognised)."""

    commit: str
    parent: str | None  # the HEAD it was built on (None: the branch had no commit)
    ref: str  # the branch it is for
    paths: tuple[str, ...]  # the paths it commits


class Checkpointer:
    """Makes one checkpoint commit; see the module docstring for the procedure."""

    def __init__(self, cmd: GitCmd, root: Path, git_dir: Path, options: CheckpointOptions) -> None:
        self.cmd = cmd
        self.root = root
        self.git_dir = git_dir
        self.options = options
        # Tests inject a commit here to prove the compare-and-swap (matrix C10).
        self.before_update_ref: Callable[[], None] | None = None
        self.signing = read_signing(cmd, options.sign, options.sign_program)
        if options.run_hooks:
            # allow_hooks: resolve the configured hooks path, not our /dev/null override.
            hooks = cmd.run(["rev-parse", "--git-path", "hooks"], allow_hooks=True).text.strip()
            cmd.hooks_dir = str(root / hooks)  # an absolute path stays absolute

    def commit(self, paths: Sequence[str], message: str, expected_head: str | None) -> str:
        """Steps 1 to 6 in one go (``prepare``, then ``land``)."""
        return self.land(self.prepare(paths, message, expected_head))

    def prepare(
        self, paths: Sequence[str], message: str, expected_head: str | None
    ) -> PreparedCheckpoint:
        """Steps 1 to 5 but the branch's move: the commit, made and not on any branch yet."""
        wanted = list(dict.fromkeys(paths))
        self._check_inputs(wanted, message)
        state = in_progress_state(self.cmd, self.git_dir)
        if state is not None:
            raise CheckpointRefused("git-busy", detail=state)
        ref = self.cmd.run(["symbolic-ref", "-q", "HEAD"]).text.strip()
        head = self._head()
        if expected_head is not None and head != expected_head:
            now = (head or "no commit")[:12]
            raise CheckpointRefused(
                "head-changed", detail=f"expected {expected_head[:12]}, now {now}"
            )
        self._check_links(wanted, head)
        wait_for_lock(self.git_dir / "index.lock", self.cmd.lock_wait_s, self.cmd.on_lock_wait)
        with tempfile.TemporaryDirectory(prefix="wavedeck-checkpoint-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if head is None:
                self.cmd.run(["read-tree", "--empty"], env=env, read_only=False)
            else:
                self.cmd.run(["read-tree", head], env=env, read_only=False)
            self._stage(env, wanted)
            if self.options.run_hooks:
                self._hook("pre-commit", env)
            self._check_markers(env, head)
            tree = self.cmd.run(["write-tree"], env=env, read_only=False).text.strip()
            if tree == self._tree_of(head):
                raise CheckpointRefused("nothing-to-commit")
            message_file = Path(tmp) / "message"
            message_file.write_text(
                message if message.endswith("\n") else message + "\n", encoding="utf-8"
            )
            if self.options.run_hooks:
                self._hook("commit-msg", env, str(message_file))
            new = self._commit_tree(tree, head, message_file)
        return PreparedCheckpoint(new, head, ref, tuple(wanted))

    def land(self, prepared: PreparedCheckpoint) -> str:
        """Steps 5 and 6: move the branch to the prepared commit (compare-and-swap: refused if
        it moved meanwhile) and bring the user's index up to it; the commit's sha."""
        if self.before_update_ref is not None:
            self.before_update_ref()
        new = prepared.commit
        self._move_branch(prepared.ref, new, prepared.parent)
        faults.reached("checkpoint-branch-moved")
        self.refresh_index(new, prepared.paths)
        if self.options.run_hooks:
            self.cmd.run(
                ["hook", "run", "--ignore-missing", "post-commit"],
                allow_hooks=True,
                check=False,
                timeout_s=self.options.hook_timeout_s,
            )
        return new

    # -- steps ---------------------------------------------------------------------------------

    def _check_inputs(self, paths: list[str], message: str) -> None:
        if not paths:
            raise CheckpointRefused("no-paths")
        bad = bad_names(paths)
        if bad:
            detail = "; ".join(f"{p!r}: {why}" for p, why in bad[:5])
            raise CheckpointRefused("unsafe-paths", [p for p, _ in bad], detail)
        if not message.strip():
            raise CheckpointRefused("empty-message")
        folders = [
            p
            for p in paths
            if (self.root / p).is_dir()
            and not (self.root / p).is_symlink()
            and not (self.root / p / ".git").exists()
        ]
        if folders:
            raise CheckpointRefused("folders-declared", folders)

    def _head(self) -> str | None:
        result = self.cmd.run(["rev-parse", "--verify", "-q", "HEAD^{commit}"], check=False)
        return (result.text.strip() or None) if result.rc == 0 else None

    def _tree_of(self, head: str | None) -> str:
        if head is None:
            return self.cmd.run(["hash-object", "-t", "tree", "--stdin"], stdin=b"").text.strip()
        return self.cmd.run(["rev-parse", f"{head}^{{tree}}"]).text.strip()

    def _check_links(self, paths: list[str], head: str | None) -> None:
        problems = []
        for path in paths:
            problem = link_problem(self.root, path)
            if problem is None:
                continue
            if problem.startswith("symbolic link") and self._same_link_in(head, path):
                continue  # an outside link already committed before the wave is not new
            problems.append((path, problem))
        if problems:
            detail = "; ".join(f"{p}: {why}" for p, why in problems[:5])
            raise CheckpointRefused("symlinked-paths", [p for p, _ in problems], detail)

    def _same_link_in(self, head: str | None, path: str) -> bool:
        if head is None:
            return False
        listed = self.cmd.run(["ls-tree", "-z", head, "--", path]).out
        if not listed.startswith(b"120000 "):
            return False
        sha = listed.split(b" ")[2].split(b"\t")[0].decode()
        target = self.cmd.run(["cat-file", "blob", sha]).out
        return target == os.fsencode(os.readlink(self.root / path))

    def _stage(self, env: dict[str, str], paths: list[str]) -> None:
        deadline = time.monotonic() + self.options.write_wait_s
        pending = paths
        attempt = 0
        while True:
            start_ns = time.time_ns()
            before = {p: _signature(self.root / p) for p in pending}
            feed = b"".join(os.fsencode(p) + b"\0" for p in pending)
            result = self.cmd.run(
                ["update-index", "--add", "--remove", "-z", "--stdin"],
                env=env,
                stdin=feed,
                read_only=False,
                check=False,
            )
            # git gives up on a file that shrinks while it reads it ("short read") and then
            # writes nothing: every pending path is staged again, the moving ones named.
            if result.rc != 0 and "short read" not in result.err:
                raise GitError(failure_message(["update-index"], result))
            moving = [
                p
                for p in pending
                if _signature(self.root / p) != before[p] or _recent(before[p], start_ns)
            ]
            if result.rc == 0:
                pending = moving
            if not pending:
                return
            delay = backoff(attempt)
            if time.monotonic() + delay > deadline:
                raise CheckpointRefused(
                    "files-changing", moving or pending, f"{self.options.write_wait_s:g} s"
                )
            time.sleep(delay)
            attempt += 1

    def _hook(self, name: str, env: dict[str, str], *args: str) -> None:
        result = self.cmd.run(
            ["hook", "run", "--ignore-missing", name, "--", *args],
            env=env,
            read_only=False,
            check=False,
            allow_hooks=True,
            timeout_s=self.options.hook_timeout_s,
        )
        if result.timed_out:
            raise CheckpointRefused(
                "hook-timed-out", detail=f"{name}, stopped after {self.options.hook_timeout_s:g} s"
            )
        if result.rc != 0:
            said = (result.err.strip() or result.text.strip())[-2000:]
            raise CheckpointRefused("hook-failed", detail=f"{name} exited {result.rc}: {said}")

    def _check_markers(self, env: dict[str, str], head: str | None) -> None:
        base = head or self._tree_of(None)
        result = self.cmd.run(
            ["-c", "core.quotePath=false", "diff", "--cached", "--check", "--no-ext-diff", base],
            env=env,
            check=False,
        )
        if result.rc not in (0, 2):
            raise GitError(f"git diff --check failed (exit {result.rc}): {result.err.strip()}")
        marked = sorted({m.group(1) for m in _MARKER.finditer(result.text)})
        if marked:
            raise CheckpointRefused("conflict-markers", marked)

    def _commit_tree(self, tree: str, head: str | None, message_file: Path) -> str:
        sign = self.signing.sign
        args = [*self.signing.overrides, "commit-tree", tree]
        args += [*(["-p", head] if head else []), "-F", str(message_file)]
        if sign:
            args.insert(len(self.signing.overrides) + 1, "-S")  # commit-tree ignores gpgsign
        result = self.cmd.run(
            args,
            read_only=False,
            check=False,
            timeout_s=self.options.sign_timeout_s if sign else None,
        )
        if result.timed_out:
            raise GitError(
                f"signing the checkpoint with {self.signing.program} did not finish within "
                f"{self.options.sign_timeout_s:g} s (is the signer waiting for a passphrase?); "
                "stopped"
            )
        if result.rc != 0:
            what = (
                f"signing the checkpoint with {self.signing.program} failed"
                if sign
                else ("git commit-tree failed")
            )
            raise GitError(f"{what} (exit {result.rc}): {result.err.strip()}")
        return result.text.strip()

    def _move_branch(self, ref: str, new: str, head: str | None) -> None:
        result = self.cmd.run(
            ["update-ref", "-m", "wavedeck: checkpoint", ref, new, head or ""],
            read_only=False,
            check=False,
        )
        if result.rc == 0:
            return
        if any(word in result.err for word in _CAS_FAILED):
            # Nothing was overwritten; the prepared commit is left unreferenced (git collects it).
            raise CheckpointRefused("branch-moved", detail=result.err.strip())
        raise GitError(f"git update-ref failed (exit {result.rc}): {result.err.strip()}")

    def refresh_index(self, commit: str, paths: Sequence[str]) -> None:
        """The user's index entries of ``paths`` as ``commit`` has them (step 6; also for a
        checkpoint a killed control room committed without it). ``CheckpointIndexStale`` when
        the index cannot be written."""
        with tempfile.TemporaryDirectory(prefix="wavedeck-checkpoint-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self.cmd.run(["read-tree", commit], env=env, read_only=False)
            self._refresh_user_index(env, list(paths), commit)

    def _refresh_user_index(self, env: dict[str, str], paths: list[str], new: str) -> None:
        committed = _staged(self.cmd, env, paths)
        current = _staged(self.cmd, {}, paths)
        lines = []
        for path in paths:
            want = committed.get(path)
            if want == current.get(path):
                continue
            mode, sha = want if want is not None else ("0", "0" * len(new))  # mode 0 removes
            lines.append(f"{mode} {sha}\t".encode() + os.fsencode(path) + b"\0")
        if not lines:
            return
        try:
            self.cmd.run(
                ["update-index", "-z", "--index-info"], stdin=b"".join(lines), read_only=False
            )
        except GitError as exc:
            raise CheckpointIndexStale(new, paths, str(exc)) from None
