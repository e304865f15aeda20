"""Path validation and normalisation (reliability matrix D1, D3, C12)."""

from __future__ import annotations

import posixpath

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from wavedeck.plan.paths import PathRejected, is_safe_repo_path, normalize_file, normalize_package


@pytest.mark.parametrize(
    ("package", "expected"),
    [
        ("packages/x", "packages/x/"),
        ("packages/x/", "packages/x/"),
        ("./packages/x/", "packages/x/"),
        ("packages/a/../x", "packages/x/"),
        (".", ""),
        ("./", ""),
        ("", ""),
    ],
)
def test_package_normalisation(package: str, expected: str) -> None:
    assert normalize_package(package) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("client.py", "pkg/client.py"),
        ("./client.py", "pkg/client.py"),
        ("a/../client.py", "pkg/client.py"),
        ("a//b.py", "pkg/a/b.py"),
        ("../other/x.py", "other/x.py"),
        ("routes/[slug].tsx", "pkg/routes/[slug].tsx"),
    ],
)
def test_file_normalisation(raw: str, expected: str) -> None:
    assert normalize_file("pkg/", raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("../../x", "leaves the repository"),
        ("/etc/passwd", "absolute"),
        ("C:\\x", "backslash"),
        ("C:/x", "absolute"),
        ("a\\b", "backslash"),
        ("a\x00b", "U+0000"),
        ("a\x1b[2Jb", "U+001B"),
        ("a\u202eb.py", "U+202E"),
        ("cafe\u0301.py", "NFC"),
        ("../.git/hooks/pre-commit", "inside .git/"),
        ("../.GIT/config", "inside .GIT/"),
        ("../.wavedeck/state.json", "inside .wavedeck/"),
        (":(exclude)x", "pathspec magic"),
        ("-rf", "option"),
        ("*.py", "glob"),
        ("~/x", "~"),
        ("", "empty"),
        (".", "folder"),
        ("x/..", "folder"),
    ],
)
def test_rejected_files(raw: str, reason: str) -> None:
    with pytest.raises(PathRejected) as info:
        normalize_file("pkg/", raw)
    assert reason in info.value.reason


@pytest.mark.parametrize("package", ["..", "/abs", ".git", ".Git/hooks", "-x", "a\\b"])
def test_rejected_packages(package: str) -> None:
    with pytest.raises(PathRejected):
        normalize_package(package)


_segment = st.sampled_from(["..", ".", "", "a", "b", ".git", "x.py", "..."]) | st.text(
    min_size=1, max_size=4
)


@settings(max_examples=200, deadline=None)
@given(package=st.lists(_segment, max_size=4), file=st.lists(_segment, min_size=1, max_size=5))
@example(package=[], file=["0 ", "."])  # a name ending in a blank, exposed by a trailing '/.'
@example(package=[], file=["a", "..", "~"])  # '~' or ':' reached by climbing back out of 'a'
@example(package=["a", ".."], file=[":(top)x"])
def test_never_resolves_outside_the_repository(package: list[str], file: list[str]) -> None:
    """Property (D1): whatever is accepted is a relative, normalised path inside the root."""
    try:
        pkg = normalize_package("/".join(package))
        path = normalize_file(pkg, "/".join(file))
    except PathRejected:
        return
    assert not path.startswith("/") and "\\" not in path
    assert posixpath.normpath(path) == path
    assert not path.startswith("../") and path != ".."
    assert ".git" not in [p.casefold() for p in path.split("/")]
    assert is_safe_repo_path(path)
