"""What each connection negotiates (``wavedeck.agents.remote.sshoptions``), on real connections.

- With OpenSSH: AES-GCM (the cheapest cipher for this process, which decrypts every log byte)
  and no compression, both ways, even when the ssh config asks for compression.
- With a server that offers no AES-GCM: the connection still works, on asyncssh's defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncssh
import pytest
from asyncssh.encryption import get_default_encryption_algs

from tests.unit.remote.sshkit import Sshd
from wavedeck.agents.remote.sshoptions import COMPRESSION_ALGS, ENCRYPTION_ALGS
from wavedeck.agents.remote.transport import HostTransport

pytestmark = pytest.mark.timeout(60)


def negotiated(conn: asyncssh.SSHClientConnection) -> dict[str, str]:
    names = ("send_cipher", "recv_cipher", "send_compression", "recv_compression")
    return {name: conn.get_extra_info(name) for name in names}


def test_the_cipher_list_is_asyncssh_defaults_with_aes_gcm_first() -> None:
    """A server without AES-GCM is offered exactly what asyncssh would offer it anyway."""
    defaults = {alg.decode() for alg in get_default_encryption_algs()}
    assert set(ENCRYPTION_ALGS) == defaults
    assert ENCRYPTION_ALGS[0] == "aes128-gcm@openssh.com"
    assert COMPRESSION_ALGS == ("none",)


@pytest.mark.sshd
async def test_openssh_negotiates_aes_gcm_and_no_compression(sshd: Sshd, tmp_path: Path) -> None:
    transport = HostTransport("loop", sshd.cfg(tmp_path))
    conn, _ = await transport.connect_once()
    try:
        assert negotiated(conn) == {
            "send_cipher": "aes128-gcm@openssh.com",
            "recv_cipher": "aes128-gcm@openssh.com",
            "send_compression": "none",
            "recv_compression": "none",
        }
    finally:
        conn.close()
        await conn.wait_closed()


@pytest.mark.sshd
async def test_compression_stays_off_when_the_ssh_config_asks_for_it(
    sshd: Sshd, tmp_path: Path
) -> None:
    """``Compression yes`` (OpenSSH's server accepts it) would zlib every packet both ways:
    twice the client's CPU on a log stream. wavedeck compresses a long backlog itself."""
    config = tmp_path / "ssh_config"
    config.write_text("Host *\n    Compression yes\n")
    transport = HostTransport("loop", sshd.cfg(tmp_path, ssh_config=str(config)))
    conn, _ = await transport.connect_once()
    try:
        info = negotiated(conn)
        assert (info["send_compression"], info["recv_compression"]) == ("none", "none")
        assert info["recv_cipher"] == "aes128-gcm@openssh.com"
        res = await conn.run("echo through", check=True)
        assert res.stdout == "through\n"
    finally:
        conn.close()
        await conn.wait_closed()


async def _echo(process: asyncssh.SSHServerProcess[bytes]) -> None:
    process.stdout.write(b"through\n")
    process.exit(0)


async def test_a_server_without_aes_gcm_gets_a_default_cipher(aserver: Any) -> None:
    server = await aserver(_echo, encryption_algs=["aes256-ctr", "aes128-cbc"])  # no GCM, chacha
    conn, _ = await HostTransport("old", server.cfg()).connect_once()
    try:
        assert negotiated(conn)["recv_cipher"] == "aes256-ctr"
        result = await conn.run("anything", encoding=None)
        assert (result.exit_status, result.stdout) == (0, b"through\n")
    finally:
        conn.close()
        await conn.wait_closed()
