"""Connecting to a host: host keys (A1-A3), closed ports and stalls (A4-A6), auth (A19), config."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncssh
import pydantic
import pytest

from tests.unit.remote.faultkit import AServer, Proxy
from tests.unit.remote.sshkit import Sshd, free_port, keygen
from wavedeck.agents.config import HostConfig
from wavedeck.agents.events import HostConnectionChanged
from wavedeck.agents.remote.transport import (
    AuthFailed,
    Backoff,
    HostKeyChanged,
    HostKeyUnknown,
    HostTransport,
    HostUnreachable,
)

pytestmark = pytest.mark.timeout(60)


async def test_a1_unknown_host_key_refused_with_fingerprint_and_remedy(
    sshd: Sshd, tmp_path: Path
) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    for known in (empty, tmp_path / "missing"):
        t = HostTransport("loop", sshd.cfg("/tmp", known_hosts=str(known)))
        with pytest.raises(HostKeyUnknown) as err:
            await t.connect()
        msg = str(err.value)
        fp = asyncssh.read_public_key(str(sshd.host_key) + ".pub").get_fingerprint("sha256")
        assert f"127.0.0.1:{sshd.port}" in msg and "ssh-ed25519" in msg and fp in msg
        assert "ssh-keyscan" in msg and "never adds" in msg
        assert t.attempts == 1  # not retried
    assert empty.read_text() == "" and not (tmp_path / "missing").exists()  # never auto-added


async def test_a2_changed_host_key_is_a_distinct_error(make_sshd: Callable[[], Sshd]) -> None:
    server = make_sshd()
    cfg = server.cfg("/tmp")
    t = HostTransport("loop", cfg)
    conn, _ = await t.connect()
    conn.close()
    server.stop()
    server.start(new_host_key=True)  # same port, new key, old known_hosts
    with pytest.raises(HostKeyChanged) as err:
        await HostTransport("loop", cfg).connect()
    assert "HOST KEY CHANGED" in str(err.value) and "ssh-keygen -R" in str(err.value)
    # Reached through an ssh config alias, the changed key is still told apart from a new one.
    conf = server.tmp / "alias_config"
    conf.write_text(f"Host boxalias\n  HostName 127.0.0.1\n  Port {server.port}\n")
    values = server.cfg("/tmp", address="boxalias", ssh_config=str(conf)).model_dump()
    del values["port"]
    with pytest.raises(HostKeyChanged):
        await HostTransport("alias", HostConfig(**values)).connect()


async def test_a3_user_config_cannot_turn_verification_off(sshd: Sshd, tmp_path: Path) -> None:
    conf = tmp_path / "ssh_config"
    conf.write_text(
        "Host *\n  UserKnownHostsFile none\n  StrictHostKeyChecking no\n"
        f"Host loopalias\n  HostName 127.0.0.1\n  Port {sshd.port}\n"
    )
    empty = tmp_path / "kh"
    empty.write_text("")
    cfg = sshd.cfg("/tmp", known_hosts=str(empty), ssh_config=str(conf))
    with pytest.raises(HostKeyUnknown):
        await HostTransport("loop", cfg).connect()
    # The same config still resolves aliases, and a listed key is accepted through the alias.
    values = sshd.cfg("/tmp", address="loopalias", ssh_config=str(conf)).model_dump()
    del values["port"]  # the port comes from the ssh config
    alias = HostConfig(**values)
    t = HostTransport("alias", alias)
    await t.run("true")
    await t.close()


async def test_a4_closed_port_backs_off_capped_then_unreachable() -> None:
    cfg = HostConfig(
        address="127.0.0.1",
        port=free_port(),
        workdir="/tmp",
        known_hosts="/dev/null",
        reconnect_base_s=0.5,
        reconnect_cap_s=2.0,
        reconnect_attempts=5,
        ssh_config="",
    )
    slept: list[float] = []
    events: list[HostConnectionChanged] = []

    async def fake_sleep(s: float) -> None:
        slept.append(s)

    t = HostTransport("down", cfg, events.append, sleep=fake_sleep)
    started = time.monotonic()
    with pytest.raises(HostUnreachable, match="connection refused"):
        await t.connect()
    assert time.monotonic() - started < 5  # fails fast: refusals are immediate
    assert t.attempts == 5 and slept == [0.5, 1.0, 2.0, 2.0]
    assert [e.state for e in events] == ["reconnecting"] * 4 + ["unreachable"]
    assert [e.next_attempt_s for e in events[:4]] == slept
    assert Backoff(1, 30, 9).delay(9) == 30


@pytest.mark.slow
async def test_a5_no_banner_hits_connect_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    cfg = HostConfig(
        address="127.0.0.1",
        port=port,
        workdir="/tmp",
        known_hosts="/dev/null",
        connect_timeout_s=1.0,
        reconnect_attempts=1,
        ssh_config="",
    )
    started = time.monotonic()
    with pytest.raises(HostUnreachable, match="timed out"):
        await HostTransport("mute", cfg).connect()
    assert time.monotonic() - started <= 2.0
    server.close()


@pytest.mark.slow
async def test_a6_stall_during_login_times_out(
    aserver: Callable[..., Awaitable[AServer]], proxy: Callable[[int], Awaitable[Proxy]]
) -> None:
    async def handler(process: asyncssh.SSHServerProcess[bytes]) -> None:
        process.exit(0)

    srv = await aserver(handler)
    p = await proxy(srv.port)
    p.pass_bytes = 200  # the banner and part of key exchange, then nothing
    cfg = srv.cfg(port=p.port, connect_timeout_s=1.5, login_timeout_s=1.5, reconnect_attempts=1)
    started = time.monotonic()
    with pytest.raises(HostUnreachable):
        await HostTransport("stall", cfg).connect()
    assert time.monotonic() - started <= 3.0


async def test_a19_auth_failure_is_one_attempt(sshd: Sshd, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong_key"
    keygen(wrong)
    before = sshd.connections()
    events: list[HostConnectionChanged] = []
    t = HostTransport("loop", sshd.cfg("/tmp", client_keys=[str(wrong)]), events.append)
    with pytest.raises(AuthFailed, match=r"authentication failed.*not retried"):
        await t.connect()
    assert t.attempts == 1
    assert [e.state for e in events] == ["unreachable"]
    # sshd logs a connection when it accepts it. A good connection made after connect() gave
    # up is logged after every connection connect() made: then count them (one, and the mark).
    mark = HostTransport("loop", sshd.cfg("/tmp"))
    assert (await mark.run("true")).returncode == 0
    await mark.close()
    assert sshd.connections() - before == 2


def test_keepalive_can_never_be_zero() -> None:
    for field in ("keepalive_interval_s", "connect_timeout_s", "login_timeout_s"):
        with pytest.raises(pydantic.ValidationError):
            HostConfig(address="h", workdir="/w", **{field: 0})
    with pytest.raises(pydantic.ValidationError):
        HostConfig(address="h", workdir="/w", keepalive_count_max=0)
