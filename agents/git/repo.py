"""The git layer: safe checkpoints, changed-file lists, per-file diffs and review actions.

``GitRepo`` is the one object the supervisor and the diff review use. Its methods block (call
them with ``asyncio.to_thread``); one command runs at a time per repository; every command runs
with hooks and fsmonitor off and literal pathspecs (``wavedeck.agents.git.cmd``). Failures raise
``GitError`` with a message for the operator; a checkpoint refused on purpose raises
``CheckpointRefused`` with ``reason`` and ``paths``.

Example::

    repo = GitRepo(Path("."))
    base = repo.head()
    ...  # the wave runs
    files = repo.changed_files(base)
    sha = repo.checkpoint([f.path for f in files], message, expected_head=base)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from wavedeck.agents.git import tamper as git_tamper
from wavedeck.agents.git.checkpoint import (
    Checkpointer,
    CheckpointOptions,
    PreparedCheckpoint,
    in_progress_state,
)
from wavedeck.agents.git.cmd import GitCmd, failure_message, policy_for, repo_lock, set_policy
from wavedeck.agents.git.diff import (
    BIG_FILE,
    ChangedFile,
    merge_untracked,
    parse_raw_numstat,
    split_z,
    untracked_file,
)
from wavedeck.agents.git.errors import GitError
from wavedeck.agents.git.guard import NO_PROGRAMS, FilterDriver, RunPolicy
from wavedeck.agents.git.paths import link_problem, listed_path_problem

if TYPE_CHECKING:
    from wavedeck.agents.config import GitConfig

__all__ = ["GitRepo"]

_DIFF_OPTS = ("--no-ext-diff", "--no-textconv", "--no-color")
# Patch output in one shape whatever the user's diff.noprefix / diff.mnemonicPrefix say.
_PATCH_OPTS = (*_DIFF_OPTS, "--src-prefix=a/", "--dst-prefix=b/")
_DIFF_LIMIT = 4 * 1024 * 1024
# Untracked files past this many (an unignored node_modules) are listed without line counts.
_COUNTED_UNTRACKED = 2000
# The refs wavedeck creates and deletes (a wave's start tree, kept from ``git gc``); no other
# ref is ever written but the branch a checkpoint moves.
OWN_REFS = "refs/wavedeck/"


def _check_rev(rev: str) -> None:
    if not rev or rev.startswith("-") or any(ch.isspace() or not ch.isprintable() for ch in rev):
        raise GitError(f"invalid revision {rev!r}")


def _check_own_ref(ref: str) -> None:
    _check_rev(ref)
    if not ref.startswith(OWN_REFS) or ".." in ref:
        raise GitError(f"not a ref wavedeck owns: {ref!r}")


def _check_path(path: str) -> None:
    problem = listed_path_problem(path)
    if problem is not None:
        raise GitError(f"invalid path {path!r}: {problem}")


class GitRepo:
    """One working tree of a git repository, driven through safe git commands.

    Args:
        root: the working tree (a sub-folder is accepted; the top level is used).
        run_hooks: run the repository's ``pre-commit``, ``commit-msg`` and ``post-commit`` hooks
            for checkpoints (off by default: a hook an agent planted must not run).
        hook_timeout_s: a hook running longer is stopped and the checkpoint refused.
        lock_wait_s: how long to wait for another git process's ``index.lock``/ref lock.
        sign_timeout_s: how long signing may take before it is stopped.
        sign: sign checkpoints; None: as the repository's ``commit.gpgsign`` says (read now).
        sign_program: the signer; None: git's default for ``gpg.format`` (never the
            configuration's ``gpg.program``, which an agent can write).
        policy: the filter drivers the operator enabled (``[git.filters]``); registered for
            every git command in this repository. None: the registered one, else none.
        write_wait_s: how long a checkpoint waits for a declared file still being written.
        timeout_s: any other git command running longer is stopped.
        on_lock_wait: called (from the worker thread) with the lock's path while waiting; it
            runs while this repository's command lock is held, so it must not call back into
            a ``GitRepo`` (post an event instead).

    Raises:
        GitError: ``root`` is not a usable repository; git's own words are kept (for example
            "detected dubious ownership", which wavedeck never overrides with safe.directory).
    """

    def __init__(
        self,
        root: Path,
        *,
        run_hooks: bool = False,
        hook_timeout_s: float = 60,
        lock_wait_s: float = 10,
        sign_timeout_s: float = 3.0,
        write_wait_s: float = 5.0,
        timeout_s: float = 120.0,
        on_lock_wait: Callable[[str], None] | None = None,
        sign: bool | None = None,
        sign_program: str | None = None,
        policy: RunPolicy | None = None,
    ) -> None:
        start = Path(root).resolve()
        if not start.is_dir():
            raise GitError(f"not a folder: {start}")
        self._cmd = GitCmd(
            start,
            timeout_s=timeout_s,
            lock_wait_s=lock_wait_s,
            on_lock_wait=on_lock_wait,
            policy=policy or NO_PROGRAMS,
        )
        found = self._cmd.run(
            [
                "rev-parse",
                "--path-format=absolute",
                "--show-toplevel",
                "--git-dir",
                "--git-common-dir",
            ],
            check=False,
        )
        if found.rc != 0:
            raise GitError(f"not a usable git repository: {start}: {found.err.strip()}")
        top, git_dir, common_dir = found.text.splitlines()[:3]
        self.root = Path(top).resolve()
        self.git_dir = Path(git_dir)
        self.common_dir = Path(common_dir)
        if policy is not None:
            set_policy(str(self.common_dir), policy)
        self._cmd = GitCmd(
            self.root,
            timeout_s=timeout_s,
            lock_wait_s=lock_wait_s,
            on_lock_wait=on_lock_wait,
            policy=policy_for(str(self.common_dir)),
        )
        self._lock = repo_lock(str(self.common_dir))
        self._closed = False
        self._checkpointer = Checkpointer(
            self._cmd,
            self.root,
            self.git_dir,
            CheckpointOptions(
                run_hooks, hook_timeout_s, sign_timeout_s, write_wait_s, sign, sign_program
            ),
        )

    @classmethod
    def from_config(cls, root: Path, config: GitConfig, **kwargs: object) -> GitRepo:
        """A ``GitRepo`` with the ``[git]`` section of ``wavedeck.toml`` applied."""
        return cls(
            root,
            run_hooks=config.run_hooks,
            hook_timeout_s=config.hook_timeout_s,
            lock_wait_s=config.lock_wait_s,
            sign_timeout_s=config.sign_timeout_s,
            write_wait_s=config.write_wait_s,
            sign=config.sign,
            sign_program=config.sign_program,
            policy=RunPolicy(
                {
                    name: FilterDriver(f.clean, f.smudge, f.process, f.required)
                    for name, f in config.filters.items()
                }
            ),
            **kwargs,  # type: ignore[arg-type]
        )

    # -- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[GitCmd]:
        with self._lock:
            if self._closed:
                raise GitError(f"the repository {self.root} was closed")
            yield self._cmd

    def close(self) -> None:
        """Release the repository; later calls raise ``GitError``. Safe to call twice."""
        with self._lock:
            self._closed = True

    def __enter__(self) -> GitRepo:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- state ---------------------------------------------------------------------------------

    def head(self) -> str:
        """The commit HEAD points at; ``GitError`` when the branch has no commit yet."""
        with self._locked() as cmd:
            result = cmd.run(["rev-parse", "--verify", "-q", "HEAD^{commit}"], check=False)
        if result.rc != 0:
            raise GitError(f"{self.root}: HEAD has no commit yet (an empty repository)")
        return result.text.strip()

    def branch(self) -> str | None:
        """The checked-out branch's short name; ``None`` when HEAD is detached."""
        with self._locked() as cmd:
            result = cmd.run(["symbolic-ref", "-q", "--short", "HEAD"], check=False)
        return result.text.strip() if result.rc == 0 else None

    def in_progress_state(self) -> str | None:
        """``merge``, ``rebase``, ``cherry-pick``, ``revert``, ``bisect``, ``detached HEAD``,
        ``unmerged paths``, or ``None`` when a checkpoint may be made."""
        with self._locked() as cmd:
            return in_progress_state(cmd, self.git_dir)

    def ensure_excluded(self, pattern: str = "/.wavedeck/") -> None:
        """Add ``pattern`` to ``.git/info/exclude`` unless a line already says exactly that."""
        if not pattern.strip() or "\n" in pattern or "\r" in pattern:
            raise GitError(f"invalid exclude pattern {pattern!r}")
        with self._locked():
            exclude = self.common_dir / "info" / "exclude"
            exclude.parent.mkdir(parents=True, exist_ok=True)
            text = (
                exclude.read_text(encoding="utf-8", errors="surrogateescape")
                if exclude.exists()
                else ""
            )
            if pattern in text.splitlines():
                return
            prefix = "" if not text or text.endswith("\n") else "\n"
            with exclude.open("a", encoding="utf-8") as out:
                out.write(f"{prefix}# added by wavedeck (its run data)\n{pattern}\n")

    def worktree_tree(self) -> str:
        """The tree of the working tree as ``git add -A`` sees it (tracked files as they are now,
        untracked files that are not ignored), written without touching the user's index.

        A wave records it when it starts: whatever differs there from HEAD is the operator's own
        work, which the wave's checkpoint must leave alone (see ``tree_changes``).
        """
        with self._locked() as cmd, tempfile.TemporaryDirectory(prefix="wavedeck-tree-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            try:
                # A copy of the user's index keeps its stat data: unchanged files are not read.
                # copy2 keeps the index's own mtime too: git judges a "racily clean" entry (a file
                # rewritten in the second the index was written, same size) against it, and a
                # fresh mtime made such an edit look unchanged (the operator's wavedeck.toml).
                shutil.copy2(self.git_dir / "index", Path(tmp) / "index")
                cmd.run(["add", "-A", "--", "."], env=env, read_only=False)
            except (OSError, GitError):
                # No index yet, or one this copy cannot use (split index): start from HEAD.
                Path(tmp, "index").unlink(missing_ok=True)
                head = cmd.run(["rev-parse", "--verify", "-q", "HEAD^{commit}"], check=False)
                base = (
                    ["read-tree", head.text.strip()] if head.rc == 0 else ["read-tree", "--empty"]
                )
                cmd.run(base, env=env, read_only=False)
                cmd.run(["add", "-A", "--", "."], env=env, read_only=False)
            return cmd.run(["write-tree"], env=env, read_only=False).text.strip()

    def tree_changes(self, old: str, new: str) -> set[str]:
        """Every path whose content or mode differs between two trees (or commits); no renames:
        a renamed file is its old and its new path."""
        _check_rev(old)
        _check_rev(new)
        if old == new:
            return set()
        with self._locked() as cmd:
            out = cmd.run(["diff-tree", "-r", "--name-only", "--no-renames", "-z", old, new]).out
        return set(split_z(out))

    def has_object(self, sha: str) -> bool:
        """True when the object database holds ``sha`` (a ``git gc`` may have pruned it)."""
        _check_rev(sha)
        with self._locked() as cmd:
            return cmd.run(["cat-file", "-e", sha], check=False).rc == 0

    def keep_ref(self, ref: str, sha: str) -> None:
        """Point ``ref`` (a ``refs/wavedeck/...`` name wavedeck owns) at ``sha``: whatever a
        ref reaches, ``git gc`` keeps, even an unreachable tree such as a wave's start tree."""
        _check_own_ref(ref)
        _check_rev(sha)
        with self._locked() as cmd:
            cmd.run(["update-ref", "-m", "wavedeck: keep", ref, sha], read_only=False)

    def own_refs(self) -> list[str]:
        """The refs wavedeck owns (under ``refs/wavedeck/``) that exist now, by name."""
        with self._locked() as cmd:
            out = cmd.run(["for-each-ref", "--format=%(refname)", OWN_REFS]).out
        return out.decode("utf-8", "replace").split()

    def drop_ref(self, ref: str) -> None:
        """Delete ``ref`` (one wavedeck owns); nothing happens when it is not there."""
        _check_own_ref(ref)
        with self._locked() as cmd:
            cmd.run(["update-ref", "-d", ref], read_only=False, check=False)

    def is_ancestor(self, old: str, new: str) -> bool:
        """True when commit ``old`` is ``new`` or one of its ancestors."""
        _check_rev(old)
        _check_rev(new)
        with self._locked() as cmd:
            return cmd.run(["merge-base", "--is-ancestor", old, new], check=False).rc == 0

    def overlay_tree(self, tree: str, old: str, new: str) -> str:
        """``tree`` with every path that differs between commits ``old`` and ``new`` as
        ``new`` has it (added, changed or removed): a wave's start tree moved onto commits made
        during the wave. Written without touching the user's index."""
        _check_rev(tree)
        _check_rev(old)
        _check_rev(new)
        with self._locked() as cmd, tempfile.TemporaryDirectory(prefix="wavedeck-tree-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            raw = cmd.run(["diff-tree", "-r", "-z", "--no-renames", old, new]).out
            fields = raw.split(b"\0")
            entries = []
            for head, name in zip(fields[0::2], fields[1::2], strict=False):
                if not head.startswith(b":"):
                    continue
                _old_mode, mode, _old_sha, sha, _status = head[1:].decode().split()
                if set(sha) == {"0"}:
                    mode = "0"  # removed in ``new``: mode 0 removes the entry
                entries.append(f"{mode} {sha}\t".encode() + name + b"\0")
            cmd.run(["read-tree", tree], env=env, read_only=False)
            if entries:
                cmd.run(
                    ["update-index", "-z", "--index-info"],
                    env=env,
                    stdin=b"".join(entries),
                    read_only=False,
                )
            return cmd.run(["write-tree"], env=env, read_only=False).text.strip()

    def keeps_change(self, path: str, base: str, head: str) -> bool:
        """False when the working tree's ``path`` lacks what commit ``head`` changed in it since
        ``base`` (merging that change in would change the file); True when it has it, or when
        the two cannot be compared line by line (their changes overlap, or either is no
        regular file: the operator judges those)."""
        _check_rev(head)
        _check_path(path)
        current = self.root / path
        with self._locked() as cmd:
            version = cmd.run(["cat-file", "blob", f"{head}:{path}"], check=False)
        if version.rc != 0:  # the commit removed it: kept only if it is gone here too
            return not os.path.lexists(current)
        if not current.is_file() or current.is_symlink():
            return False
        with tempfile.TemporaryDirectory(prefix="wavedeck-keeps-") as tmp:
            theirs = Path(tmp) / "head"
            theirs.write_bytes(version.out)
            merged = self.merge_file(path, base, current, theirs)
        return merged is None or merged == current.read_bytes()

    def merge_file(self, path: str, base: str, current: Path, other: Path) -> bytes | None:
        """Both sides' changes to ``path``: a three-way merge of the files ``current`` and
        ``other`` from the version at commit ``base`` (none: both added it). None when they
        change the same lines, or either is not a regular file (binary files do not merge)."""
        _check_rev(base)
        _check_path(path)
        for side in (current, other):
            if side.is_symlink() or not side.is_file():
                return None
        with self._locked() as cmd, tempfile.TemporaryDirectory(prefix="wavedeck-merge-") as tmp:
            old = cmd.run(["cat-file", "blob", f"{base}:{path}"], check=False)
            ancestor = Path(tmp) / "base"
            ancestor.write_bytes(old.out if old.rc == 0 else b"")
            result = cmd.run(
                ["merge-file", "-p", "--quiet", str(current), str(ancestor), str(other)],
                check=False,
            )
        return result.out if result.rc == 0 else None

    # -- diffs ---------------------------------------------------------------------------------

    def changed_files(self, base: str) -> list[ChangedFile]:
        """Every path that differs between commit ``base`` and the working tree, sorted.

        Tracked changes (with renames, line counts, binary flags and modes) come from one
        ``git diff --raw --numstat -z -M base``; untracked files (not ignored) from
        ``git ls-files -o --exclude-standard`` and are reported as ``A`` with ``untracked``.
        """
        _check_rev(base)
        with self._locked() as cmd:
            # Both commands only read; running them side by side halves the wall time.
            listing = cmd.spawn(["ls-files", "-o", "--exclude-standard", "-z"])
            try:
                diff = cmd.run(["diff", "--raw", "--numstat", "-z", "-M", *_DIFF_OPTS, base, "--"])
            except BaseException:
                with suppress(GitError):
                    listing()  # reap it; the diff's error is the one to report
                raise
            others = listing()
        tracked = parse_raw_numstat(diff.out)
        names = split_z(others.out)
        untracked = [
            untracked_file(self.root, p, count=i < _COUNTED_UNTRACKED) for i, p in enumerate(names)
        ]
        return merge_untracked(tracked, untracked)

    def file_diff(
        self, path: str, base: str, *, old_path: str | None = None, max_bytes: int = _DIFF_LIMIT
    ) -> str:
        """The unified diff of one file between ``base`` and the working tree.

        An untracked file is diffed against ``/dev/null``. Pass ``old_path`` for a rename to get
        a rename diff. Output beyond ``max_bytes`` is cut and says so.
        """
        _check_rev(base)
        _check_path(path)
        if old_path is not None:
            _check_path(old_path)
        names = [old_path, path] if old_path else [path]
        # git's output is read up to max_bytes and git stopped there: a diff of a huge file
        # costs max_bytes of memory, not the file's size.
        with self._locked() as cmd:
            result, cut = cmd.run_capped(
                ["diff", "-M", *_PATCH_OPTS, base, "--", *names], max_bytes
            )
            if result.rc != 0:
                raise GitError(failure_message(["diff"], result))
            untracked = (
                not result.out
                and os.path.lexists(self.root / path)
                and not cmd.run(["ls-files", "-z", "--", path]).out
            )
            size = os.lstat(self.root / path).st_size if untracked else 0
            if untracked and size > BIG_FILE:
                # git would read it all to call it binary (seconds for a gigabyte): say so.
                return (
                    f"new file {path}: {size} bytes, not shown (over {BIG_FILE} bytes; "
                    "listed as binary)\n"
                )
            if untracked:
                no_index = ["diff", "--no-index", *_PATCH_OPTS, "--", "/dev/null", path]
                result, cut = cmd.run_capped(no_index, max_bytes)
                if result.rc not in (0, 1):
                    raise GitError(f"git diff --no-index failed: {result.err.strip()}")
        text = result.out[:max_bytes].decode("utf-8", "replace")
        if cut:
            text += f"\n[wavedeck: diff cut at {max_bytes} of more than {max_bytes} bytes]\n"
        return text

    def tree_files(self, old: str, new: str) -> list[ChangedFile]:
        """The files that differ between two trees (or commits), renames found, sorted: what a
        wave changed between the tree it started on and the tree of the working tree now."""
        _check_rev(old)
        _check_rev(new)
        with self._locked() as cmd:
            diff = cmd.run(["diff", "--raw", "--numstat", "-z", "-M", *_DIFF_OPTS, old, new, "--"])
        return sorted(parse_raw_numstat(diff.out), key=lambda f: f.path)

    def tree_patch(
        self, old: str, new: str, paths: Sequence[str] = (), *, max_bytes: int = _DIFF_LIMIT
    ) -> str:
        """The patch between two trees (or commits), for ``paths`` or every file; decoded with
        ``surrogateescape`` (a hunk revert writes the bytes back exactly); cut at ``max_bytes``
        with a note (``wavedeck.agents.git.hunks.CUT_MARK``)."""
        _check_rev(old)
        _check_rev(new)
        for path in paths:
            _check_path(path)
        # Read up to max_bytes and git stopped there: a wave's huge file costs max_bytes of
        # memory in the review, not its size.
        with self._locked() as cmd:
            result, cut = cmd.run_capped(
                ["diff", "-M", *_PATCH_OPTS, old, new, "--", *paths], max_bytes
            )
            if result.rc != 0:
                raise GitError(failure_message(["diff"], result))
        text = result.out[:max_bytes].decode("utf-8", "surrogateescape")
        if cut:
            text += f"\n[wavedeck: diff cut at {max_bytes} of more than {max_bytes} bytes]\n"
        return text

    def identity(self) -> str:
        """Who commits here (``Name <email>``, as git would record it); ``GitError`` if unset."""
        with self._locked() as cmd:
            found = cmd.run(["var", "GIT_COMMITTER_IDENT"], check=False)
        if found.rc != 0:
            raise GitError(f"git has no identity here: {found.err.strip()}")
        return found.text.strip().rsplit(" ", 2)[0]

    def blob(self, treeish: str, path: str) -> bytes | None:
        """The content of ``path`` in a tree or commit; None when it has no such file."""
        _check_rev(treeish)
        _check_path(path)
        with self._locked() as cmd:
            found = cmd.run(["cat-file", "blob", f"{treeish}:{path}"], check=False)
        return found.out if found.rc == 0 else None

    # -- actions -------------------------------------------------------------------------------

    def revert_file(self, path: str, base: str) -> None:
        """Put ``path`` in the working tree back to its content at ``base``.

        A file that did not exist at ``base`` is deleted. Only the working tree changes; the
        user's index is not touched. For a rename, revert both the new and the old path.
        """
        _check_rev(base)
        _check_path(path)
        problem = link_problem(self.root, path)
        if problem is not None and problem.startswith("parent"):
            raise GitError(f"cannot revert {path}: {problem}")
        full = self.root / path
        with self._locked() as cmd:
            listed = cmd.run(["ls-tree", "-z", base, "--", path]).out
            if not listed:
                if full.is_dir() and not full.is_symlink():
                    raise GitError(f"cannot revert {path}: it is a folder now")
                if os.path.lexists(full):
                    full.unlink()
                return
            mode, kind, sha = listed.split(b"\t", 1)[0].decode().split()
            if kind != "blob":
                raise GitError(f"cannot revert {path}: it is a {kind} at {base}, not a file")
            if full.is_dir() and not full.is_symlink():
                raise GitError(f"cannot revert {path}: it is a folder now")
            # A one-entry temporary index lets checkout-index write the file with its mode,
            # link-ness and the repository's filters, without touching the user's index.
            with tempfile.TemporaryDirectory(prefix="wavedeck-revert-") as tmp:
                env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
                cmd.run(
                    ["update-index", "--add", "--cacheinfo", f"{mode},{sha},{path}"],
                    env=env,
                    read_only=False,
                )
                cmd.run(["checkout-index", "-f", "--", path], env=env, read_only=False)

    def checkpoint(
        self, paths: Sequence[str], message: str, *, expected_head: str | None = None
    ) -> str:
        """Commit exactly ``paths`` (their working-tree content) on the current branch.

        Args:
            paths: repo-relative files to commit (added, modified or deleted); nothing else is.
            message: the full commit message (``wavedeck.agents.wave.message``).
            expected_head: refuse unless HEAD is still this commit (the wave's base).

        Returns:
            The new commit's sha.

        Raises:
            CheckpointRefused: unsafe names or links, an operation in progress, detached HEAD,
                conflict markers, nothing to commit, HEAD moved, a file never stopped changing,
                a hook failed (when hooks are on).
            CheckpointIndexStale: committed, but the user's index could not be refreshed.
            GitError: git failed (a lock held too long, signing failed or timed out, …).
        """
        with self._locked():
            return self._checkpointer.commit(paths, message, expected_head)

    def prepare_checkpoint(
        self, paths: Sequence[str], message: str, *, expected_head: str | None = None
    ) -> PreparedCheckpoint:
        """``checkpoint`` up to the commit, the branch not moved yet (``land_checkpoint``);
        raises as ``checkpoint`` does."""
        with self._locked():
            return self._checkpointer.prepare(paths, message, expected_head)

    def land_checkpoint(self, prepared: PreparedCheckpoint) -> str:
        """Move the branch to a prepared checkpoint (``CheckpointRefused`` if it moved
        meanwhile) and refresh the user's index (``CheckpointIndexStale`` if it cannot be)."""
        with self._locked():
            return self._checkpointer.land(prepared)

    def refresh_index(self, commit: str, paths: Sequence[str]) -> None:
        """The user's index entries of ``paths`` as the checkpoint ``commit`` has them
        (``CheckpointIndexStale`` when the index cannot be written)."""
        _check_rev(commit)
        with self._locked():
            self._checkpointer.refresh_index(commit, paths)

    # -- tamper evidence -----------------------------------------------------------------------

    def tamper_snapshot(self) -> dict[str, str]:
        """Fingerprints of ``.git/config`` (setting by setting), ``info/attributes`` and hooks."""
        with self._locked() as cmd:
            return git_tamper.snapshot(cmd, self.root, self.git_dir, self.common_dir)

    def tamper_findings(self, before: dict[str, str]) -> list[git_tamper.TamperFinding]:
        """What changed since ``before`` (a ``tamper_snapshot``), as facts."""
        return git_tamper.findings(before, self.tamper_snapshot())

    def neutralised_filters(self) -> list[str]:
        """The filter drivers git's configuration (any scope) defines that wavedeck's git
        does not run (not enabled in ``[git.filters]``): files using them look changed to it."""
        with self._locked() as cmd:
            drivers = cmd.drivers()
            enabled = cmd.policy.filters if cmd.policy is not None else {}
        return sorted(name for name in drivers.filters if name not in enabled)

    def tamper_restore(
        self, finding: git_tamper.TamperFinding, old: str | None, quarantine: Path
    ) -> str | None:
        """Undo one finding (``wavedeck.agents.git.tamper.restore``): None when undone, else
        why not."""
        with self._locked() as cmd:
            return git_tamper.restore(
                cmd, self.root, self.git_dir, self.common_dir, finding, old, quarantine
            )
