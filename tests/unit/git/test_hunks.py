"""Patches as facts (``wavedeck.agents.git.hunks``) read from real git output between two trees
(``GitRepo.tree_patch``: the wave's start tree and the working tree's), and one hunk reverted
back to the start content: every hunk reverted gives the start back, byte for byte."""

from __future__ import annotations

import random

import pytest

from tests.unit.git.repokit import Repo
from wavedeck.agents.git.hunks import HunkMismatch, parse_patch, revert_hunk, unquote
from wavedeck.agents.git.repo import GitRepo


def trees(git_repo: GitRepo) -> tuple[str, str]:
    return git_repo.head(), git_repo.worktree_tree()


def test_every_kind_of_change_is_stated(repo: Repo, git_repo: GitRepo) -> None:
    repo.write("a.txt", "".join(f"line {i}\n" for i in range(1, 21)).replace("line 3\n", "3\n"))
    repo.write("b.txt", "bee")  # its last newline gone
    repo.git("mv", "lib/c.py", "lib/moved c.py")
    (repo.root / "tab\tname.txt").write_text("x\n")
    (repo.root / "blob.bin").write_bytes(b"\0\1\2")
    (repo.root / "lib" / "moved c.py").chmod(0o755)
    start, now = trees(git_repo)
    files = {f.path: f for f in parse_patch(git_repo.tree_patch(start, now))}
    assert set(files) == {"a.txt", "b.txt", "lib/moved c.py", "tab\tname.txt", "blob.bin"}
    a = files["a.txt"]
    assert a.status == "modified" and (a.added, a.removed) == (1, 1)
    (hunk,) = a.hunks
    assert hunk.header == "@@ -1,6 +1,6 @@"
    assert [(ln.kind, ln.old, ln.new) for ln in hunk.lines if ln.kind != "context"] == [
        ("removed", 3, None),
        ("added", None, 3),
    ]
    b = files["b.txt"]
    assert b.hunks[0].lines[-1].text == "bee" and not b.hunks[0].lines[-1].eol
    moved = files["lib/moved c.py"]
    assert moved.status == "renamed" and moved.old_path == "lib/c.py"
    assert moved.mode_changed and (moved.old_mode, moved.new_mode) == ("100644", "100755")
    assert files["tab\tname.txt"].status == "added"
    assert files["blob.bin"].binary and not files["blob.bin"].hunks


def test_a_deleted_file_and_quoted_names() -> None:
    assert unquote('"a\\tb\\303\\251.txt"') == "a\tbé.txt"
    assert unquote("plain.txt") == "plain.txt"
    patch = (
        "diff --git a/gone.txt b/gone.txt\n"
        "deleted file mode 100755\n"
        "index 3e75765..0000000\n"
        "--- a/gone.txt\n"
        "+++ /dev/null\n"
        "@@ -1,2 +0,0 @@\n"
        "-one\n"
        "-two\n"
    )
    (gone,) = parse_patch(patch)
    assert gone.status == "deleted" and gone.path == "gone.txt" and gone.old_mode == "100755"
    assert revert_hunk("", gone.hunks[0]) == "one\ntwo\n"


def test_reverting_one_hunk_keeps_the_others(repo: Repo, git_repo: GitRepo) -> None:
    start_text = (repo.root / "a.txt").read_text()
    edited = start_text.replace("line 2\n", "line two\n").replace("line 19\n", "LINE 19\n")
    repo.write("a.txt", edited)
    start, now = trees(git_repo)
    (a,) = parse_patch(git_repo.tree_patch(start, now))
    assert len(a.hunks) == 2
    first_only = revert_hunk(edited, a.hunks[0])
    assert "line 2\n" in first_only and "LINE 19\n" in first_only
    # The other hunk still fits where it was, so both can go, in either order.
    assert revert_hunk(first_only, a.hunks[1]) == start_text
    assert revert_hunk(revert_hunk(edited, a.hunks[1]), a.hunks[0]) == start_text


def test_a_hunk_moved_by_other_edits_is_found_and_a_changed_one_refused(
    repo: Repo, git_repo: GitRepo
) -> None:
    start_text = (repo.root / "a.txt").read_text()
    edited = start_text.replace("line 10\n", "line ten\n")
    repo.write("a.txt", edited)
    (a,) = parse_patch(git_repo.tree_patch(*trees(git_repo)))
    shifted = "new first line\n" + edited
    assert revert_hunk(shifted, a.hunks[0]) == "new first line\n" + start_text
    with pytest.raises(HunkMismatch, match="nowhere"):
        revert_hunk(edited.replace("line ten\n", "line 10 again\n"), a.hunks[0])


def test_random_edits_revert_back_to_the_start(repo: Repo, git_repo: GitRepo) -> None:
    """Whatever the edits, reverting every hunk (last first) gives the start back exactly."""
    rng = random.Random(25)
    words = ["alpha", "beta", "gamma", "delta", "\tindented", "é ü", "x = 1", ""]
    for _round in range(12):
        start_lines = [rng.choice(words) + f" {i}" for i in range(rng.randint(0, 40))]
        start_text = "".join(f"{ln}\n" for ln in start_lines)
        if rng.random() < 0.3:
            start_text = start_text.rstrip("\n")
        repo.write("r.txt", start_text)
        repo.git("add", "r.txt")
        repo.git("commit", "-q", "-m", "round")
        lines = start_text.splitlines(keepends=True)
        for _ in range(rng.randint(1, 6)):
            at = rng.randint(0, len(lines))
            if lines and rng.random() < 0.5:
                del lines[min(at, len(lines) - 1)]
            else:
                lines.insert(at, rng.choice(words) + " new\n")
        now_text = "".join(lines)
        if rng.random() < 0.2:
            now_text = now_text.rstrip("\n")
        repo.write("r.txt", now_text)
        patches = parse_patch(git_repo.tree_patch(*trees(git_repo)))
        text = now_text
        for patch in patches:
            for hunk in reversed(patch.hunks):
                text = revert_hunk(text, hunk)
        assert text == start_text
