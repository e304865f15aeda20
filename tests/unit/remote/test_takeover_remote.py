"""A take-over on an SSH host, its parts against the test's real sshd on 127.0.0.1: the OpenSSH
argv (the host's key, known_hosts, port and user; no option or shell text from a value), the
remote command (into the agent's worktree, its environment exported byte for byte, the CLI's
exit status passed through), and the work around it: the worktree's state before, the patch of
what changed since, the transcript's size and new bytes, the record appended to the log."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.unit.remote.sshkit import Sshd, git, make_clone
from wavedeck.agents.remote.commands import CommandError, RemotePaths
from wavedeck.agents.remote.takeover import HostSide, ssh_argv, takeover_script
from wavedeck.agents.remote.transport import HostTransport

pytestmark = [pytest.mark.timeout(60)]
TRICKY = 'it\'s "quoted" $HOME `x` ; rm -rf /'


def test_the_ssh_argv_names_the_hosts_key_known_hosts_port_and_user(sshd: Sshd) -> None:
    cfg = sshd.cfg("/srv/repo")
    argv = ssh_argv(cfg, "echo hi")
    assert argv[:2] == ["ssh", "-t"] and argv[2:4] == ["-F", "/dev/null"]
    joined = " ".join(argv)
    assert "StrictHostKeyChecking=yes" in joined and "UpdateHostKeys=no" in joined
    assert f"UserKnownHostsFile={sshd.known_hosts}" in joined
    assert "GlobalKnownHostsFile=/dev/null" in joined
    assert argv[argv.index("-i") + 1] == str(sshd.client_key)
    assert argv[argv.index("-p") + 1] == str(sshd.port)
    assert argv[-3:] == ["--", "127.0.0.1", "sh -c 'echo hi'"]  # one word for the login shell
    for bad in ({"address": "-oProxyCommand=x"}, {"user": "me -l root"}, {"address": "a\nb"}):
        with pytest.raises(CommandError):
            ssh_argv(sshd.cfg("/srv/repo", **bad), "true")


def _worktree(clone: Path, agent: str) -> Path:
    tree = clone / ".wavedeck" / "worktrees" / agent
    tree.mkdir(parents=True)
    git(tree, "init", "-q")
    (tree / "a.py").write_text("A = 1\n")
    git(tree, "add", "-A")
    git(tree, "-c", "user.name=t", "-c", "user.email=t@e.invalid", "commit", "-qm", "base")
    return tree


@pytest.mark.sshd
def test_the_remote_command_runs_in_the_worktree_and_passes_the_status_through(
    sshd: Sshd, tmp_path: Path
) -> None:
    clone = make_clone(tmp_path / "host")
    tree = _worktree(clone, "w1-a1")
    paths = RemotePaths("w1-a1", str(clone))
    script = takeover_script(
        paths,
        ["sh", "-c", 'pwd; printf "%s\\n" "$GREETING" "$AT"; exit 7', "/local/repo"],
        {"GREETING": TRICKY, "AT": "/local/repo"},
        argv_exprs={3: '"$wt"'},
        env_exprs={"AT": '"$wt"'},
    )
    done = subprocess.run(
        ssh_argv(sshd.cfg(clone), script), capture_output=True, text=True, timeout=30, check=False
    )
    lines = done.stdout.replace("\r", "").splitlines()
    assert done.returncode == 7, done.stderr  # the CLI's status is ssh's
    assert lines[:3] == [str(tree), TRICKY, str(tree)]  # local paths mean the worktree there
    missing = takeover_script(RemotePaths("w1-a2", str(clone)), ["true"], {})
    gone = subprocess.run(
        ssh_argv(sshd.cfg(clone), missing), capture_output=True, text=True, timeout=30, check=False
    )
    assert gone.returncode == 3 and "no worktree of this agent here" in gone.stderr


@pytest.mark.sshd
async def test_the_work_before_and_after_on_the_host(sshd: Sshd, tmp_path: Path) -> None:
    clone = make_clone(tmp_path / "host")
    tree = _worktree(clone, "w1-a1")
    transport = HostTransport("loop", sshd.cfg(clone))
    side = HostSide(transport, RemotePaths("w1-a1", str(clone)))
    state = tmp_path / "claude"
    where = '"${CLAUDE_CONFIG_DIR:-$HOME/.claude}"/projects/*/s-1.jsonl'
    env = {"CLAUDE_CONFIG_DIR": str(state)}
    try:
        assert await side.transcript_state(env, where) == (-1, b"")  # none yet
        transcript = state / "projects" / "-x" / "s-1.jsonl"
        transcript.parent.mkdir(parents=True)
        transcript.write_bytes(b'{"a": 1}\n')
        size, tail = await side.transcript_state(env, where)
        assert (size, tail) == (9, b'{"a": 1}\n')
        before = await side.tree()
        (tree / "a.py").write_text("A = 2\n")
        (tree / "new.py").write_text("B = 1\n")
        transcript.write_bytes(b'{"a": 1}\n{"b": 2}\n')
        patch = await side.changes_since(before)
        assert b"+A = 2" in patch and b"new.py" in patch
        assert await side.transcript_since(env, where, size) == b'{"b": 2}\n'
        assert git(tree, "status", "--porcelain") == " M a.py\n?? new.py\n"  # index untouched
        log = clone / ".wavedeck" / "logs" / "w1-a1.log"
        log.parent.mkdir(parents=True)
        log.write_bytes(b"partial line")
        assert await side.append_log(["── record ──", "   detail"]) == (12, 44)
        assert log.read_text("utf-8") == "partial line\n── record ──\n   detail\n"
    finally:
        await transport.close()
