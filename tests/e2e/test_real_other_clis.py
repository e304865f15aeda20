"""End to end with the real Gemini CLI, opencode, aider and Qwen Code as the agents, offline.

`wavedeck run --headless --json` runs the two-agent plan of ``real_cli_kit`` with ``[agent]
preset`` set to each CLI, the real binary (pinned in ``tests/e2e/agent_clis``) against its scripted
server on 127.0.0.1 (``gemini_server``: the Gemini API; ``chat_server``: Chat Completions), with a
throwaway HOME: nothing leaves the machine. The scenarios Claude Code has: agents that edit and
report done (started from another folder with ``--repo``: the agents still work in the
repository, ``PWD`` included); a write to the other agent's file (refused at the source where the
preset restricts writes, else by the kernel sandbox, which is on by default; with the sandbox off,
a violation naming the writer); a model that fails; a question answered by a follow-up; a tool
call refused (opencode's own permission check). Every scenario but the watcher's runs under the
kernel sandbox, as users get it. Skipped with the reason when a CLI is not installed; a failure
under ``.ci/run``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import sandbox_kit as kit
from tests.e2e.cli_script_kit import run_scripted, sandbox, server, shell, write
from tests.e2e.headless_kit import events, run, state
from tests.e2e.real_cli_kit import (
    FILES,
    FIXED,
    ISSUES,
    ORIGINAL,
    RUN,
    by_name,
    committed,
    final_state,
    key,
    pane,
    ran,
)
from tests.e2e.scripted_http import Fail, Hold, Say

pytestmark = pytest.mark.slow
QUESTION = "Should the error body keep an error code?"
ANSWER = "No code: a fixed message is enough."
CLIS = ["gemini", "opencode", "aider", "qwen"]
RESTRICTING = ["gemini", "opencode", "qwen"]  # presets that refuse a foreign edit at the source
LANDLOCK = kit.landlock_abi() >= 3  # the kernel enforces the default [agent] sandbox here
needs_landlock = pytest.mark.skipif(not LANDLOCK, reason="needs a kernel with Landlock ABI >= 3")


# -- each CLI's tools, as its model calls them --------------------------------------------------


def fixes(cli: str, repo: Path, agent: str) -> list[Any]:
    """Write the fixed file, byte-compile it (not aider: no shell tool), report done."""
    rel = FILES[agent]
    done = [Say(f"The fix is in.\nwavedeck: done {ISSUES[agent]} fixed")]
    if cli == "aider":
        fixed = write(cli, str(repo / rel), FIXED[rel])[0].text
        return [[Say(f"Fixing it.\n\n{fixed}\nwavedeck: done {ISSUES[agent]} fixed\n")]]
    return [
        write(cli, str(repo / rel), FIXED[rel]),
        shell(cli, f"python3 -m py_compile {rel}", "check"),
        done,
    ]


def aider_foreign_write(repo: Path, foreign: str, created: str) -> list[Any]:
    """aider's turns writing ``foreign`` (tracked, not in its chat) and creating ``created``.
    aider 0.86 looks for file names in an answer before applying its edits: one naming a file
    outside its chat makes it add the file (``--yes-always``) and ask the model again, dropping
    that answer's edits; so the model repeats them, and they are applied the second time."""
    text = write("aider", str(repo / foreign), "HACKED = True\n")[0].text
    text += "\n" + write("aider", str(repo / created), "X = 1\n")[0].text
    return [[Say(text)], [Say(text + "\nwavedeck: done api-1 fixed\n")]]


def nothing(agent: str) -> list[Any]:
    return [[Say(f"Nothing to change.\nwavedeck: done {ISSUES[agent]} already safe")]]


def index_of(repo: Path) -> str:
    return subprocess.run(
        ["git", "ls-files", "-s"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


def loose_objects(repo: Path) -> list[str]:
    """The objects written into the repository's own object store since its packing."""
    store = repo / ".git" / "objects"
    return sorted(str(p.relative_to(store)) for p in store.glob("[0-9a-f][0-9a-f]/*"))


# -- the scenarios ----------------------------------------------------------------------------


@pytest.mark.parametrize("cli", CLIS)
@pytest.mark.timeout(240)
def test_agents_edit_report_done_and_checkpoint_started_from_another_folder(
    cli: str, folder: Path, tmp_path: Path
) -> None:
    script = {key(a): fixes(cli, folder, a) for a in FILES}
    with server(cli, script) as srv:
        sandbox(cli, folder, srv.url)
        before = index_of(folder)
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        # wavedeck started in another folder: the agents work in the repository all the same
        done = run(elsewhere, *RUN, "--repo", str(folder), timeout=200)
    evs = events(done.stdout)
    assert done.returncode == 0, ran(done)
    # What users get: the agents ran in the kernel sandbox (on by default), which let each CLI
    # write its own state and the agent's file, and refused nothing it needed.
    (status,) = by_name(evs, "sandbox_status", agent=None)
    assert status["state"] == ("landlock" if LANDLOCK else "unavailable"), status
    assert not by_name(evs, "agent_denied"), ran(done)
    record = state(folder)["agents"]
    for agent, rel in FILES.items():
        assert srv.conversation(key(agent)), f"{agent} never asked the model"
        assert by_name(evs, "issue_done", agent=agent, issue=ISSUES[agent])
        assert final_state(evs, agent)["state"] == "succeeded"
        assert committed(folder, rel) == FIXED[rel]
        usage = by_name(evs, "agent_usage", agent=agent)[-1]
        assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
        assert record[agent]["session_id"], record[agent]
        tools = by_name(evs, "agent_tool", agent=agent)
        assert rel in [t["path"] for t in tools], tools
        lines = pane(evs, agent)
        assert f"wavedeck: done {ISSUES[agent]} fixed" in lines
        assert not [line for line in lines if line.lstrip().startswith('{"')]
    assert not by_name(evs, "violation_found"), ran(done)
    assert not (elsewhere / ".opencode").exists() and not list(elsewhere.iterdir())
    (checkpoint,) = by_name(evs, "checkpoint_committed", wave=1)
    assert sorted(checkpoint["issues"]) == ["api-1", "web-1"]
    if cli == "aider":  # its own files stay out of the repository and its .gitignore
        assert not list(folder.glob(".aider*"))
        assert (folder / ".gitignore").read_text("utf-8") == ".wavedeck/\n__pycache__/\n"
    assert index_of(folder).count("\n") == before.count("\n")  # no path added behind our back


@pytest.mark.parametrize("cli", CLIS)
@pytest.mark.timeout(240)
def test_a_failing_model_and_a_foreign_write(cli: str, folder: Path) -> None:
    """w1-a2's model fails (failed, the API's message shown); w1-a1 writes w1-a2's file while
    it runs: refused at the source (a denial naming the path, the agent needs you), or, aider
    (no restriction of its own), refused by the kernel sandbox (a denial by the sandbox, seen in
    aider's own output; the agent goes on)."""
    if cli == "aider" and not LANDLOCK:
        pytest.skip("aider's foreign write is refused by the kernel sandbox: needs Landlock")
    foreign, created = FILES["w1-a2"], "src/web/helper.py"
    if cli == "aider":
        writes = aider_foreign_write(folder, foreign, created)
    else:
        writes = [
            write(cli, str(folder / foreign), "HACKED = True\n"),
            [Say("I tried to fix the page too.\nwavedeck: done api-1 fixed")],
        ]
    script = {
        key("w1-a1"): writes,
        key("w1-a2"): [Fail(400, "bad_request", "scripted: refused")],
    }
    with server(cli, script) as srv:
        sandbox(cli, folder, srv.url)
        before = index_of(folder)
        done = run(folder, *RUN, timeout=200)
    evs = events(done.stdout)
    assert done.returncode == 1, ran(done)
    failed = final_state(evs, "w1-a2")
    assert failed["state"] == "failed", ran(done)
    shown = failed["reason"] + "\n" + "\n".join(pane(evs, "w1-a2"))
    assert "scripted: refused" in shown
    assert (folder / foreign).read_text("utf-8") == ORIGINAL[foreign]
    denied = by_name(evs, "agent_denied", agent="w1-a1")
    assert [d["path"] for d in denied] == [foreign], ran(done)
    assert not by_name(evs, "violation_found")
    (refused,) = state(folder)["agents"]["w1-a1"]["denials"]
    if cli in RESTRICTING:
        assert refused["by"] == "cli"
        assert final_state(evs, "w1-a1")["state"] == "needs_you"
    else:
        assert refused["by"] == "sandbox"  # held by the kernel: the agent is told and goes on
        assert final_state(evs, "w1-a1")["state"] == "succeeded"
        assert any("Permission denied" in line for line in pane(evs, "w1-a1"))
        assert not (folder / created).exists()  # its folder is w1-a2's: closed to w1-a1
        assert index_of(folder) == before
    assert not by_name(evs, "checkpoint_committed")


@needs_landlock
@pytest.mark.parametrize("cli", RESTRICTING)
@pytest.mark.timeout(240)
def test_without_the_restriction_the_kernel_refuses_a_foreign_write(cli: str, folder: Path) -> None:
    """``restrict_writes = false``: the CLI's own permissions allow every edit, and the kernel
    sandbox (on by default) refuses the write of w1-a2's file. The CLI gets EACCES and tells
    its model; wavedeck reads the refusal in its output (one denial, by the sandbox); w1-a1's own
    fix lands and the checkpoint holds exactly that."""
    own, foreign = FILES["w1-a1"], FILES["w1-a2"]
    script = {
        key("w1-a1"): [
            write(cli, str(folder / own), FIXED[own]),
            write(cli, str(folder / foreign), "HACKED = True\n"),
            [Say("The page was refused to me.\nwavedeck: done api-1 fixed")],
        ],
        key("w1-a2"): nothing("w1-a2"),
    }
    with server(cli, script) as srv:
        sandbox(cli, folder, srv.url, "restrict_writes = false\n")
        done = run(folder, *RUN, timeout=200)
        told = json.dumps([r.body for r in srv.conversation(key("w1-a1")) if r.turn == 2])
    evs = events(done.stdout)
    assert done.returncode == 0, ran(done)
    assert (folder / foreign).read_text("utf-8") == ORIGINAL[foreign]
    assert committed(folder, own) == FIXED[own]
    assert kit.changed_files(folder) == [own]
    assert "Wavedeck-Sandbox: landlock ABI" in kit.commit_message(folder)
    # The kernel's EACCES reached the model as the write tool's failure...
    assert "EACCES" in told or "PermissionDenied" in told, told[-2000:]
    # ... and wavedeck saw it in the CLI's output, once, by the write tool, held by the sandbox.
    denied = by_name(evs, "agent_denied", agent="w1-a1")
    tool = "write" if cli == "opencode" else "write_file"
    assert [(d["tool"], d["path"]) for d in denied] == [(tool, foreign)], ran(done)
    assert state(folder)["agents"]["w1-a1"]["denials"] == [
        {"tool": tool, "path": foreign, "kind": "refused", "by": "sandbox"}
    ]
    assert final_state(evs, "w1-a1")["state"] == "succeeded"
    assert not by_name(evs, "violation_found")


@pytest.mark.parametrize("cli", RESTRICTING)
@pytest.mark.timeout(240)
def test_without_the_restriction_a_foreign_write_is_a_violation_naming_the_writer(
    cli: str, folder: Path
) -> None:
    """opencode prints ``tool_use`` once the tool ran: the violation waits for it (#19), so it
    names the writer, known exactly, never the running owner."""
    foreign = FILES["w1-a2"]
    script = {
        key("w1-a1"): [
            write(cli, str(folder / foreign), "HACKED = True\n"),
            [Say("Fixed the page too.\nwavedeck: done api-1 fixed")],
        ],
        key("w1-a2"): [Hold(key("w1-a1"), 1, nothing("w1-a2")[0])],
    }
    # The watcher's attribution is under test: the kernel sandbox, which would refuse the
    # write (test_without_the_restriction_the_kernel_refuses_a_foreign_write), is off.
    done, evs = run_scripted(cli, folder, script, 'restrict_writes = false\nsandbox = "off"\n')
    assert done.returncode == 1, ran(done)
    assert (folder / foreign).read_text("utf-8") == "HACKED = True\n"
    violations = by_name(evs, "violation_found", path=foreign)
    assert violations and {v["agent"] for v in violations} == {"w1-a1"}, ran(done)
    assert violations[-1]["attribution"] == "exact", violations
    assert by_name(evs, "gate_refused", wave=1)


@pytest.mark.timeout(240)
def test_aider_with_the_sandbox_off_a_foreign_write_is_a_violation_naming_it(folder: Path) -> None:
    """aider has no per-file permission: with the kernel sandbox off, its write of w1-a2's file
    lands and the watcher names aider's agent (its ``Applied edit to`` line); the file it creates
    and ``git add``s goes to its own index and object store, never the operator's."""
    foreign, created = FILES["w1-a2"], "src/web/helper.py"
    script = {
        key("w1-a1"): aider_foreign_write(folder, foreign, created),
        key("w1-a2"): [Fail(400, "bad_request", "scripted: refused")],
    }
    with server("aider", script) as srv:
        sandbox("aider", folder, srv.url, 'sandbox = "off"\n')
        before = index_of(folder)
        objects = loose_objects(folder)
        done = run(folder, *RUN, timeout=200)
    evs = events(done.stdout)
    assert done.returncode == 1, ran(done)
    assert (folder / foreign).read_text("utf-8") == "HACKED = True\n"
    violations = by_name(evs, "violation_found", path=foreign)
    assert violations and {v["agent"] for v in violations} == {"w1-a1"}, ran(done)
    assert (folder / created).read_text("utf-8") == "X = 1\n"
    assert index_of(folder) == before  # aider git-added it: into its own index
    assert loose_objects(folder) == objects  # and its own objects: nothing in .git
    assert not by_name(evs, "checkpoint_committed")


@pytest.mark.parametrize("cli", CLIS)
@pytest.mark.timeout(300)
def test_a_question_needs_you_and_a_follow_up_resumes_the_session(cli: str, folder: Path) -> None:
    rel = FILES["w1-a1"]
    then = fixes(cli, folder, "w1-a1")
    script = {key("w1-a1"): [[Say(f"Before I change it: {QUESTION}")], *then]}
    script[key("w1-a2")] = nothing("w1-a2")
    with server(cli, script) as srv:
        sandbox(cli, folder, srv.url)
        first = run(folder, *RUN, timeout=200)
        evs = events(first.stdout)
        assert first.returncode == 1, ran(first)
        needs = final_state(evs, "w1-a1")
        assert needs["state"] == "needs_you", ran(first)
        session = state(folder)["agents"]["w1-a1"]["session_id"]
        follow = run(folder, "run", "--headless", "--follow-up", "w1-a1", ANSWER, "--json")
        more = events(follow.stdout)
        assert follow.returncode == 0, ran(follow)
        assert final_state(more, "w1-a1")["state"] == "succeeded"
        assert by_name(more, "issue_done", agent="w1-a1", issue="api-1")
        resumed = [r for r in srv.conversation(key("w1-a1")) if r.turn == 1]
        assert resumed, "the follow-up did not continue the scripted conversation"
        assert QUESTION in str(resumed[0].body) and ANSWER in str(resumed[0].body)
        record = state(folder)["agents"]["w1-a1"]
        assert record["session_id"] == session and record["follow_ups"] == 1
        assert record["turns"] >= 2
        last = run(folder, *RUN, timeout=200)
    assert last.returncode == 0, ran(last)
    assert committed(folder, rel) == FIXED[rel]


@pytest.mark.timeout(240)
def test_an_opencode_permission_refused_on_its_own_needs_you(folder: Path) -> None:
    """A write outside the repository: opencode asks for external_directory and, headless,
    rejects it itself (a stderr line, an error tool part) and exits 0 without an answer."""
    outside = folder.parent / "outside.txt"
    script: dict[str, list[Any]] = {
        key("w1-a1"): [write("opencode", str(outside), "x\n")],
        key("w1-a2"): nothing("w1-a2"),
    }
    done, evs = run_scripted("opencode", folder, script)
    assert done.returncode == 1, ran(done)
    assert not outside.exists()
    (denied,) = by_name(evs, "agent_denied", agent="w1-a1")
    assert denied["tool"] == "write" and denied["path"] == str(outside)
    ended = final_state(evs, "w1-a1")
    assert ended["state"] == "needs_you" and "refused" in ended["reason"]
    assert not by_name(evs, "checkpoint_committed")
