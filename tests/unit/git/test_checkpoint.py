"""Checkpoint commits on real repositories: matrix rows C1–C3, C9, C10, C12, C13, C15, C16."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.unit.git.repokit import Repo
from wavedeck.agents.git.errors import CheckpointRefused
from wavedeck.agents.git.repo import GitRepo


def test_commits_exactly_the_declared_paths_and_leaves_others_alone(
    repo: Repo, git_repo: GitRepo
) -> None:
    # C3: undeclared changes (modified and new) are neither committed nor touched.
    base = repo.head()
    repo.write("a.txt", "agent wrote this\n")
    repo.write("lib/new.py", "x = 1\n")
    (repo.root / "b.txt").unlink()
    repo.write("undeclared.txt", "stray\n")
    repo.write("lib/c.py", "print('changed but undeclared')\n")

    sha = git_repo.checkpoint(["a.txt", "lib/new.py", "b.txt"], "wave 1", expected_head=base)

    assert repo.head() == sha
    assert repo.git("rev-parse", f"{sha}^").strip() == base
    assert repo.commit_files(sha) == ["a.txt", "b.txt", "lib/new.py"]
    assert repo.show(sha, "a.txt") == "agent wrote this\n"
    assert repo.git("log", "-1", "--format=%B", sha).strip() == "wave 1"
    status = repo.git("status", "--porcelain").splitlines()
    assert sorted(status) == [" M lib/c.py", "?? undeclared.txt"]
    leftover = {f.path for f in git_repo.changed_files(sha)}
    assert leftover == {"lib/c.py", "undeclared.txt"}


@pytest.mark.slow
def test_nothing_to_commit_is_refused_and_no_empty_commit_is_made(
    repo: Repo, git_repo: GitRepo
) -> None:
    # C16: a second checkpoint of the same paths makes no commit.
    repo.write("a.txt", "changed\n")
    first = git_repo.checkpoint(["a.txt"], "one")
    with pytest.raises(CheckpointRefused) as refused:
        git_repo.checkpoint(["a.txt"], "two")
    assert refused.value.code == "nothing-to-commit"
    assert repo.head() == first
    with pytest.raises(CheckpointRefused) as refused:
        git_repo.checkpoint(["never-created.txt"], "three")
    assert refused.value.code == "nothing-to-commit"


def test_expected_head_mismatch_is_refused(repo: Repo, git_repo: GitRepo) -> None:
    base = repo.head()
    moved = repo.commit("user commit", **{"b.txt": "user\n"})
    repo.write("a.txt", "agent\n")
    with pytest.raises(CheckpointRefused) as refused:
        git_repo.checkpoint(["a.txt"], "wave", expected_head=base)
    assert refused.value.code == "head-changed"
    assert base[:12] in refused.value.detail and moved[:12] in refused.value.detail
    assert repo.head() == moved


@pytest.mark.slow
def test_a_commit_made_during_the_checkpoint_is_never_lost(repo: Repo, git_repo: GitRepo) -> None:
    # C10: a commit lands between the tree build and update-ref; the CAS refuses.
    base = repo.head()
    repo.write("a.txt", "agent\n")
    made: list[str] = []

    def user_commits() -> None:
        made.append(repo.commit("user commit meanwhile", **{"b.txt": "user\n"}))

    git_repo._checkpointer.before_update_ref = user_commits
    with pytest.raises(CheckpointRefused) as refused:
        git_repo.checkpoint(["a.txt"], "wave", expected_head=base)
    assert refused.value.code == "branch-moved" and refused.value.detail  # what git said
    assert repo.head() == made[0]  # nothing was overwritten
    assert repo.git("rev-parse", "HEAD^").strip() == base
    # The agent's work is still in the working tree, unstaged, ready for the retry.
    assert repo.read("a.txt") == "agent\n"
    assert repo.git("diff", "--cached", "--name-only") == ""
    git_repo._checkpointer.before_update_ref = None
    sha = git_repo.checkpoint(["a.txt"], "wave retry", expected_head=made[0])
    assert repo.git("rev-parse", f"{sha}^").strip() == made[0]


def test_partially_staged_user_changes_survive_exactly(repo: Repo, git_repo: GitRepo) -> None:
    # C9: the user staged one hunk of b.txt (another left unstaged) and a new file; the agent
    # changed a.txt. After the checkpoint of a.txt the user's index shows the same staged diff.
    repo.write("b.txt", "bee\nstaged hunk\n")
    repo.git("add", "b.txt")
    repo.write("b.txt", "bee\nstaged hunk\nunstaged hunk\n")
    repo.write("staged-new.txt", "new and staged\n")
    repo.git("add", "staged-new.txt")
    repo.write("a.txt", "agent\n")
    cached_before = repo.git("diff", "--cached")
    unstaged_b_before = repo.git("diff", "--", "b.txt")
    assert "staged hunk" in cached_before and "unstaged hunk" in unstaged_b_before

    sha = git_repo.checkpoint(["a.txt"], "wave")

    assert repo.commit_files(sha) == ["a.txt"]
    assert repo.git("diff", "--cached") == cached_before
    assert repo.git("diff", "--", "b.txt") == unstaged_b_before
    # The checkpointed path is neither staged nor modified any more: index follows the commit.
    assert repo.git("status", "--porcelain", "--", "a.txt") == ""


def test_a_checkpointed_path_the_user_had_staged_follows_the_commit(
    repo: Repo, git_repo: GitRepo
) -> None:
    repo.write("a.txt", "user staged\n")
    repo.git("add", "a.txt")
    repo.write("a.txt", "agent final\n")
    sha = git_repo.checkpoint(["a.txt"], "wave")
    assert repo.show(sha, "a.txt") == "agent final\n"
    assert repo.git("diff", "--cached") == ""
    assert repo.git("status", "--porcelain") == ""


@pytest.mark.parametrize(
    "name",
    [
        "*.py",
        ":(exclude)x",
        "-f",
        "../up.txt",
        "/etc/passwd",
        ".git/config",
        "a.txt/",
        "a\u202etxt.py",  # a bidi override: reads as another name
        "cafe\u0301.txt",  # not NFC: 'café' as e + combining accent
    ],
)
def test_unsafe_names_are_refused_before_git(repo: Repo, git_repo: GitRepo, name: str) -> None:
    # C12: [observed] ':(exclude)x' as a pathspec stages everything else.
    base = repo.head()
    repo.write("a.txt", "changed\n")
    repo.write("x", "x\n")
    repo.write("lib/new.py", "y\n")
    with pytest.raises(CheckpointRefused) as refused:
        git_repo.checkpoint([name], "wave")
    assert (refused.value.code, refused.value.paths) == ("unsafe-paths", (name,))
    assert repr(name) in refused.value.detail  # with why, from the path policy
    assert repo.head() == base


@pytest.mark.slow
def test_brackets_are_literal_names(repo: Repo, git_repo: GitRepo) -> None:
    repo.write("pages/[id].tsx", "route\n")
    repo.write("pages/i.tsx", "not matched by the glob\n")
    sha = git_repo.checkpoint(["pages/[id].tsx"], "wave")
    assert repo.commit_files(sha) == ["pages/[id].tsx"]


def test_a_path_through_a_symlinked_folder_is_refused(repo: Repo, git_repo: GitRepo) -> None:
    # C13: `ln -s /etc cfg`, declare cfg/passwd.
    base = repo.head()
    os.symlink("/etc", repo.root / "cfg")
    with pytest.raises(CheckpointRefused) as refused:
        git_repo.checkpoint(["cfg/passwd"], "wave")
    assert (refused.value.code, refused.value.paths) == ("symlinked-paths", ("cfg/passwd",))
    assert "parent folder cfg is a symbolic link" in refused.value.detail  # the path policy's
    assert repo.head() == base


def test_a_new_symlink_pointing_outside_is_refused(repo: Repo, git_repo: GitRepo) -> None:
    os.symlink("/etc/passwd", repo.root / "evil")
    os.symlink("evil", repo.root / "chained")  # inside, but resolves outside
    for name in ("evil", "chained"):
        with pytest.raises(CheckpointRefused) as refused:
            git_repo.checkpoint([name], "wave")
        assert (refused.value.code, refused.value.paths) == ("symlinked-paths", (name,))
        assert "pointing outside" in refused.value.detail  # the path policy's


def test_symlinks_inside_the_repo_and_committed_outside_links_are_fine(
    repo: Repo, git_repo: GitRepo
) -> None:
    os.symlink("/usr/share", repo.root / "share")
    repo.git("add", "share")
    repo.git("commit", "-q", "-m", "a link the team committed")
    os.symlink("a.txt", repo.root / "good")
    repo.write("b.txt", "changed\n")
    sha = git_repo.checkpoint(["good", "share", "b.txt"], "wave")
    assert repo.commit_files(sha) == ["b.txt", "good"]
    assert repo.git("ls-tree", sha, "good").startswith("120000 ")


def test_leftover_conflict_markers_are_refused(repo: Repo, git_repo: GitRepo) -> None:
    # C2: the agent left markers in a declared file; trailing spaces alone are not a reason.
    base = repo.head()
    repo.write("a.txt", "ok  \n<<<<<<< HEAD\nmine\n=======\ntheirs\n>>>>>>> side\n")
    repo.write("b.txt", "trailing space only   \n")
    with pytest.raises(CheckpointRefused) as refused:
        git_repo.checkpoint(["a.txt", "b.txt"], "wave")
    assert (refused.value.code, refused.value.paths) == ("conflict-markers", ("a.txt",))
    assert repo.head() == base
    sha = git_repo.checkpoint(["b.txt"], "wave")
    assert repo.commit_files(sha) == ["b.txt"]


def test_merge_in_progress_is_refused_and_the_repo_is_untouched(
    repo: Repo, git_repo: GitRepo
) -> None:
    # C1: [observed] `commit -a` here would commit the markers.
    repo.make_conflict("merge")
    head, status = repo.head(), repo.git("status", "--porcelain")
    cached = repo.git("diff", "--cached")
    with pytest.raises(CheckpointRefused) as refused:
        git_repo.checkpoint(["a.txt"], "wave")
    assert (refused.value.code, refused.value.detail) == ("git-busy", "merge")
    assert repo.head() == head
    assert repo.git("status", "--porcelain") == status
    assert repo.git("diff", "--cached") == cached
    assert git_repo.in_progress_state() == "merge"
    # Unmerged entries without a MERGE_HEAD (an aborted tool left them) are refused too.
    (repo.root / ".git" / "MERGE_HEAD").unlink()
    assert git_repo.in_progress_state() == "unmerged paths"
    with pytest.raises(CheckpointRefused) as refused:
        git_repo.checkpoint(["a.txt"], "wave")
    assert (refused.value.code, refused.value.detail) == ("git-busy", "unmerged paths")


@pytest.mark.parametrize("op", ["rebase", "cherry-pick", "revert"])
def test_operations_in_progress_are_refused_by_name(repo: Repo, git_repo: GitRepo, op: str) -> None:
    # C15
    repo.make_conflict(op)
    head = repo.git("rev-parse", "HEAD").strip()
    with pytest.raises(CheckpointRefused) as refused:
        git_repo.checkpoint(["b.txt"], "wave")
    assert (refused.value.code, refused.value.detail) == ("git-busy", op)
    assert git_repo.in_progress_state() == op
    assert repo.git("rev-parse", "HEAD").strip() == head


def test_bisect_and_detached_head_are_refused(repo: Repo, git_repo: GitRepo) -> None:
    # C15
    repo.commit("second", **{"b.txt": "2\n"})
    repo.write("a.txt", "agent\n")
    repo.git("bisect", "start")
    with pytest.raises(CheckpointRefused) as refused:
        git_repo.checkpoint(["a.txt"], "wave")
    assert (refused.value.code, refused.value.detail) == ("git-busy", "bisect")
    repo.git("bisect", "reset")
    repo.git("checkout", "-q", "--detach")
    assert git_repo.branch() is None
    with pytest.raises(CheckpointRefused) as refused:
        git_repo.checkpoint(["a.txt"], "wave")
    assert (refused.value.code, refused.value.detail) == ("git-busy", "detached HEAD")
    repo.git("checkout", "-q", "main")
    assert git_repo.branch() == "main"
    assert git_repo.checkpoint(["a.txt"], "wave") == repo.head()


def test_first_commit_on_an_empty_repository(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    repo = Repo.__new__(Repo)
    repo.root = root
    repo.git("init", "-q", "-b", "main")
    repo.git("config", "user.email", "dev@example.com")
    repo.git("config", "user.name", "Dev")
    repo.write("first.txt", "hello\n")
    with GitRepo(root) as git_repo:
        sha = git_repo.checkpoint(["first.txt"], "first")
        assert git_repo.head() == sha
    assert repo.git("ls-tree", "--name-only", sha).split() == ["first.txt"]


def test_executable_bit_and_deletion_are_committed(repo: Repo, git_repo: GitRepo) -> None:
    (repo.root / "lib" / "c.py").chmod(0o755)
    (repo.root / "b.txt").unlink()
    sha = git_repo.checkpoint(["lib/c.py", "b.txt"], "wave")
    assert repo.git("ls-tree", sha, "lib/c.py").startswith("100755 ")
    assert repo.git("ls-tree", sha, "b.txt") == ""
    assert repo.git("status", "--porcelain") == ""


def test_folders_are_refused(repo: Repo, git_repo: GitRepo) -> None:
    repo.write("lib/d.py", "d\n")
    with pytest.raises(CheckpointRefused) as refused:
        git_repo.checkpoint(["lib"], "wave")
    assert (refused.value.code, refused.value.paths) == ("folders-declared", ("lib",))


@pytest.mark.slow
def test_a_large_checkpoint_of_hundreds_of_files(repo: Repo, git_repo: GitRepo) -> None:
    names = [f"gen/f{i:04d}.txt" for i in range(700)]
    for name in names:
        repo.write(name, f"{name}\n")
    repo.write("b.txt", "user staged\n")
    repo.git("add", "b.txt")
    cached = repo.git("diff", "--cached")
    sha = git_repo.checkpoint(names, "many files")
    assert len(repo.commit_files(sha)) == 700
    assert repo.git("diff", "--cached") == cached
    assert repo.git("status", "--porcelain", "--", "gen") == ""


def test_checkpoint_in_a_linked_worktree(repo: Repo, tmp_path: Path) -> None:
    tree = tmp_path / "wt-w1-a1"
    repo.git("worktree", "add", "-q", "-b", "w1-a1", str(tree))
    repo.write("b.txt", "main tree edit\n")
    (tree / "a.txt").write_text("agent in its worktree\n")
    main_head = repo.head()
    with GitRepo(tree) as git_repo:
        assert git_repo.branch() == "w1-a1"
        assert git_repo.git_dir != git_repo.common_dir
        base = git_repo.head()
        sha = git_repo.checkpoint(["a.txt"], "wave", expected_head=base)
    assert repo.git("rev-parse", "w1-a1").strip() == sha
    assert repo.head() == main_head
    assert repo.git("status", "--porcelain") == " M b.txt\n"


def test_message_with_trailers_and_non_ascii_text_is_kept(repo: Repo, git_repo: GitRepo) -> None:
    trailers = (
        "Wavedeck-Wave: 1\nWavedeck-Issues: headless-01, headless-02\n"
        "Wavedeck-Tests: passed\nWavedeck-Accepted: tests/**: policy"
    )
    message = f"Wave 1 — CRITICAL fixes (ünïcode)\n\nTwo issues.\n\n{trailers}"
    repo.write("a.txt", "agent\n")
    sha = git_repo.checkpoint(["a.txt"], message)
    assert repo.git("log", "-1", "--format=%B", sha) == message + "\n\n"
    parsed = repo.git("log", "-1", "--format=%(trailers:only,unfold)", sha)
    assert "Wavedeck-Issues: headless-01, headless-02" in parsed
    assert "Wavedeck-Accepted: tests/**: policy" in parsed


def test_the_working_tree_as_a_tree_leaves_the_users_index_alone(
    repo: Repo, git_repo: GitRepo
) -> None:
    # #12.2: what a wave records at its start (the operator's own work as a tree object).
    base = repo.head()
    assert git_repo.worktree_tree() == repo.git("rev-parse", f"{base}^{{tree}}").strip()
    repo.write("NOTES.md", "my notes\n")
    repo.git("add", "NOTES.md")
    repo.write("a.txt", "edited, not staged\n")
    repo.write("scratch.txt", "untracked\n")
    repo.write(".gitignore", "*.log\n")
    repo.write("debug.log", "ignored\n")
    index_before = (repo.root / ".git" / "index").read_bytes()
    status_before = repo.git("status", "--porcelain")

    tree = git_repo.worktree_tree()

    assert (repo.root / ".git" / "index").read_bytes() == index_before
    assert repo.git("status", "--porcelain") == status_before
    assert git_repo.tree_changes(base, tree) == {"NOTES.md", "a.txt", "scratch.txt", ".gitignore"}
    assert repo.git("cat-file", "blob", f"{tree}:a.txt") == "edited, not staged\n"
    repo.write("b.txt", "changed after the start\n")
    assert git_repo.tree_changes(tree, git_repo.worktree_tree()) == {"b.txt"}
    assert git_repo.tree_changes(tree, tree) == set()


def test_the_working_tree_tree_of_a_repository_without_an_index(
    repo: Repo, git_repo: GitRepo
) -> None:
    (repo.root / ".git" / "index").unlink()  # as after some tools; git reads HEAD instead
    repo.write("new.txt", "n\n")
    tree = git_repo.worktree_tree()
    assert "new.txt" in git_repo.tree_changes(repo.head(), tree)
    assert repo.git("cat-file", "blob", f"{tree}:b.txt") == "bee\n"


def test_no_paths_and_a_blank_message_are_refused_before_git(repo: Repo, git_repo: GitRepo) -> None:
    base = repo.head()
    repo.write("a.txt", "changed\n")
    with pytest.raises(CheckpointRefused) as refused:
        git_repo.checkpoint([], "wave")
    assert refused.value.code == "no-paths"
    with pytest.raises(CheckpointRefused) as refused:
        git_repo.checkpoint(["a.txt"], " \n")
    assert refused.value.code == "empty-message"
    assert repo.head() == base
