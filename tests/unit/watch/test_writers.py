"""Who wrote a file in the shared tree, and how that is known (#19).

The ledger's rules on a fake clock (which burst a tool event explains, how long a report may
wait for one, what a shell command says), then the real watcher on a real folder with a real
``WriteLedger`` and ``ledger_attributor``: a foreign write folded into the owner's burst, a
tool event arriving after the watcher's report, a shell redirect, a symbolic link, and the one
ignore rule (git's ignores, a preset's own paths) it shares with the checkpoint.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from tests.unit.watch.watchkit import Collector, small_plan, write
from wavedeck.agents.events import FileTouched, ViolationFound
from wavedeck.agents.watch.attribution import ledger_attributor
from wavedeck.agents.watch.ignores import Ignores
from wavedeck.agents.watch.watcher import WorkspaceWatcher
from wavedeck.agents.watch.writers import NAMES, SAME_NAME, WRITES, WriteLedger, shell_strength

pytestmark = pytest.mark.timeout(60)

X, Y = "pkg/a/x.py", "pkg/b/y.py"  # w1-a1's and w1-a2's files (small_plan)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# -- the ledger, on a fake clock ------------------------------------------------------------


def test_a_write_folded_into_the_owners_burst_keeps_both_writers() -> None:
    clock = Clock()
    ledger = WriteLedger(lag_s=2.0, clock=clock)
    ledger.record("w1-a1", X)
    ledger.seen(X)
    clock.now += 0.1  # closer than the coalescing: one burst, one report
    ledger.record("w1-a2", X)
    ledger.seen(X)
    assert ledger.explain(X).tools == ("w1-a1", "w1-a2")


def test_a_late_tool_event_explains_the_burst_it_follows_within_the_lag() -> None:
    clock = Clock()
    ledger = WriteLedger(lag_s=2.0, clock=clock)
    ledger.seen(X)
    first = ledger.explain(X)
    assert first.tools == () and first.pending_s == pytest.approx(2.0)
    clock.now += 1.5
    assert ledger.explain(X).pending_s == pytest.approx(0.5)
    ledger.record("w1-a2", X)  # opencode prints the tool call once it ran
    assert ledger.take_new() == {X}
    got = ledger.explain(X)
    assert got.tools == ("w1-a2",) and got.pending_s == 0.0


def test_an_event_past_the_lag_still_explains_its_write_unless_a_later_one_is_nearer() -> None:
    """The lag bounds the wait, not the matching: a log read late on a loaded machine still
    names the writer (a correction); an event nearer a later write of the path is that one's."""
    clock = Clock()
    ledger = WriteLedger(lag_s=1.0, clock=clock)
    ledger.seen(X)
    clock.now += 5
    assert ledger.explain(X).pending_s == 0.0  # the report no longer waits
    ledger.record("w1-a2", X)  # 5 s after the write, past the lag
    assert ledger.explain(X).tools == ("w1-a2",)
    clock.now += 10
    ledger.seen(X)  # the owner's own later edit, no event: not w1-a2's
    assert ledger.explain(X).tools == ()
    clock.now += 1
    ledger.record("w1-a1", X)
    assert ledger.explain(X).tools == ("w1-a1",)
    clock.now += 60
    ledger.seen(X)
    assert ledger.explain(X).tools == ()  # nothing within LATE_S of this one


def test_another_agents_event_nearer_an_earlier_write_is_never_silenced_but_a_guess() -> None:
    """Gemini under load: w1-a2 writes its own file; w1-a1's write_file event is read 0.3 s
    later, its write seen 1 s after that (the clocks of the log reader and the watcher both run
    late). By the clocks the event is nearer the earlier write: it is no exact evidence for the
    later one, yet the later write is w1-a1's violation, said to be inferred."""
    clock = Clock()
    ledger = WriteLedger(lag_s=1.0, clock=clock)
    attribute = ledger_attributor(small_plan(), 1, ledger)
    ledger.record("w1-a2", Y)
    ledger.seen(Y)
    assert (attribute(Y).agent, attribute(Y).how, attribute(Y).kind) == ("w1-a2", "exact", None)
    clock.now += 0.3
    ledger.record("w1-a1", Y)
    clock.now += 1.0
    ledger.seen(Y)
    got = attribute(Y)
    assert (got.agent, got.how, got.kind) == ("w1-a1", "inferred", "foreign")


def test_a_refused_write_is_forgotten() -> None:
    clock = Clock()
    ledger = WriteLedger(lag_s=1.0, clock=clock)
    ledger.record("w1-a2", X)
    ledger.forget("w1-a2", X)
    ledger.seen(X)
    assert ledger.explain(X).tools == ()


def test_what_a_shell_command_says_about_a_path() -> None:
    root = "/repo"
    assert shell_strength(f"echo hi > {X}", X) == WRITES
    assert shell_strength(f"printf x >> '{root}/{X}'", X, root) == WRITES
    assert shell_strength(f"sed -i s/a/b/ {X}", X) == WRITES
    assert shell_strength(f"echo x | tee -a ./{X}", X) == WRITES
    assert shell_strength(f"python -m py_compile {X}", X) == NAMES
    assert shell_strength("cd pkg/a && echo x > x.py", X) == SAME_NAME
    assert shell_strength(f"cat {X}x", X) == 0  # another file whose name starts the same
    assert shell_strength("ls", X) == 0


# -- the real watcher -------------------------------------------------------------------------


def watcher(root: Path, ledger: WriteLedger, **kw: object) -> WorkspaceWatcher:
    attribute = ledger_attributor(small_plan(), 1, ledger)
    return WorkspaceWatcher(root, attribute=attribute, ledger=ledger, **kw)  # type: ignore[arg-type]


async def test_a_foreign_write_right_after_the_owners_edit_is_reported_exactly(
    tmp_path: Path,
) -> None:
    """Coalescing merges reports, never writers: w1-a2's write 0.1 s after w1-a1's own edit
    of the same file (one burst) is a violation naming w1-a2, known exactly."""
    ledger = WriteLedger(str(tmp_path), lag_s=0.5)
    async with Collector(watcher(tmp_path, ledger)) as c:
        ledger.record("w1-a1", X)
        write(tmp_path / X, text="owner\n")
        ledger.record("w1-a2", X)
        write(tmp_path / X, text="foreign\n")
        v = await c.first(ViolationFound, lambda e: e.path == X)
    assert (v.kind, v.agent, v.attribution) == ("foreign", "w1-a2", "exact")
    assert v.candidates == ("w1-a1",)


async def test_a_tool_event_after_the_report_corrects_it(tmp_path: Path) -> None:
    """opencode prints a tool call once it ran: the write is shown as the owner's, a guess
    (inferred), its violation held for the preset's lag; the late event names w1-a2, exactly,
    correcting the owner's touch."""
    ledger = WriteLedger(str(tmp_path), lag_s=3.0)
    async with Collector(watcher(tmp_path, ledger)) as c:
        write(tmp_path / X)
        first = await c.touched(X)
        assert (first.agent, first.attribution) == ("w1-a1", "inferred")
        assert not c.violations()  # held: a tool event may still come
        ledger.record("w1-a2", X)
        v = await c.first(ViolationFound, lambda e: e.path == X)
        fixed = await c.first(FileTouched, lambda e: e.path == X and e.corrects is not None)
    assert (v.kind, v.agent, v.attribution) == ("foreign", "w1-a2", "exact")
    assert (fixed.agent, fixed.corrects, fixed.attribution) == ("w1-a2", "w1-a1", "exact")


async def test_a_tool_event_later_than_the_lag_still_corrects_the_report(tmp_path: Path) -> None:
    """A loaded machine reads a CLI's log late: the report settled on the plan (w1-a1's file,
    no violation) is corrected when w1-a2's tool event naming the write comes after the lag."""
    ledger = WriteLedger(str(tmp_path), lag_s=0.2)
    w = watcher(tmp_path, ledger)
    async with Collector(w) as c:
        write(tmp_path / X)
        await c.touched(X)
        await asyncio.wait_for(w.settled(), 5)  # past the lag: shown as w1-a1's, inferred
        assert not c.violations() and not w._judge.pending
        ledger.record("w1-a2", X)
        v = await c.first(ViolationFound, lambda e: e.path == X)
    assert (v.kind, v.agent, v.attribution) == ("foreign", "w1-a2", "exact")
    fixed = [t for t in c.touches(X) if t.corrects is not None]
    assert [(t.agent, t.corrects) for t in fixed] == [("w1-a2", "w1-a1")]


async def test_no_event_within_the_lag_settles_on_the_plan_said_to_be_a_guess(
    tmp_path: Path,
) -> None:
    """A write into w1-a2's file with no tool event: after the lag it is w1-a2's, inferred
    (no violation); ``settled`` waits for that decision, bounded."""
    ledger = WriteLedger(str(tmp_path), lag_s=0.3)
    w = watcher(tmp_path, ledger)
    async with Collector(w) as c:
        write(tmp_path / Y)
        await c.touched(Y)
        await asyncio.wait_for(w.settled(), 5)
        write(tmp_path / "zz/u.txt")  # unowned: a sentinel processed after Y was decided
        await c.first(ViolationFound, lambda e: e.path == "zz/u.txt")
    assert [(t.agent, t.attribution) for t in c.touches(Y)] == [("w1-a2", "inferred")]
    assert [v.path for v in c.violations()] == ["zz/u.txt"]


async def test_a_shell_redirect_into_a_running_owners_file_names_the_shells_agent(
    tmp_path: Path,
) -> None:
    """No tool call names the path; w1-a1's Bash command redirects into w1-a2's file: the
    violation names w1-a1, said to be inferred (never credited to the owner)."""
    ledger = WriteLedger(str(tmp_path), lag_s=0.3)
    async with Collector(watcher(tmp_path, ledger)) as c:
        ledger.shell("w1-a1", f"echo hacked > {tmp_path / Y}")
        write(tmp_path / Y)
        v = await c.first(ViolationFound, lambda e: e.path == Y)
    assert (v.kind, v.agent, v.attribution) == ("foreign", "w1-a1", "inferred")


async def test_a_file_replaced_by_a_symbolic_link_is_a_violation(tmp_path: Path) -> None:
    """w1-a1 turns its own file into a link to w1-a2's: a write through it lands there."""
    write(tmp_path / X, tmp_path / Y)
    ledger = WriteLedger(str(tmp_path))
    async with Collector(watcher(tmp_path, ledger)) as c:
        ledger.record("w1-a1", X)
        subprocess.run(["ln", "-sf", "../b/y.py", str(tmp_path / X)], check=True, timeout=10)
        v = await c.first(ViolationFound, lambda e: e.path == X and e.kind == "symlink")
    assert v.agent == "w1-a1" and "../b/y.py" in v.detail


async def test_a_link_made_right_after_a_write_is_never_folded_into_it(tmp_path: Path) -> None:
    """The swap to a link lands in the same coalescing window as the owner's last write (a
    window this long makes it certain; under load a short one does it too): still a
    ``symlink`` violation, never one burst of writes."""
    write(tmp_path / X, tmp_path / Y)
    ledger = WriteLedger(str(tmp_path))
    async with Collector(watcher(tmp_path, ledger, coalesce_s=30.0)) as c:
        write(tmp_path / X, text="owner\n")
        await c.first(FileTouched, lambda e: e.path == X)
        (tmp_path / X).unlink()
        (tmp_path / X).symlink_to("../b/y.py")
        v = await c.first(ViolationFound, lambda e: e.path == X and e.kind == "symlink")
    assert "../b/y.py" in v.detail


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, timeout=30)


async def test_the_watcher_ignores_what_git_and_the_presets_own_paths_ignore(
    tmp_path: Path,
) -> None:
    """One rule with the checkpoint: an untracked file .gitignore excludes, and the CLI's own
    paths (Codex's ``.codex`` at the root), raise nothing; a tracked file is never ignored by
    git's rules; a ``.codex`` below the root is no CLI's."""
    git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text("*.log\nbuild/\n")
    (tmp_path / "zz").mkdir()
    (tmp_path / "zz/kept.log").write_text("tracked\n")
    git(tmp_path, "add", "-f", ".gitignore", "zz/kept.log")
    ignores = Ignores(tmp_path, own_paths=("/.codex",))
    ledger = WriteLedger(str(tmp_path))
    async with Collector(watcher(tmp_path, ledger, ignore=ignores)) as c:
        write(
            tmp_path / "zz/run.log",
            tmp_path / "build/out.txt",
            tmp_path / ".codex/state.json",
        )
        write(tmp_path / "zz/kept.log", tmp_path / "pkg/q/.codex")
        await c.first(ViolationFound, lambda e: e.path == "zz/kept.log")
        await c.first(ViolationFound, lambda e: e.path == "pkg/q/.codex")
    seen = {t.path for t in c.of(FileTouched)}
    assert seen == {"zz/kept.log", "pkg/q/.codex"}
    assert ignores.ignored(["zz/run.log", "build/out.txt", ".codex/state.json", "zz/kept.log"]) == {
        "zz/run.log",
        "build/out.txt",
        ".codex/state.json",
    }
    assert os.path.exists(tmp_path / "zz/run.log")
