"""Reading ``Files to modify`` fields, locating issue files, and nearest-path suggestions."""

from __future__ import annotations

from wavedeck.plan.checking.suggest import PathIndex
from wavedeck.plan.fixplans import (
    FixPlanFile,
    fix_plan_files,
    issue_file_candidates,
    issue_id_variants,
    parse_files_field,
)


def _paths(text: str) -> list[str]:
    return [e.path for e in parse_files_field(text)]


def test_inline_code_spans() -> None:
    text = "# Plan\n\n**Files to modify**: `a/b.py`, `c/d.ts`\n\n## Analysis\n`not/this.py`\n"
    got = parse_files_field(text)
    assert [(e.path, e.line) for e in got] == [("a/b.py", 3), ("c/d.ts", 3)]


def test_bullet_list_with_notes_ends_at_the_first_other_line() -> None:
    text = (
        "**Files to modify:**\n\n"
        "- `packages/x/one.js`\n"
        "* `packages/x/two.js` (if auth is added per issue-server-2)\n"
        "1. packages/x/three.js\n"
        "\n"
        "- `after/blank.py`\n"
    )
    got = parse_files_field(text)
    assert [e.path for e in got] == [
        "packages/x/one.js",
        "packages/x/two.js",
        "packages/x/three.js",
    ]
    assert got[1].optional and got[1].note.startswith("(if auth")
    assert [e.line for e in got] == [3, 4, 5]


def test_line_suffixes_are_dropped() -> None:
    text = "**Files to modify**: `a.py:12-40`, `b.py:7`, `c.py#L3-L9`, `d.py:L1-L2`, ./e.py:5\n"
    assert _paths(text) == ["a.py", "b.py", "c.py", "d.py"]
    assert _paths("**Files to modify**: ./e.py:5, /f/g.py\n") == ["e.py", "f/g.py"]


def test_new_file_notes_and_folders() -> None:
    text = (
        "**Files to modify**: `packages/website/public/_headers` (new file, shared with 3), "
        "`app/x.tsx`, potentially `packages/website/public/fonts/` (new directory for fonts)\n"
    )
    got = parse_files_field(text)
    assert [(e.path, e.new, e.folder, e.optional) for e in got] == [
        ("packages/website/public/_headers", True, False, False),
        ("app/x.tsx", False, False, False),
        ("packages/website/public/fonts/", True, True, True),
    ]


def test_no_field_no_files_and_prose_words_are_not_paths() -> None:
    assert parse_files_field("**Severity**: HIGH\n`a.py`\n") == []
    text = (
        "**Files to modify**: `packages/server/src/index.js`, potentially remove dead code files\n"
    )
    assert _paths(text) == ["packages/server/src/index.js"]
    assert _paths("**Files to modify**: none\n") == []


def test_description_field_is_the_fallback() -> None:
    description = "# [HIGH] x\n\n**File**: packages/a/cli/daemon.py:27-88\n**Type**: Security\n"
    plan = "# Plan\n\n**Severity**: HIGH\n"
    got = fix_plan_files([("i.md", description), ("i-plan.md", plan)])
    assert got == [
        ("i.md", FixPlanFile("packages/a/cli/daemon.py", "packages/a/cli/daemon.py:27-88", 3))
    ]
    plan2 = "**Files to modify**: `b.py`\n"
    assert [e.path for _, e in fix_plan_files([("i.md", description), ("p.md", plan2)])] == ["b.py"]


def test_issue_file_candidates() -> None:
    assert issue_id_variants("headless-05") == ["headless-05", "headless-5"]
    assert issue_id_variants("server-1") == ["server-1", "server-01"]
    assert issue_id_variants("misc") == ["misc"]
    assert issue_file_candidates("web-3", ["docs/{id}.md", "docs/{id}-plan.md"]) == [
        "docs/web-3.md",
        "docs/web-03.md",
        "docs/web-3-plan.md",
        "docs/web-03-plan.md",
    ]


TREE = PathIndex(
    [
        "packages/headless-client/zajel/cli/daemon.py",
        "packages/headless-client/zajel/client.py",
        "packages/headless-client/zajel/cli/client.py",
        "packages/website/vite.config.ts",
        "packages/web-client/vite.config.ts",
        "packages/server/src/index.js",
        "packages/server-vps/src/index.ts",
        "packages/admin-cf/src/index.js",
        "a/x/same.py",
        "a/y/same.py",
    ]
)


def test_nearest_same_name_longest_shared_folder_first() -> None:
    z = "packages/headless-client/zajel/"
    assert TREE.nearest(z + "daemon.py") == z + "cli/daemon.py"
    assert TREE.nearest("packages/website/app/vite.config.ts") == "packages/website/vite.config.ts"
    assert TREE.nearest("packages/web-client/src/vite.config.ts") == (
        "packages/web-client/vite.config.ts"
    )
    assert TREE.nearest("packages/website/app/public/_headers") is None
    # A tie is not guessed.
    assert TREE.nearest("a/z/same.py") is None


def test_resolve_relative_and_wrongly_prefixed_paths() -> None:
    z = "packages/headless-client/zajel/"
    assert TREE.resolve(z + "client.py") == z + "client.py"
    assert TREE.resolve("cli/daemon.py", z) == z + "cli/daemon.py"
    assert TREE.resolve("zajel/cli/daemon.py") == z + "cli/daemon.py"
    assert TREE.resolve("headless/zajel/cli/daemon.py") == z + "cli/daemon.py"
    # Two index.js: the one under the agent's package; a bare name only inside it.
    assert TREE.resolve("src/index.js", "packages/server/src/") == "packages/server/src/index.js"
    assert TREE.resolve("src/index.js") is None
    assert TREE.resolve("daemon.py", z) == z + "cli/daemon.py"
    assert TREE.resolve("daemon.py") is None
    assert TREE.resolve("packages/website/") == "packages/website/"
    assert TREE.resolve("cli/", z) == z + "cli/"
    assert TREE.resolve("nope/") is None
