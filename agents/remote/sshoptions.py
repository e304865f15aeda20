"""``connect_options``: what wavedeck asks of asyncssh for every connection to a host.

- **Host keys** are checked against the configured known_hosts file only: it is read here
  (``read_known_hosts``) and handed to asyncssh as data, so a user ssh config saying
  ``UserKnownHostsFile none`` or ``StrictHostKeyChecking no`` changes nothing.
- **Ciphers**: AES-GCM first (``ENCRYPTION_ALGS``, asyncssh's defaults reordered, so a server
  without AES-GCM gets the defaults): every byte of a remote log is decrypted in this process.
- **No SSH compression** (``COMPRESSION_ALGS``), whatever the ssh config says: wavedeck compresses a
  long log backlog itself, once, on the host (zstd, else gzip: ``tailscript.tail_script``).
- **Socket reads** capped at ``SOCKET_READ_BYTES`` (``limit_reads``, once connected).
- No password or keyboard-interactive logins; only the configured client keys when the config
  names some; ``~/.ssh/config`` (or ``HostConfig.ssh_config``) for aliases (HostName, Port, User).

The measured reasons are in ``bench/ssh_bench.py``'s docstring and next to each setting.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wavedeck.agents.config import HostConfig

if TYPE_CHECKING:
    import asyncssh

__all__ = [
    "COMPRESSION_ALGS",
    "ENCRYPTION_ALGS",
    "SOCKET_READ_BYTES",
    "connect_options",
    "limit_reads",
    "read_known_hosts",
]

# AES-GCM first: with AES instructions it costs asyncssh half the CPU of chacha20-poly1305 per
# byte (measured: 0.09 s vs 0.16 s for 57 MB of log; a full remote follow of 1M lines, client
# CPU median 0.149 s vs 0.213 s). aes128 and aes256 measured the same; aes128 leads as in
# OpenSSH's own order. The rest is asyncssh's default list, so that is what a server without
# AES-GCM is offered.
ENCRYPTION_ALGS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
)

# asyncssh offers no compression first by default, but ``Compression yes`` in an ssh config
# (a common line) turns zlib on for every packet: a remote follow of 1M lines then took twice the
# client's CPU (median 0.32 s vs 0.17 s) at a quarter of the rate. Long log backlogs are
# compressed by the host's shell instead (zstd, or gzip when the host is not this machine).
COMPRESSION_ALGS = ("none",)

# asyncssh takes each packet (32 KiB from OpenSSH) off the front of its input buffer by copying
# the unread rest, and asyncio hands it up to 256 KiB per socket read: a long log stream spent
# ~10% of the client's CPU re-copying. 128 KiB reads measured best (SSH tail of 1M lines:
# median 7.6 -> 8.5 M lines/s; 64 KiB and 32 KiB reads cost more in recv calls, and so did
# reads of exactly one packet, 32,804 bytes).
SOCKET_READ_BYTES = 128 * 1024


def read_known_hosts(path: str) -> bytes:
    """The known_hosts file's bytes, never empty (asyncssh treats b'' as "use the default")."""
    try:
        data = Path(os.path.expanduser(path)).read_bytes()
    except FileNotFoundError:
        data = b""
    return b"# wavedeck: verified explicitly\n" + data


def connect_options(cfg: HostConfig) -> dict[str, Any]:
    """The keyword arguments of ``asyncssh.connect`` for the host ``cfg`` describes."""
    opts: dict[str, Any] = {
        "known_hosts": read_known_hosts(cfg.known_hosts),
        "connect_timeout": cfg.connect_timeout_s,
        "login_timeout": cfg.login_timeout_s,
        "keepalive_interval": cfg.keepalive_interval_s,
        "keepalive_count_max": cfg.keepalive_count_max,
        "password_auth": False,
        "kbdint_auth": False,
        "encryption_algs": ENCRYPTION_ALGS,
        "compression_algs": COMPRESSION_ALGS,
    }
    if "port" in cfg.model_fields_set:  # else ~/.ssh/config (or 22) decides
        opts["port"] = cfg.port
    if cfg.user:
        opts["username"] = cfg.user
    if cfg.client_keys:
        opts["client_keys"] = [os.path.expanduser(k) for k in cfg.client_keys]
        opts["agent_path"] = None  # only the keys the config names
    if cfg.ssh_config is not None:
        opts["config"] = [os.path.expanduser(cfg.ssh_config)] if cfg.ssh_config else []
    return opts


def limit_reads(conn: asyncssh.SSHClientConnection) -> None:
    """Cap the size of one socket read on ``conn`` (asyncio's selector transport only; any
    other transport, such as a tunnel, is left alone)."""
    transport = getattr(conn, "_transport", None)
    if isinstance(getattr(transport, "max_size", None), int):
        transport.max_size = SOCKET_READ_BYTES  # type: ignore[union-attr]
