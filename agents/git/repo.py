"""The git layer: safe checkpoints, changed-file lists, per-file diffs and review actions.

``GitRepo`` is the one object the supervisor and the diff review use. Its methods block (call
them with ``asyncio.to_thread``); one command runs at a time per repository; every command runs
with hooks and fsmonitor off and literal pathspecs (``wavedeck.agents.git.cmd``). Failures raise
``GitError`` with a message for the operator; a checkpoint refused on purpose raises
``CheckpointRefused`` with a ``code``, its ``paths`` and ``detail``. The work behind the methods
lives in the modules they name: ``changes`` (file lists, diffs), ``trees`` (trees and files
through a temporary index), ``merges``, ``refs``, ``busy``, ``exclude``, ``checkpoint`` and
``tamper``; this class holds the repository's lock around each.

Example::

    repo = GitRepo(Path("."))
    base = repo.head()
    ...  # the wave runs
    files = repo.changed_files(base)
    sha = repo.checkpoint([f.path for f in files], message, expected_head=base)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from wavedeck.agents.git import busy, changes, merges, refs, trees
from wavedeck.agents.git import tamper as git_tamper
from wavedeck.agents.git.checkpoint import Checkpointer, CheckpointOptions, PreparedCheckpoint
from wavedeck.agents.git.cmd import GitCmd
from wavedeck.agents.git.diff import ChangedFile
from wavedeck.agents.git.errors import GitError
from wavedeck.agents.git.exclude import ensure_excluded
from wavedeck.agents.git.guard import (
    NO_PROGRAMS,
    FilterDriver,
    RunPolicy,
    neutralised,
    policy_for,
    set_policy,
)
from wavedeck.agents.git.locks import repo_lock
from wavedeck.agents.git.paths import check_path
from wavedeck.agents.git.refs import check_rev
from wavedeck.agents.git.tamper_copies import keep as keep_copies

if TYPE_CHECKING:
    from wavedeck.agents.config import GitConfig

__all__ = ["GitRepo"]

# Where the repository is: its top folder, its git dir and the common one (worktrees share it).
_LOCATE = (
    "rev-parse",
    "--path-format=absolute",
    "--show-toplevel",
    "--git-dir",
    "--git-common-dir",
)


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
        runner = partial(
            GitCmd, timeout_s=timeout_s, lock_wait_s=lock_wait_s, on_lock_wait=on_lock_wait
        )
        found = runner(start, policy=policy or NO_PROGRAMS).run(_LOCATE, check=False)
        if found.rc != 0:
            raise GitError(f"not a usable git repository: {start}: {found.err.strip()}")
        top, git_dir, common_dir = found.text.splitlines()[:3]
        self.root = Path(top).resolve()
        self.git_dir = Path(git_dir)
        self.common_dir = Path(common_dir)
        if policy is not None:
            set_policy(str(self.common_dir), policy)
        self._cmd = runner(self.root, policy=policy_for(str(self.common_dir)))
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

    def in_progress_state(self) -> busy.BusyState | None:
        """``merge``, ``rebase``, ``cherry-pick``, ``revert``, ``bisect``, ``detached HEAD``,
        ``unmerged paths`` (``busy.in_progress_state``), or ``None`` when a checkpoint may be
        made."""
        with self._locked() as cmd:
            return busy.in_progress_state(cmd, self.git_dir)

    def ensure_excluded(self, pattern: str = "/.wavedeck/") -> None:
        """Add ``pattern`` to ``.git/info/exclude`` unless a line already says exactly that."""
        with self._locked():
            ensure_excluded(self.common_dir, pattern)

    def worktree_tree(self) -> str:
        """The working tree as ``git add -A`` sees it, as a tree (``trees.worktree_tree``).

        A wave records it when it starts: whatever differs there from HEAD is the operator's own
        work, which the wave's checkpoint must leave alone (see ``tree_changes``).
        """
        with self._locked() as cmd:
            return trees.worktree_tree(cmd, self.git_dir)

    def tree_changes(self, old: str, new: str) -> set[str]:
        """Every path whose content or mode differs between two trees (or commits); no renames:
        a renamed file is its old and its new path (``changes.tree_paths``)."""
        with self._locked() as cmd:
            return changes.tree_paths(cmd, old, new)

    def has_object(self, sha: str) -> bool:
        """True when the object database holds ``sha`` (a ``git gc`` may have pruned it)."""
        check_rev(sha)
        with self._locked() as cmd:
            return cmd.run(["cat-file", "-e", sha], check=False).rc == 0

    def keep_ref(self, ref: str, sha: str) -> None:
        """Point ``ref`` (one wavedeck owns) at ``sha``, kept from ``git gc`` (``refs.keep``)."""
        with self._locked() as cmd:
            refs.keep(cmd, ref, sha)

    def own_refs(self) -> list[str]:
        """The refs wavedeck owns (under ``refs/wavedeck/``) that exist now, by name."""
        with self._locked() as cmd:
            return refs.owned(cmd)

    def drop_ref(self, ref: str) -> None:
        """Delete ``ref`` (one wavedeck owns); nothing happens when it is not there."""
        with self._locked() as cmd:
            refs.drop(cmd, ref)

    def is_ancestor(self, old: str, new: str) -> bool:
        """True when commit ``old`` is ``new`` or one of its ancestors."""
        check_rev(old)
        check_rev(new)
        with self._locked() as cmd:
            return cmd.run(["merge-base", "--is-ancestor", old, new], check=False).rc == 0

    def overlay_tree(self, tree: str, old: str, new: str) -> str:
        """``tree`` with the changes between commits ``old`` and ``new`` laid over it: a wave's
        start tree moved onto commits made during the wave (``trees.overlay_tree``)."""
        with self._locked() as cmd:
            return trees.overlay_tree(cmd, tree, old, new)

    def keeps_change(self, path: str, base: str, head: str) -> bool:
        """Whether the working tree's ``path`` has what commit ``head`` changed in it since
        ``base`` (``merges.keeps_change``: True too when the two cannot be compared)."""
        with self._locked() as cmd:
            return merges.keeps_change(cmd, self.root, path, base, head)

    def merge_file(self, path: str, base: str, current: Path, other: Path) -> bytes | None:
        """The three-way merge of ``current`` and ``other`` from ``path`` at ``base``; None when
        they change the same lines or are no regular files (``merges.merge_file``)."""
        with self._locked() as cmd:
            return merges.merge_file(cmd, path, base, current, other)

    # -- diffs ---------------------------------------------------------------------------------

    def changed_files(self, base: str) -> list[ChangedFile]:
        """Every path that differs between commit ``base`` and the working tree, untracked
        files included, sorted (``changes.changed_files``)."""
        with self._locked() as cmd:
            return changes.changed_files(cmd, self.root, base)

    def file_diff(
        self,
        path: str,
        base: str,
        *,
        old_path: str | None = None,
        max_bytes: int = changes.DIFF_LIMIT,
    ) -> str:
        """The unified diff of one file between ``base`` and the working tree (an untracked one
        against ``/dev/null``; ``old_path``: a rename), cut past ``max_bytes`` with a note."""
        with self._locked() as cmd:
            return changes.file_diff(
                cmd, self.root, path, base, old_path=old_path, max_bytes=max_bytes
            )

    def tree_files(self, old: str, new: str) -> list[ChangedFile]:
        """The files that differ between two trees (or commits), renames found, sorted: what a
        wave changed between the tree it started on and the tree of the working tree now."""
        with self._locked() as cmd:
            return changes.tree_files(cmd, old, new)

    def tree_patch(
        self, old: str, new: str, paths: Sequence[str] = (), *, max_bytes: int = changes.DIFF_LIMIT
    ) -> str:
        """The patch between two trees (or commits), for ``paths`` or every file, cut at
        ``max_bytes`` with a note (``changes.tree_patch``)."""
        with self._locked() as cmd:
            return changes.tree_patch(cmd, old, new, paths, max_bytes=max_bytes)

    def identity(self) -> str:
        """Who commits here (``Name <email>``, as git would record it); ``GitError`` if unset."""
        with self._locked() as cmd:
            found = cmd.run(["var", "GIT_COMMITTER_IDENT"], check=False)
        if found.rc != 0:
            raise GitError(f"git has no identity here: {found.err.strip()}")
        return found.text.strip().rsplit(" ", 2)[0]

    def blob(self, treeish: str, path: str) -> bytes | None:
        """The content of ``path`` in a tree or commit; None when it has no such file."""
        check_rev(treeish)
        check_path(path)
        with self._locked() as cmd:
            found = cmd.run(["cat-file", "blob", f"{treeish}:{path}"], check=False)
        return found.out if found.rc == 0 else None

    # -- actions -------------------------------------------------------------------------------

    def revert_file(self, path: str, base: str) -> None:
        """Put ``path`` in the working tree back to its content at ``base`` (deleted when it did
        not exist there); the user's index is not touched (``trees.revert_file``)."""
        with self._locked() as cmd:
            trees.revert_file(cmd, self.root, path, base)

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
        check_rev(commit)
        with self._locked():
            self._checkpointer.refresh_index(commit, paths)

    # -- tamper evidence -----------------------------------------------------------------------

    def tamper_snapshot(self, keep_in: Path | None = None) -> dict[str, str]:
        """Fingerprints of ``.git/config`` (setting by setting), ``info/attributes`` and hooks;
        with ``keep_in``, a copy of each hook and file kept there too, so undo can put it back."""
        with self._locked() as cmd:
            found = git_tamper.snapshot(cmd, self.root, self.git_dir, self.common_dir)
            if keep_in is not None:
                files = git_tamper.copied_files(found, self.root, self.git_dir, self.common_dir)
                keep_copies(files, keep_in)
            return found

    def tamper_findings(self, before: dict[str, str]) -> list[git_tamper.TamperFinding]:
        """What changed since ``before`` (a ``tamper_snapshot``), as facts."""
        return git_tamper.findings(before, self.tamper_snapshot())

    def neutralised_filters(self) -> list[str]:
        """The filter drivers git's configuration (any scope) defines that wavedeck's git
        does not run (not enabled in ``[git.filters]``): files using them look changed to it."""
        with self._locked() as cmd:
            return neutralised(cmd.drivers(), cmd.policy)

    def tamper_restore(
        self,
        finding: git_tamper.TamperFinding,
        old: str | None,
        quarantine: Path,
        copies: Path | None = None,
    ) -> str | None:
        """Undo one finding (``wavedeck.agents.git.tamper.restore``): None when undone, else
        why not."""
        with self._locked() as cmd:
            return git_tamper.restore(
                cmd, self.root, self.git_dir, self.common_dir, finding, old, quarantine, copies
            )
