"""A remote log shorter than the offset to read from is reported, never waited on in silence.

The host's log was truncated or replaced (by hand, by a tool on the host) below the offset the
control room had read to: ``tail -c +offset`` would wait, showing nothing, until the log grew
past the offset, then show a stretch cut mid-line as if nothing had happened. ``tail_script``
ends with ``LOG_SHRANK`` instead, and the follow raises ``LogShrank`` (not retried: reading
again from that offset cannot help), which the control room shows as a notice on the agent.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.eventkit import until
from tests.unit.remote.sshkit import Sshd, make_clone
from wavedeck.agents.remote.commands import RemotePaths
from wavedeck.agents.remote.logstream import LogShrank
from wavedeck.agents.remote.runner import RemoteRunner
from wavedeck.agents.remote.tailscript import LOG_SHRANK, tail_script
from wavedeck.agents.runtypes import LaunchSpec

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("compress", ["auto", "never"])
def test_the_script_ends_with_log_shrank_below_the_offset(tmp_path: Path, compress: str) -> None:
    (tmp_path / ".wavedeck" / "logs").mkdir(parents=True)
    (tmp_path / ".wavedeck" / "run").mkdir()
    (tmp_path / ".wavedeck" / "logs" / "w1-a1.log").write_text("one\n")
    host = RemotePaths("w1-a1", str(tmp_path))
    me = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, check=True)
    pid = int(me.stdout)  # ended: the script would read once and stop, not follow
    done = subprocess.run(
        ["sh", "-c", tail_script(host, 3_000_000, pid, 1, compress)],
        capture_output=True,
        timeout=20,
    )
    assert done.returncode == LOG_SHRANK
    assert done.stdout == b""
    assert b"shrank to 4 bytes, below the offset 3000000" in done.stderr
    # At the offset exactly (nothing new yet) is no shrink.
    ok = subprocess.run(["sh", "-c", tail_script(host, 4, pid, 1, compress)], timeout=20)
    assert ok.returncode == 0


@pytest.mark.sshd
async def test_a_follow_from_past_the_end_of_a_truncated_log_says_so(
    make_sshd: Callable[..., Sshd], repo: Path, tmp_path: Path
) -> None:
    server = make_sshd()
    clone = make_clone(tmp_path / "host")
    r = RemoteRunner("loop", server.cfg(clone), repo=repo, bring_back=False)
    argv = (sys.executable, "-c", "print('\\n'.join(f'line {i}' for i in range(1000)))")
    h = await r.launch(LaunchSpec("w1-a1", argv, repo))
    await until(lambda: Path(h.exit_path).exists(), 30, "the agent to finish")
    offset = Path(h.log_path).stat().st_size
    Path(h.log_path).write_text("a new log\n")  # truncated on the host (it is this machine)
    attempts = r.transport.attempts
    with pytest.raises(LogShrank, match=f"below the offset {offset}") as caught:
        async for _chunk in r.follow(h, offset):
            pass
    assert not caught.value.retry
    assert r.transport.attempts == attempts  # no reconnect round: reading again cannot help
    await r.close()
