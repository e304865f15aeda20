"""End to end on generated repositories: issue files whose fix plans write paths every way (in
full, package-relative, bare names, new files, new folders, folders), read with ``--issues``, planned, written
and checked with the repo checks. The made plan never has an error (``no-files`` aside, for an
agent whose issues name no file), whatever the limits."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from wavedeck.agents.replan import make_plan_text
from wavedeck.plan.checking.api import RepoView
from wavedeck.plan.making.inputs import specs_from_files
from wavedeck.plan.making.model import MakeOptions
from wavedeck.plan.making.render import RenderContext

pytestmark = pytest.mark.slow

PACKAGES = ("packages/api/", "packages/web/", "tools/cli/")
FILES = ("src/a.ts", "src/b.ts", "src/deep/c.ts", "lib/d.ts")


def _entry(draw: st.DrawFn, package: str, k: int) -> str:
    name = draw(st.sampled_from(FILES))
    form = draw(st.integers(0, 5))
    if form == 0:
        return f"`{package}{name}`"
    if form == 1:
        return f"`{name}`"
    if form == 2:
        return f"`{name.rsplit('/', 1)[-1]}`"
    if form == 3:
        return f"`src/new{k}.ts` (new file)"
    if form == 4:
        return "`src/`"
    return f"`newtop/n{k}.py` (new file)"  # under a folder the repository does not have yet


@st.composite
def repos(draw: st.DrawFn) -> dict[str, str]:
    files = {p + "package.json": "{}" for p in PACKAGES}
    files.update({p + f: "x" for p in PACKAGES for f in FILES})
    n = draw(st.integers(1, 12))
    for k in range(1, n + 1):
        package = draw(st.sampled_from(PACKAGES))
        entries = [_entry(draw, package, k) for _ in range(draw(st.integers(0, 3)))]
        severity = draw(st.sampled_from(("CRITICAL", "HIGH", "MEDIUM", "LOW")))
        dep = draw(st.integers(0, k - 1))
        text = f"# Plan: issue {k}\n\n**Severity**: {severity}\n"
        if entries:
            text += f"**Files to modify**: `{package}{FILES[0]}`, " + ", ".join(entries) + "\n"
        if dep:
            text += f"\nThis fix depends on issue-x-{dep} landing first.\n"
        files[f"issues/issue-x-{k}-plan.md"] = text
    return files


def _mixed() -> dict[str, str]:
    """Found by this test: agents serving two packages get the root as their package, where the
    package-relative ``src/a.ts`` means no file at all; the issue then needs that path too, which
    joins it to other groups, and so on until nothing moves."""
    files = {p + "package.json": "{}" for p in PACKAGES}
    files.update({p + f: "x" for p in PACKAGES for f in FILES})
    cli, web, api = (p + "src/a.ts" for p in ("tools/cli/", "packages/web/", "packages/api/"))
    plans = {
        2: ([cli], 0),
        4: ([], 1),
        5: ([api, "src/a.ts"], 2),
        6: ([web], 4),
        7: ([web, "src/a.ts"], 0),
        8: ([cli], 4),
        9: ([], 2),
        10: ([cli, "src/a.ts"], 0),
        11: ([web, "src/a.ts"], 0),
    }
    for k in range(1, 12):
        entries, dep = plans.get(k, ([], 0))
        text = f"**Severity**: {'HIGH' if k == 5 else 'CRITICAL'}\n"
        if entries:
            text += "**Files to modify**: " + ", ".join(f"`{e}`" for e in entries) + "\n"
        if dep:
            text += f"\nThis fix depends on issue-x-{dep} landing first.\n"
        files[f"issues/issue-x-{k}-plan.md"] = text
    return files


@settings(max_examples=60, deadline=None)
@given(repos(), st.integers(1, 4), st.one_of(st.none(), st.integers(1, 4)))
@example(_mixed(), 3, 2)
def test_made_plan_passes_the_repo_checks(
    files: dict[str, str], max_agents: int, max_issues: int | None
) -> None:
    view = RepoView(paths=frozenset(files), read_text=files.get)
    notes: list[str] = []
    specs = specs_from_files("issues/*.md", view, notes)
    opts = MakeOptions(max_agents=max_agents, max_issues=max_issues)
    made = make_plan_text(specs, opts, RenderContext(title="t", origin="gen"), view, notes)
    fileless = {
        f"w{w.number}-a{a.number}" for w in made.made.waves for a in w.agents if not a.paths
    }
    bad = [f for f in made.errors if f.code != "no-files" or not set(f.agents or ()) <= fileless]
    assert bad == [], (bad, made.text)
    # Every file an issue needs is its own agent's: the plan check predicts nothing undeclared
    # (a folder an issue needs is claimed, not declared).
    loose = [
        f
        for f in made.findings
        if f.code.startswith("predicted-") and not (f.path or "").endswith("/")
    ]
    assert loose == [], (loose, made.text)
