"""Shared working tree: each violation kind, acceptance, once-per-wave, forget, exclusions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.watch.watchkit import Collector, small_plan, write
from wavedeck.agents.events import FileTouched, ViolationFound
from wavedeck.agents.watch.rules import ownership_attributor
from wavedeck.agents.watch.watcher import WorkspaceWatcher
from wavedeck.plan.globs import glob_matcher

pytestmark = pytest.mark.timeout(60)


def watcher(root: Path, **kw: object) -> WorkspaceWatcher:
    plan = small_plan()
    attr = ownership_attributor(
        plan,
        1,
        writer_of=kw.pop("writer_of", None),  # type: ignore[arg-type]
        accept=kw.pop("accept", ()),  # type: ignore[arg-type]
        accept_undeclared=bool(kw.pop("accept_undeclared", False)),
    )
    return WorkspaceWatcher(root, attribute=attr, **kw)  # type: ignore[arg-type]


async def violation(c: Collector, rel: str) -> ViolationFound:
    ev = await c.first(ViolationFound, lambda e: e.path == rel)
    return ev


async def test_owned_path_is_touched_but_no_violation(tmp_path: Path) -> None:
    async with Collector(watcher(tmp_path)) as c:
        write(tmp_path / "pkg/a/x.py")
        write(tmp_path / "sentinel/u.txt")  # unowned: proves the first was processed before it
        touched = await c.touched("pkg/a/x.py")
        await violation(c, "sentinel/u.txt")
    assert touched.agent == "w1-a1" and touched.change == "added"
    assert [v.path for v in c.violations()] == ["sentinel/u.txt"]


async def test_undeclared_inside_a_package(tmp_path: Path) -> None:
    async with Collector(watcher(tmp_path)) as c:
        write(tmp_path / "pkg/a/helper.py")
        v = await violation(c, "pkg/a/helper.py")
    assert (v.kind, v.agent) == ("undeclared", "w1-a1")
    assert "w1-a1" in v.detail


async def test_undeclared_accepted_by_policy(tmp_path: Path) -> None:
    async with Collector(watcher(tmp_path, accept_undeclared=True)) as c:
        write(tmp_path / "pkg/a/helper.py")
        write(tmp_path / "zz/unowned.txt")
        await violation(c, "zz/unowned.txt")
        t = await c.touched("pkg/a/helper.py")
    assert t.agent == "w1-a1"
    assert [v.path for v in c.violations()] == ["zz/unowned.txt"]


async def test_foreign_when_the_writer_is_known(tmp_path: Path) -> None:
    w = watcher(tmp_path, writer_of=lambda p: "w1-a2" if p.startswith("pkg/a/") else None)
    async with Collector(w) as c:
        write(tmp_path / "pkg/a/x.py")
        v = await violation(c, "pkg/a/x.py")
    assert (v.kind, v.agent, v.candidates) == ("foreign", "w1-a2", ("w1-a1",))


async def test_foreign_is_not_accepted_by_a_glob(tmp_path: Path) -> None:
    w = watcher(tmp_path, writer_of=lambda p: "w1-a2", accept=["pkg/**"])
    async with Collector(w) as c:
        write(tmp_path / "pkg/a/x.py")
        v = await violation(c, "pkg/a/x.py")
    assert v.kind == "foreign"


async def test_other_wave(tmp_path: Path) -> None:
    async with Collector(watcher(tmp_path)) as c:
        write(tmp_path / "pkg/c/z.py")
        v = await violation(c, "pkg/c/z.py")
    assert v.kind == "other-wave" and v.candidates == ("w2-a1",)


async def test_unowned(tmp_path: Path) -> None:
    async with Collector(watcher(tmp_path)) as c:
        write(tmp_path / "docs/notes.md")
        v = await violation(c, "docs/notes.md")
    assert v.kind == "unowned" and v.agent is None


async def test_accept_globs_touch_without_violation(tmp_path: Path) -> None:
    async with Collector(watcher(tmp_path, accept=["**/tests/**", "package-lock.json"])) as c:
        write(tmp_path / "pkg/b/tests/test_y.py", tmp_path / "package-lock.json")
        write(tmp_path / "zz/sentinel.txt")
        await violation(c, "zz/sentinel.txt")
        await c.touched("pkg/b/tests/test_y.py")
        await c.touched("package-lock.json")
    assert [v.path for v in c.violations()] == ["zz/sentinel.txt"]


@pytest.mark.slow
async def test_reported_once_per_wave_then_again_after_forget_and_new_wave(tmp_path: Path) -> None:
    w = watcher(tmp_path, coalesce_s=0.0)  # separate writes here may follow each other closely
    async with Collector(w) as c:
        target = tmp_path / "docs/a.md"
        write(target)
        await violation(c, "docs/a.md")
        # a later, separate write: touched again, not reported again
        write(target, text="again\n")
        await c.first(FileTouched, lambda e: len(c.touches("docs/a.md")) >= 2)
        assert len(c.violations()) == 1
        w.forget("docs/a.md", settle_s=0)
        write(target, text="third\n")
        await c.wait_for(lambda e: len(c.violations()) == 2)
        # forget with a settle window: the revert's own write is not a violation
        w.forget("docs/a.md", settle_s=30)
        write(target, text="reverted\n")
        await c.first(FileTouched, lambda e: len(c.touches("docs/a.md")) >= 4)
        assert len(c.violations()) == 2
        # accepted by the operator: never reported again in this wave, forget() or not
        w.accept("docs/a.md")
        w.forget("docs/a.md", settle_s=0)
        write(target, text="accepted\n")
        await c.first(FileTouched, lambda e: len(c.touches("docs/a.md")) >= 5)
        assert len(c.violations()) == 2
        # a new wave reports afresh
        w.set_attributor(ownership_attributor(small_plan(), 2))
        write(target, text="wave 2\n")
        v = await c.first(ViolationFound, lambda e: len(c.violations()) == 3)
    assert v.kind == "unowned"


async def test_deleted_file_is_a_touch(tmp_path: Path) -> None:
    (tmp_path / "pkg/a").mkdir(parents=True)
    (tmp_path / "pkg/a/x.py").write_text("old")
    async with Collector(watcher(tmp_path)) as c:
        import subprocess
        import sys

        code = f"import os; os.remove({str(tmp_path / 'pkg/a/x.py')!r})"
        subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
        t = await c.wait_for(
            lambda e: (
                isinstance(e, FileTouched) and e.path == "pkg/a/x.py" and e.change == "deleted"
            )
        )
    assert isinstance(t, FileTouched) and t.agent == "w1-a1"


async def test_exclusions(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    ignored = [
        ".git/index",
        ".git/objects/ab/cdef",
        ".wavedeck/state.json",
        ".wavedeck/logs/w1-a1.log",
        "build/out.o",
        "pkg/a/debug.log",
        "node_modules/left-pad/index.js",
        "pkg/a/.x.py.swp",
        "pkg/a/x.py~",
        "pkg/a/4913",
        "pkg/a/.#x.py",
        "pkg/a/x.py.tmp.4242.1f9c2a7b3e",  # an atomic write's temporary (Claude Code's Write)
        "vendor/lib/.git/HEAD",
    ]
    w = watcher(tmp_path, ignores=["build/**", "*.log", "node_modules"])
    async with Collector(w) as c:
        write(*(tmp_path / p for p in ignored))
        write(tmp_path / "zz/sentinel.txt")
        await violation(c, "zz/sentinel.txt")
    assert [e.path for e in c.of(FileTouched)] == ["zz/sentinel.txt"]


def test_glob_matcher() -> None:
    m = glob_matcher(["node_modules", "build/**", "*.pyc", "/top.txt", "docs/*.md", "a?c"])
    assert m("node_modules/x/y.js") and m("pkg/node_modules/x.js")
    assert m("build/a/b") and not m("src/build/a")
    assert m("x/y/z.pyc") and not m("x/y/z.py")
    assert m("top.txt") and not m("sub/top.txt")
    assert m("docs/a.md") and not m("docs/sub/a.md")
    assert m("abc") and not m("a/c")
    assert not glob_matcher([])("anything")
