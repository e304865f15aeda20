"""``writepolicy.py`` and ``landlock.py`` against the real kernel: the rules a spec resolves to,
and what a child in the domain can and cannot write (no syscall is mocked; each probe runs in a
forked child, since a domain cannot be left)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.unit.wave.enginekit import sandbox
from wavedeck.agents.events import SandboxStatus
from wavedeck.agents.local import landlock, writepolicy
from wavedeck.agents.local.sandbox import spec_dict, status_word, trailer
from wavedeck.agents.presets.refusals import RefusalScanner, writable_by
from wavedeck.plan.reading.loader import load_plan

needs_landlock = pytest.mark.skipif(landlock.abi() < 3, reason="needs Landlock ABI >= 3")


def _tree(tmp_path: Path) -> Path:
    tree = tmp_path / "repo"
    for rel in ("src/api/server.py", "src/web/page.py", "shared/a.py", "shared/b.py", "top.py"):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text("x = 1\n")
    (tree / ".git" / "hooks").mkdir(parents=True)
    return tree


def _spec(owned: list[str], others: list[str]) -> dict[str, object]:
    return {"v": 1, "agent": "w1-a1", "owned": owned, "others": others, "state": []}


def test_abi_masks_grow_with_the_kernel() -> None:
    assert landlock.rights(0) == 0
    assert not landlock.rights(1) & (landlock.REFER | landlock.TRUNCATE)
    assert landlock.rights(2) & landlock.REFER and not landlock.rights(2) & landlock.TRUNCATE
    assert landlock.rights(3) & landlock.TRUNCATE and not landlock.rights(3) & landlock.IOCTL_DEV
    assert landlock.rights(5) == landlock.WRITES == landlock.rights(7)
    assert not landlock.WRITES & 1  # EXECUTE, READ_FILE (1 << 2) and READ_DIR stay allowed
    assert not landlock.WRITES & (1 << 2 | 1 << 3)


def test_an_own_folder_opens_a_shared_one_stays_closed_the_root_never_opens(
    tmp_path: Path,
) -> None:
    tree = _tree(tmp_path)
    spec = _spec(["src/api/server.py", "shared/a.py", "top.py", "new/pkg/x.py"], ["shared/b.py"])
    policy = writepolicy.resolve(spec, str(tree), {"HOME": str(tmp_path)}, create=True)
    kinds = {(os.path.relpath(r.path, tree), r.kind) for r in policy.rules if r.why != "dev"}
    assert ("src/api/server.py", "file") in kinds and ("src/api", "folder") in kinds
    assert ("shared/a.py", "file") in kinds and ("shared", "folder") not in kinds
    assert ("top.py", "file") in kinds and (".", "folder") not in kinds
    assert ("new/pkg", "folder") in kinds and (tree / "new" / "pkg").is_dir()
    assert dict(policy.closed) == {".": "root", "shared": "shared"}
    assert policy.missing == ()
    assert policy.tmpdir.startswith("/tmp/wavedeck-") and os.path.isdir(policy.tmpdir)


def test_a_new_root_file_cannot_be_made_and_a_shared_new_file_exposes_its_neighbours(
    tmp_path: Path,
) -> None:
    tree = _tree(tmp_path)
    policy = writepolicy.resolve(
        _spec(["planted.txt", "shared/new.py"], ["shared/b.py"]), str(tree), {}, create=False
    )
    assert policy.missing == ("planted.txt",)
    assert policy.exposed == ("shared/b.py",)


def test_a_repository_beneath_a_writable_state_folder_is_unprotected(tmp_path: Path) -> None:
    tree = _tree(tmp_path / ".claude" / "work")
    spec = {**_spec(["top.py"], []), "state": [["dir", "~/.claude", "", ""]]}
    policy = writepolicy.resolve(spec, str(tree), {"HOME": str(tmp_path)}, create=False)
    assert policy.unprotected == ((str(tmp_path / ".claude"), str(tree)),)


def _in_child(rules: tuple[writepolicy.Rule, ...], attempts: list[str]) -> dict[str, str]:
    """Fork, enter the domain, try to append to each path; what happened to each."""
    ruleset = landlock.Ruleset(rules)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        os.close(read)
        ruleset.restrict()
        out = []
        for path in attempts:
            try:
                with open(path, "a") as handle:
                    handle.write("x")
                out.append(f"{path}\tok")
            except OSError as exc:
                out.append(f"{path}\t{exc.strerror}")
        os.write(write, "\n".join(out).encode())
        os._exit(0)
    os.close(write)
    ruleset.close()
    data = b""
    while chunk := os.read(read, 65536):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    return dict(line.split("\t") for line in data.decode().splitlines())


@needs_landlock
def test_in_the_domain_only_the_rules_paths_take_writes(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    spec = _spec(["src/api/server.py", "shared/a.py"], ["shared/b.py", "src/web/page.py"])
    policy = writepolicy.resolve(spec, str(tree), {"HOME": str(tmp_path)}, create=True)
    paths = {
        "own": tree / "src/api/server.py",
        "own-folder-new": tree / "src/api/new.py",
        "shared-own": tree / "shared/a.py",
        "shared-theirs": tree / "shared/b.py",
        "other-package": tree / "src/web/page.py",
        "git": tree / ".git/hooks/pre-commit",
        "root": tree / "planted.txt",
        "tmpdir": Path(policy.tmpdir) / "scratch",
        "home": tmp_path / ".bashrc",
        "devnull": Path("/dev/null"),
    }
    got = _in_child(policy.rules, [str(p) for p in paths.values()])
    result = {name: got[str(path)] for name, path in paths.items()}
    allowed = {"own", "own-folder-new", "shared-own", "tmpdir", "devnull"}
    assert {n for n, r in result.items() if r == "ok"} == allowed, result
    assert all(r == "Permission denied" for n, r in result.items() if n not in allowed), result
    assert not (tree / "planted.txt").exists() and not (tree / ".git/hooks/pre-commit").exists()


@needs_landlock
def test_a_ruleset_below_the_minimum_abi_is_refused_with_a_code() -> None:
    with pytest.raises(landlock.LandlockError) as info:
        landlock.Ruleset((), abi_version=2)
    assert info.value.code == "abi-too-old"
    with pytest.raises(landlock.LandlockError) as info:
        landlock.Ruleset((), abi_version=0)
    assert info.value.code == "no-landlock"


@needs_landlock
def test_aider_may_write_its_own_folder_of_wavedeck_and_nothing_else_there(tmp_path: Path) -> None:
    """The aider preset keeps its chat, index and objects in ``.wavedeck/aider/<agent>/``: the
    spec opens that one folder (or aider could not keep its chat under the sandbox), not the
    rest of ``.wavedeck/``, not another agent's, not ``.git/``."""
    root = sandbox(tmp_path / "s")
    plan = load_plan(root / "plans" / "security-waves.md").plan
    wavedeck = root / ".wavedeck"
    spec = spec_dict(plan, "w1-a1", "aider", wavedeck)
    assert spec_dict(plan, "w1-a1", "aider", None)["state"] == [
        s for s in spec["state"] if s[1].startswith("~")
    ]  # a remote agent's spec names no path of this machine
    policy = writepolicy.resolve(spec, str(root), {"HOME": str(tmp_path)}, create=True)
    own = wavedeck / "aider" / "w1-a1"
    assert own.is_dir()
    (wavedeck / "aider" / "w1-a2").mkdir()
    paths = {
        "own-chat": own / "s.chat.md",
        "other-agent": wavedeck / "aider" / "w1-a2" / "s.chat.md",
        "aider-folder": wavedeck / "aider" / "planted",
        "wavedeck": wavedeck / "state.json",
        "git": root / ".git" / "config",
    }
    got = _in_child(policy.rules, [str(p) for p in paths.values()])
    result = {name: got[str(path)] for name, path in paths.items()}
    assert {n for n, r in result.items() if r == "ok"} == {"own-chat"}, result
    assert not (wavedeck / "aider" / "w1-a2" / "s.chat.md").exists()


def test_refusals_in_an_agents_output_name_the_path_and_the_tool(tmp_path: Path) -> None:
    cwd = str(tmp_path)
    scanner = RefusalScanner(cwd, writable_by([(f"{cwd}/src/api", "folder")]))
    lines = [
        "touch: cannot touch 'src/web/x.py': Permission denied",
        "sh: 1: cannot create .git/config: Permission denied",
        f"EACCES: permission denied, open '{cwd}/src/web/page.py.tmp.123.abc9'",
        "PermissionError: [Errno 13] Permission denied: '/etc/passwd'",
        "touch: cannot touch 'src/api/mine.py': Permission denied",  # writable: not the sandbox
        "all fine here",
    ]
    assert scanner.scan(lines) == [
        ("touch", "src/web/x.py"),
        ("sh", ".git/config"),
        ("?", "src/web/page.py"),
        ("python", "/etc/passwd"),
    ]


def test_the_kernels_refusal_as_gemini_qwen_and_opencode_report_it(tmp_path: Path) -> None:
    """Lines the real CLIs printed when the kernel refused their write tool (Gemini CLI 0.61.0,
    Qwen Code 0.15.10, opencode 1.18.33, restrict_writes = false): each is one refusal of the
    file by the tool named in the stream, Gemini's stderr echo of its JSON result included."""
    cwd = str(tmp_path)
    page = f"{cwd}/src/web/page.py"
    error = f"Permission denied writing to file: {page} (EACCES)"
    gemini = (
        '{"type":"tool_result","timestamp":"2026-12-07T06:33:50.409Z","tool_id":"write_file__'
        f'write_file_1796625230010_0","status":"error","output":"{error}","error":{{"type":'
        f'"permission_denied","message":"{error}"}}}}'
    )
    qwen = (
        '{"type":"user","uuid":"db70cf36","session_id":"d3fc06d4","parent_tool_use_id":null,'
        '"message":{"role":"user","content":[{"type":"tool_result","tool_use_id":'
        f'"call_000000000002","is_error":true,"content":"{error}"}}]}}}}'
    )
    opencode = (
        '{"type":"tool_use","timestamp":1796625265807,"sessionID":"ses_db0ca295","part":{"type":'
        '"tool","tool":"write","callID":"call_000000000003","state":{"status":"error","input":'
        f'{{"filePath":"{page}","content":"HACKED = True\\n"}},"error":"PermissionDenied: '
        f'FileSystem.writeFile ({page})","time":{{"start":1796625265755,"end":1796625265778}}}}}}}}'
    )
    names = {
        "write_file__write_file_1796625230010_0": "write_file",
        "call_000000000002": "write_file",
    }
    writable = writable_by([(f"{cwd}/src/api", "folder")])
    for lines in ([gemini, f"Error executing tool write_file: {error}"], [qwen], [opencode]):
        scanner = RefusalScanner(cwd, writable, names.get)
        tool = "write" if lines == [opencode] else "write_file"
        assert scanner.scan(lines) == [(tool, "src/web/page.py")], lines
        assert scanner.scan(lines) == []  # the same write refused again: still one refusal
    # Gemini CLI's rendered result (no tool id) then its stderr echo naming the tool, one batch:
    # one refusal, by the named tool (CI saw a nameless "?" reported beside it).
    rendered = [
        f"\x1b[31m  \u23bf \u2717 {error}\x1b[0m",
        f"Error executing tool write_file: {error}",
    ]
    assert RefusalScanner(cwd, writable).scan(rendered) == [("write_file", "src/web/page.py")]
    mine = f"Permission denied writing to file: {cwd}/src/api/server.py (EACCES)"
    assert RefusalScanner(cwd, writable).scan([mine]) == []  # writable: not the sandbox


def test_the_checkpoint_trailer_says_how_every_agent_ran() -> None:
    landlock7 = status_word(SandboxStatus("landlock", abi=7))
    host = status_word(SandboxStatus("unsandboxed", reason="no-python", host="gpu"))
    assert trailer({"w1-a1": landlock7, "w1-a2": landlock7}) == "landlock ABI 7"
    assert trailer({"w1-a1": landlock7, "w1-a2": host}) == (
        "landlock ABI 7: w1-a1; unsandboxed on gpu (no-python): watcher only: w1-a2"
    )
    assert trailer({}) is None
