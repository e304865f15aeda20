"""``plan make --issues`` on a small repository whose fix plans write paths every way people write
them: in full, relative to the package, as a bare file name, a folder, a new file; two packages;
an issue naming no file; a dependency in prose. The made plan passes ``plan check --repo``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from wavedeck.tui.cli.main import main

FILES = {
    "packages/api/package.json": "{}\n",
    "packages/api/src/server.ts": "x\n",
    "packages/api/src/auth/token.ts": "x\n",
    "packages/api/src/auth/session.ts": "x\n",
    "packages/cli/pyproject.toml": "[project]\n",
    "packages/cli/tool/main.py": "x\n",
    "packages/cli/tool/net.py": "x\n",
    "issues/issue-api-1.md": "# [CRITICAL] Tokens never expire\n\n**Area**: Api\n",
    "issues/issue-api-1-plan.md": "**Severity**: CRITICAL\n**Files to modify**: "
    "`packages/api/src/auth/token.ts`, `server.ts`\n",
    "issues/issue-api-2.md": "# [LOW] Session ids are short\n\n**File**: "
    "packages/api/src/auth/session.ts:12\n",
    "issues/issue-api-3-plan.md": "# Plan: Rate limits\n\n**Severity**: HIGH\n"
    "**Files to modify**:\n- `auth/token.ts`\n- `src/ratelimit.ts` (new file)\n\n"
    "This fix depends on issue-api-1's new token format.\n",
    "issues/issue-cli-1.md": "# [MEDIUM] Proxy ignored\n\n**Area**: Cli\n"
    "**Files to modify**: `tool/net.py`, `tool/`\n",
    "issues/issue-cli-2.md": "# [MEDIUM] Logs are noisy\n\n**Area**: Cli\n\nNo file named.\n",
    "issues/issue-cli-3.md": "# [HIGH] Main crashes\n\n**File**: packages/cli/tool/main.py:1\n",
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for path, text in FILES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(root)], check=True, timeout=30)
    return root


def test_small_repo_made_plan_passes(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "made.md"
    runner = CliRunner()
    args = ["plan", "make", "--repo", str(repo), "--issues", "issues/*.md", "-o", str(out)]
    done = runner.invoke(main, [*args, "--explain"])
    assert done.exit_code == 0, done.stderr
    assert "cli-2 names no file" in done.stdout
    check = runner.invoke(main, ["plan", "check", str(out), "--repo", str(repo), "--json"])
    report = json.loads(check.stdout)
    assert report["errors"] == 0, report
    made = runner.invoke(main, [*args, "--json"])
    data = json.loads(made.stdout)
    agents = {i["id"]: a for w in data["waves"] for a in w["agents"] for i in a["issues"]}
    # api-1 and api-3 share token.ts (package-relative in api-3's plan): one agent, 1 before 3.
    api = agents["api-1"]
    assert agents["api-3"] is api
    assert [i["id"] for i in api["issues"]].index("api-1") < [i["id"] for i in api["issues"]].index(
        "api-3"
    )
    assert "packages/api/src/server.ts" in api["paths"]
    assert "packages/api/src/ratelimit.ts" in api["paths"]
    assert api["package"] == "packages/api/"  # the package the entries were read against
    # The cli issue naming no file joins an agent of its package; cli-1 owns the tool/ folder,
    # so main.py (under it) is in the same agent.
    assert agents["cli-2"]["package"] == agents["cli-1"]["package"] == "packages/cli/"
    assert agents["cli-3"] is agents["cli-1"]
    assert [d for i in api["issues"] for d in i["depends_on"]] == ["api-1"]


@pytest.mark.parametrize(
    ("extra", "code", "said"),
    [
        (["--max-waves", "1", "--max-issues", "1"], 1, "error: "),  # no plan fits the limits
        (["--from", "p.md", "--issues", "x"], 2, "exactly one of --from PLAN and --issues GLOB"),
        (["--issues", "issues/*.md", "-o", "/no/such/folder/x.md"], 2, "cannot write"),
    ],
)
def test_a_failing_make_prints_its_error_object_with_json(
    repo: Path, extra: list[str], code: int, said: str
) -> None:
    """Issue #20: like every --json command, a failure prints one {"error": ...} on stdout."""
    args = ["plan", "make", "--repo", str(repo), "--json"]
    if "--from" not in extra and "--issues" not in extra:
        args += ["--issues", "issues/*.md"]
    done = CliRunner().invoke(main, [*args, *extra])
    assert done.exit_code == code, done.stderr
    error = json.loads(done.stdout)["error"]
    assert error["exit"] == code and said in error["message"] and error["problems"]
    assert said in done.stderr


def test_an_unreadable_from_plan_prints_its_error_object_with_json(
    repo: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.md"
    args = ["plan", "make", "--repo", str(repo), "--from", str(missing), "--json"]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 2
    error = json.loads(done.stdout)["error"]
    assert error["exit"] == 2 and error["message"] and error["source"]
