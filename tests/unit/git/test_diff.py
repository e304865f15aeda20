"""Changed-file lists, per-file diffs, reverts, audits and small helpers on real repositories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.unit.git.repokit import Repo
from wavedeck.agents.git.diff import ChangedFile, parse_raw_numstat
from wavedeck.agents.git.errors import GitError
from wavedeck.agents.git.paths import listed_path_problem, path_problem
from wavedeck.agents.git.repo import GitRepo
from wavedeck.plan.paths import name_problem


def _by_path(files: list[ChangedFile]) -> dict[str, ChangedFile]:
    return {f.path: f for f in files}


def test_changed_files_lists_every_kind_of_change(repo: Repo, git_repo: GitRepo) -> None:
    repo.write("big.txt", "".join(f"row {i}\n" for i in range(100)))
    repo.write("blob.bin", b"\x00\x01\x02" * 10)
    os.symlink("b.txt", repo.root / "link")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "more files")
    base = repo.head()
    # a rename with an edit, a binary edit, a mode change, a deletion, untracked text and binary,
    # a type change (link -> file), a plain modification
    (repo.root / "big.txt").rename(repo.root / "big2.txt")
    with (repo.root / "big2.txt").open("a") as out:
        out.write("row 100\n")
    repo.git("add", "-A", "big.txt", "big2.txt")  # a user `git mv`
    repo.write("blob.bin", b"\x00\x09" * 10)
    (repo.root / "lib" / "c.py").chmod(0o755)
    (repo.root / "b.txt").unlink()
    repo.write("notes/new.md", "one\ntwo\nthree")  # no final newline: still 3 lines
    repo.write("new.bin", b"abc\x00def")
    os.symlink("a.txt", repo.root / "newlink")
    (repo.root / "link").unlink()
    repo.write("link", "now a file\n")
    repo.write("a.txt", "line 1\nchanged\n")
    repo.write(".gitignore", "*.log\n")
    repo.write("ignored.log", "not listed\n")

    files = git_repo.changed_files(base)
    rows = _by_path(files)

    assert [f.path for f in files] == sorted(rows)
    assert "ignored.log" not in rows and "big.txt" not in rows
    assert rows["big2.txt"] == ChangedFile(
        "big2.txt", "R", "big.txt", 1, 0, False, "100644", "100644"
    )
    assert rows["blob.bin"].binary and rows["blob.bin"].added is None
    assert rows["blob.bin"].status == "M"
    c = rows["lib/c.py"]
    assert (c.status, c.old_mode, c.new_mode) == ("M", "100644", "100755")
    assert (c.added, c.deleted) == (0, 0)
    b = rows["b.txt"]
    assert (b.status, b.deleted, b.new_mode, b.untracked) == ("D", 1, None, False)
    md = rows["notes/new.md"]
    assert (md.status, md.added, md.deleted, md.untracked, md.new_mode) == (
        "A",
        3,
        0,
        True,
        "100644",
    )
    assert rows["new.bin"].binary and rows["new.bin"].untracked and rows["new.bin"].added is None
    assert (rows["newlink"].new_mode, rows["newlink"].added) == ("120000", 1)
    link = rows["link"]
    assert (link.status, link.old_mode, link.new_mode) == ("T", "120000", "100644")
    assert (rows["a.txt"].added, rows["a.txt"].deleted) == (1, 19)
    assert rows[".gitignore"].untracked


def test_changed_files_sees_commits_made_during_the_wave(repo: Repo, git_repo: GitRepo) -> None:
    # Agents that commit as they go must not empty the review: diff against the wave's base.
    base = repo.head()
    repo.commit("agent committed", **{"a.txt": "committed by the agent\n"})
    repo.write("b.txt", "and edited\n")
    assert [f.path for f in git_repo.changed_files(base)] == ["a.txt", "b.txt"]


def test_odd_file_names_round_trip(repo: Repo, git_repo: GitRepo) -> None:
    base = repo.head()
    names = ["sp ace.txt", "tab\there.txt", "ünïcödé.txt", ":(exclude)x", "-f", "a\nb.txt"]
    for name in names:
        repo.write(name, "x\n")
    repo.write("new\u202eline.txt", "x\n")
    listed = {f.path for f in git_repo.changed_files(base)}
    assert set(names) | {"new\u202eline.txt"} <= listed
    assert "+x" in git_repo.file_diff(":(exclude)x", base)
    assert "+x" in git_repo.file_diff("-f", base)


def test_git_rm_cached_file_is_one_modification(repo: Repo, git_repo: GitRepo) -> None:
    base = repo.head()
    repo.git("rm", "-q", "--cached", "b.txt")
    rows = _by_path(git_repo.changed_files(base))
    assert rows["b.txt"].status == "M"


def test_file_diff_tracked_untracked_renamed_and_cut(repo: Repo, git_repo: GitRepo) -> None:
    base = repo.head()
    repo.write("a.txt", "line 1\nnew line\n")
    diff = git_repo.file_diff("a.txt", base)
    assert diff.startswith("diff --git a/a.txt b/a.txt") and "+new line\n" in diff

    repo.write("fresh.txt", "hello\n")
    diff = git_repo.file_diff("fresh.txt", base)
    assert "new file mode 100644" in diff and "+++ b/fresh.txt" in diff and "+hello" in diff

    repo.git("mv", "lib/c.py", "lib/d.py")
    diff = git_repo.file_diff("lib/d.py", base, old_path="lib/c.py")
    assert "rename from lib/c.py" in diff and "rename to lib/d.py" in diff

    repo.write("huge.txt", "y" * 5000 + "\n")
    cut = git_repo.file_diff("huge.txt", base, max_bytes=1000)
    assert "[wavedeck: diff cut at 1000 of" in cut and len(cut) < 1200

    assert git_repo.file_diff("b.txt", base) == ""  # unchanged


def test_file_diff_never_runs_external_diff_or_textconv(
    repo: Repo, git_repo: GitRepo, tmp_path: Path
) -> None:
    canary = tmp_path / "ran"
    tool = repo.script("tool.sh", f"touch '{canary}'")
    repo.git("config", "diff.external", str(tool))
    repo.git("config", "diff.conv.textconv", str(tool))
    repo.write(".gitattributes", "*.txt diff=conv\n")
    base = repo.head()
    repo.write("a.txt", "changed\n")
    assert "+changed" in git_repo.file_diff("a.txt", base)
    git_repo.changed_files(base)
    assert not canary.exists()


def test_revert_file_restores_modified_deleted_and_removes_added(
    repo: Repo, git_repo: GitRepo
) -> None:
    (repo.root / "lib" / "c.py").chmod(0o755)
    repo.git("add", "lib/c.py")
    repo.git("commit", "-q", "-m", "exec")
    os.symlink("a.txt", repo.root / "link")
    repo.git("add", "link")
    repo.git("commit", "-q", "-m", "link")
    base = repo.head()
    original_a = repo.read("a.txt")
    repo.write("user-staged.txt", "staged\n")
    repo.git("add", "user-staged.txt")
    cached = repo.git("diff", "--cached")

    repo.write("a.txt", "agent\n")
    (repo.root / "b.txt").unlink()
    (repo.root / "lib" / "c.py").write_text("broken\n")
    (repo.root / "lib" / "c.py").chmod(0o644)
    repo.write("added/deep.txt", "new\n")
    (repo.root / "link").unlink()
    repo.write("link", "now a file\n")

    for path in ("a.txt", "b.txt", "lib/c.py", "added/deep.txt", "link"):
        git_repo.revert_file(path, base)

    assert repo.read("a.txt") == original_a
    assert repo.read("b.txt") == "bee\n"
    assert repo.read("lib/c.py") == "print('c')\n"
    assert os.access(repo.root / "lib" / "c.py", os.X_OK)
    assert not (repo.root / "added" / "deep.txt").exists()
    assert os.readlink(repo.root / "link") == "a.txt"
    assert [f.path for f in git_repo.changed_files(base)] == ["user-staged.txt"]
    assert repo.git("diff", "--cached") == cached  # the user's index is untouched


def test_revert_refuses_through_a_symlinked_folder(repo: Repo, git_repo: GitRepo) -> None:
    os.symlink("/etc", repo.root / "cfg")
    with pytest.raises(GitError, match="symbolic link"):
        git_repo.revert_file("cfg/passwd", repo.head())


def test_head_branch_and_bad_revisions(repo: Repo, git_repo: GitRepo) -> None:
    assert git_repo.head() == repo.head()
    assert git_repo.branch() == "main"
    for bad in ("--output=/tmp/x", "", "HEAD foo"):
        with pytest.raises(GitError, match="invalid revision"):
            git_repo.changed_files(bad)
    with pytest.raises(GitError, match="git diff failed"):
        git_repo.changed_files("0" * 40)
    for bad in ("../x", "/etc/passwd", ".git/config", ""):
        with pytest.raises(GitError, match="invalid path"):
            git_repo.file_diff(bad, "HEAD")


def test_not_a_repository_and_closed(tmp_path: Path, repo: Repo) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(GitError, match=r"not a usable git repository.*not a git repository"):
        GitRepo(plain)
    handle = GitRepo(repo.root / "lib")  # a sub-folder finds the top level
    assert handle.root == repo.root.resolve()
    handle.close()
    handle.close()
    with pytest.raises(GitError, match="closed"):
        handle.head()


def test_ensure_excluded_adds_the_pattern_once(repo: Repo, git_repo: GitRepo) -> None:
    exclude = repo.root / ".git" / "info" / "exclude"
    exclude.write_text("# user's own\n*.tmp")  # no final newline
    git_repo.ensure_excluded()
    git_repo.ensure_excluded()
    lines = exclude.read_text().splitlines()
    assert lines.count("/.wavedeck/") == 1 and "*.tmp" in lines
    repo.write(".wavedeck/state.json", "{}\n")
    assert all(not f.path.startswith(".wavedeck") for f in git_repo.changed_files(repo.head()))
    with pytest.raises(GitError):
        git_repo.ensure_excluded("a\nb")


def test_path_rules() -> None:
    assert path_problem("src/app/main.py") is None
    assert path_problem("pages/[id].tsx") is None
    for bad in (
        "*.py",
        "src/?",
        ":(exclude)x",
        "-f",
        "/abs",
        "a//b",
        "a/",
        "./a",
        "a/../b",
        ".GIT/x",
        "a\\b",
        "a\x1bb",
        "a\x85b",  # a C1 control
        "src/\u202egnp.exe",  # a bidi override
        "zero\u200bwidth.py",
        "cafe\u0301.py",  # not NFC
    ):
        assert path_problem(bad) is not None, bad
    # The plan's rule, word for word: a path a plan refuses is refused here for the same reason.
    assert path_problem("cafe\u0301.py") == name_problem("cafe\u0301.py")
    assert listed_path_problem("-f") is None and listed_path_problem(":(top)") is None
    assert listed_path_problem("../x") is not None


def test_parser_reads_names_that_look_like_headers() -> None:
    raw = (
        b":100644 100644 abc1234 0000000 M\0:100644 100644 abc1234 0000000 M\0"
        b":000000 100644 0000000 0000000 A\x00"
        b"1\t2\t\x00"
        b"1\t0\t:100644 100644 abc1234 0000000 M\0"
        b"3\t0\t1\t2\t\0"
    )
    files = parse_raw_numstat(raw)
    assert [(f.path, f.status, f.added) for f in files] == [
        (":100644 100644 abc1234 0000000 M", "M", 1),
        ("1\t2\t", "A", 3),
    ]


def test_revert_replaces_a_link_to_outside_instead_of_writing_through_it(
    repo: Repo, git_repo: GitRepo, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("do not touch\n")
    base = repo.head()
    original = repo.read("a.txt")
    (repo.root / "a.txt").unlink()
    os.symlink(outside, repo.root / "a.txt")
    diff = git_repo.file_diff("a.txt", base)
    assert f"+{outside}" in diff and "do not touch" not in diff  # the link, not its target
    git_repo.revert_file("a.txt", base)
    assert not (repo.root / "a.txt").is_symlink()
    assert repo.read("a.txt") == original
    assert outside.read_text() == "do not touch\n"


_NAME_CHARS = "abcXYZ019 -_.:;!#$%&'()+,=@[]{}~\t\n\"\\ éß漢\u202e"


@pytest.mark.slow
def test_any_file_name_git_can_hold_is_listed_exactly(tmp_path: Path) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    repo = Repo(tmp_path / "names")
    handle = GitRepo(repo.root)
    names = st.text(alphabet=_NAME_CHARS, min_size=1, max_size=12).filter(
        lambda n: n not in (".", "..") and n.lower() != ".git" and not n.startswith(".git")
    )

    counter: list[int] = []

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(tracked=names, untracked=names)
    def check(tracked: str, untracked: str) -> None:
        counter.append(len(counter))
        t, u = f"t{counter[-1]}", f"u{counter[-1]}"  # a fresh folder per example
        target = repo.root / t / tracked
        target.parent.mkdir(exist_ok=True)
        target.write_text("one\n")
        repo.git("add", "--", f"{t}/{tracked}")
        repo.git("commit", "-q", "-m", "add")
        start = repo.head()
        target.write_text("one\ntwo\n")
        fresh = repo.root / u / untracked
        fresh.parent.mkdir(exist_ok=True)
        fresh.write_text("x\ny\nz\n")
        rows = {f.path: f for f in handle.changed_files(start)}
        assert set(rows) == {f"{t}/{tracked}", f"{u}/{untracked}"}
        assert (rows[f"{t}/{tracked}"].added, rows[f"{t}/{tracked}"].status) == (1, "M")
        assert (rows[f"{u}/{untracked}"].added, rows[f"{u}/{untracked}"].untracked) == (3, True)
        assert "+two" in handle.file_diff(f"{t}/{tracked}", start)
        handle.revert_file(f"{t}/{tracked}", start)
        handle.revert_file(f"{u}/{untracked}", start)
        assert handle.changed_files(start) == []

    check()
    handle.close()


def test_diff_shape_ignores_the_users_prefix_and_color_settings(
    repo: Repo, git_repo: GitRepo
) -> None:
    for key, value in (
        ("diff.noprefix", "true"),
        ("diff.mnemonicPrefix", "true"),
        ("color.ui", "always"),
        ("diff.renames", "copies"),
    ):
        repo.git("config", key, value)
    base = repo.head()
    repo.write("a.txt", "changed\n")
    repo.write("fresh.txt", "new\n")
    diff = git_repo.file_diff("a.txt", base)
    assert diff.startswith("diff --git a/a.txt b/a.txt\n") and "\x1b[" not in diff
    fresh = git_repo.file_diff("fresh.txt", base)
    assert "+++ b/fresh.txt" in fresh and "\x1b[" not in fresh
    assert {f.path for f in git_repo.changed_files(base)} == {"a.txt", "fresh.txt"}
