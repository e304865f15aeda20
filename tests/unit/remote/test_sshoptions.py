"""What each connection negotiates (``wavedeck.agents.remote.sshoptions``), on real connections.

- With OpenSSH: AES-GCM (the cheapest cipher for this process, which decrypts every log byte)
  and no compression, both ways, even when the ssh config asks for compression.
- With a server that offers no AES-GCM: the connection still works, on asyncssh's defaults.
"""

from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest
from asyncssh.encryption import get_default_encryption_algs

from tests.unit.remote.sshkit import Sshd
from wavedeck.agents.config import HostConfig
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


class _AnyUser(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True


async def _echo(process: asyncssh.SSHServerProcess[bytes]) -> None:
    process.stdout.write(b"through\n")
    process.exit(0)


async def test_a_server_without_aes_gcm_gets_a_default_cipher(tmp_path: Path) -> None:
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    acceptor = await asyncssh.listen(
        "127.0.0.1",
        0,
        server_host_keys=[host_key],
        authorized_client_keys=asyncssh.import_authorized_keys(
            client_key.export_public_key().decode()
        ),
        server_factory=_AnyUser,
        process_factory=_echo,
        encoding=None,
        encryption_algs=["aes256-ctr", "aes128-cbc"],  # no AES-GCM, no chacha
    )
    try:
        port = acceptor.sockets[0].getsockname()[1]
        (tmp_path / "kh").write_bytes(
            f"[127.0.0.1]:{port} ".encode() + host_key.export_public_key()
        )
        client_key.write_private_key(str(tmp_path / "ck"))
        cfg = HostConfig(
            address="127.0.0.1",
            port=port,
            user="tester",
            workdir="/tmp",
            known_hosts=str(tmp_path / "kh"),
            client_keys=[str(tmp_path / "ck")],
            ssh_config="",
        )
        conn, _ = await HostTransport("old", cfg).connect_once()
        try:
            assert negotiated(conn)["recv_cipher"] == "aes256-ctr"
            result = await conn.run("anything", encoding=None)
            assert (result.exit_status, result.stdout) == (0, b"through\n")
        finally:
            conn.close()
            await conn.wait_closed()
    finally:
        acceptor.close()
        await acceptor.wait_closed()
