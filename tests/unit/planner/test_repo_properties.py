"""End to end on generated repositories: issue files whose fix plans write paths every way (in
full, package-relative, bare names, new files, folders), read with ``--issues``, planned, written
and checked with the repo checks. The made plan never has an error (``no-files`` aside, for an
agent whose issues name no file), whatever the limits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agents.replan import make_plan_text
from plan.checkapi import RepoView
from plan.make_input import specs_from_files
from plan.make_model import MakeOptions
from plan.make_render import RenderContext

PACKAGES = ("packages/api/", "packages/web/", "tools/cli/")
FILES = ("src/a.ts", "src/b.ts", "src/deep/c.ts", "lib/d.ts")


def _entry(draw: st.DrawFn, package: str, k: int) -> str:
    name = draw(st.sampled_from(FILES))
    form = draw(st.integers(0, 4))
    if form == 0:
        return f"`{package}{name}`"
    if form == 1:
        return f"`{name}`"
    if form == 2:
        return f"`{name.rsplit('/', 1)[-1]}`"
    if form == 3:
        return f"`src/new{k}.ts` (new file)"
    return "`src/`"


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


@settings(max_examples=60, deadline=None)
@given(repos(), st.integers(1, 4), st.one_of(st.none(), st.integers(1, 4)))
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
