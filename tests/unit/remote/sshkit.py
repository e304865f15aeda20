"""Test kit for remote agents: a real OpenSSH server, repositories, a small fake agent.

- ``sshd`` (session): Debian's ``/usr/sbin/sshd`` on 127.0.0.1, a free port, per-session host and
  client keys, its own config and log. Skipped with the reason when sshd is absent, a failure when
  ``WAVEDECK_REQUIRE_SSHD=1``. ``sshd.user`` is a non-root account when the tests run as root.
- ``repo``: a local git repository with one commit; ``host_clone``: the host's clone of it.
- ``fake_agent``: a script printing numbered lines, with a gate to wait at.

The faults (asyncssh's in-process server, a TCP proxy that drops, resets or delays) are in
``tests.unit.remote.faultkit``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from wavedeck.agents.config import HostConfig

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
TEST_USER = "wdagent"
ME = pwd.getpwuid(os.geteuid()).pw_name  # the login the tests use (root in CI)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_port_host(tmp_path: Path, **settings: Any) -> HostConfig:
    """A host on a loopback port nobody listens on (an unreachable host), no ssh config read."""
    return HostConfig(
        address="127.0.0.1",
        port=free_port(),
        workdir="/w",
        known_hosts=str(tmp_path / "kh"),
        ssh_config="",
        **settings,
    )


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll ``predicate`` until true or fail after ``timeout`` (for file-system state only)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.02)


def keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "wavedeck-test", "-f", str(path)],
        check=True,
    )


def ensure_user() -> str | None:
    """A non-root account sshd accepts (created when running as root), or None."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        # Another test worker may create it at the same moment: check the result, not the rc.
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", TEST_USER], capture_output=True)
        pwd.getpwnam(TEST_USER)
    subprocess.run(["usermod", "-p", "*", TEST_USER], check=True, capture_output=True)
    return TEST_USER


@dataclass
class Sshd:
    """A running OpenSSH server for the tests."""

    tmp: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    user: str | None = None
    extra_config: str = ""  # more sshd_config lines (e.g. ``SetEnv PATH=...``)
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.tmp / "sshd.log"
        self.host_key = self.tmp / "host_key"
        self.client_key = self.tmp / "client_key"
        self.known_hosts = self.tmp / "known_hosts"
        if not self.client_key.exists():
            keygen(self.client_key)
        (self.tmp / "authorized_keys").write_bytes(self.client_key.with_suffix(".pub").read_bytes())
        os.chmod(self.tmp, 0o755)
        for name in ("authorized_keys", "client_key.pub"):
            os.chmod(self.tmp / name, 0o644)

    def start(self, new_host_key: bool = False) -> None:
        if new_host_key or not self.host_key.exists():
            for p in (self.host_key, self.host_key.with_suffix(".pub")):
                p.unlink(missing_ok=True)
            keygen(self.host_key)
        if not self.known_hosts.exists():
            self.write_known_hosts()
        self.port = self.port or free_port()
        conf = self.tmp / "sshd_config"
        conf.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {self.host_key}\n"
            f"PidFile {self.tmp / 'sshd.pid'}\nAuthorizedKeysFile {self.tmp / 'authorized_keys'}\n"
            "UsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nLogLevel VERBOSE\n"
            "MaxStartups 100:30:200\nPrintMotd no\nAcceptEnv none\n" + self.extra_config
        )
        with contextlib.suppress(OSError):  # sshd's privilege separation dir (root only)
            Path("/run/sshd").mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(conf), "-E", str(self.log)],
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5) as sock:
                    if sock.recv(4).startswith(b"SSH-"):
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sshd did not start: {self.log.read_text(errors='replace')}")
            time.sleep(0.05)

    def write_known_hosts(self) -> None:
        kind, blob = self.host_key.with_suffix(".pub").read_text().split()[:2]
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port or 0} {kind} {blob}\n")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def connections(self) -> int:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text.count("Connection from 127.0.0.1")

    def cfg(self, workdir: str | Path, user: str = ME, **extra: Any) -> HostConfig:
        values: dict[str, Any] = {
            "address": "127.0.0.1",
            "port": self.port,
            "user": user,
            "workdir": str(workdir),
            "known_hosts": str(self.known_hosts),
            "client_keys": [str(self.client_key)],
            "ssh_config": "",
            "connect_timeout_s": 10,
            "keepalive_interval_s": 1,
            "keepalive_count_max": 2,
            "reconnect_base_s": 0.2,
            "reconnect_cap_s": 1.0,
        }
        values.update(extra)
        if values["port"] != self.port and "known_hosts" not in extra:
            # Through a proxy: the same host key, listed for the proxy's port.
            kh = self.tmp / f"known_hosts_{values['port']}"
            kind, blob = self.host_key.with_suffix(".pub").read_text().split()[:2]
            kh.write_text(f"[127.0.0.1]:{values['port']} {kind} {blob}\n")
            values["known_hosts"] = str(kh)
        return HostConfig(**values)


def _make_sshd(tmp: Path, extra_config: str = "") -> Sshd:
    if not Path(SSHD).exists():
        reason = f"OpenSSH server not installed ({SSHD} missing; apt-get install openssh-server)"
        if os.environ.get("WAVEDECK_REQUIRE_SSHD") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    server = Sshd(tmp, extra_config=extra_config)
    server.user = ensure_user()
    server.start()
    server.write_known_hosts()
    return server


def shared_dir(prefix: str) -> Path:
    """A temp dir the non-root test account can traverse (pytest's own is 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(path, 0o755)
    return path


@pytest.fixture(scope="session")
def sshd() -> Iterator[Sshd]:
    base = shared_dir("wdsshd-")
    server = _make_sshd(base)
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def user_dir() -> Iterator[Path]:
    base = shared_dir("wduser-")
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def make_sshd(tmp_path: Path) -> Iterator[Callable[..., Sshd]]:
    """A private sshd for tests that restart it, change its keys or its config
    (``make(extra_config=...)``)."""
    made: list[Sshd] = []

    def make(extra_config: str = "") -> Sshd:
        d = tmp_path / f"sshd{len(made)}"
        d.mkdir()
        made.append(_make_sshd(d, extra_config))
        return made[-1]

    yield make
    for server in made:
        server.stop()


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "t@example.invalid")
    git(path, "config", "user.name", "t")
    (path / "pkg").mkdir()
    (path / "pkg" / "a.py").write_text("A = 1\n")
    (path / "README").write_text("hello\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "base")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "local")


def make_clone(path: Path, owner: str | None = None) -> Path:
    """An empty git clone standing for the host's checkout (owned by ``owner`` when given)."""
    path.mkdir(parents=True)
    git(path, "init", "-q")
    if owner:
        subprocess.run(["chown", "-R", owner, str(path)], check=True)
        os.chmod(path.parent, 0o755)
    return path


@pytest.fixture
def host_clone(tmp_path: Path, sshd: Sshd) -> Path:
    """An empty git clone on the loopback host, for the root login."""
    return make_clone(tmp_path / "host")


def token() -> str:
    return "wdtok" + uuid.uuid4().hex[:12]


def pgrep(tok: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", tok], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def kill_token(tok: str) -> None:
    for pid in pgrep(tok):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)


# -- a small fake agent (the host is this machine, so a file path works remotely) ---------------

FAKE_AGENT = r"""
import argparse, os, signal, subprocess, sys, time
p = argparse.ArgumentParser()
p.add_argument("--token", default="")
p.add_argument("--lines", type=int, default=0)
p.add_argument("--delay", type=float, default=0.0)
p.add_argument("--spawn-bg", action="store_true")
p.add_argument("--ignore-term", action="store_true")
p.add_argument("--write", action="append", default=[])
p.add_argument("--delete", action="append", default=[])
p.add_argument("--binary", default="")
p.add_argument("--exit", type=int, default=0)
p.add_argument("--read-stdin", action="store_true")
p.add_argument("--gate", default="")
p.add_argument("--after", type=int, default=0)
a = p.parse_args()
if a.ignore_term:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if a.spawn_bg:
    for _ in range(2):
        subprocess.Popen(["sh", "-c", "sleep 300; :", a.token or "x"])
if a.read_stdin:
    print("stdin=" + repr(sys.stdin.read()), flush=True)
for spec in a.write:
    path, _, text = spec.partition("=")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(text + "\n")
for path in a.delete:
    os.remove(path)
if a.binary:
    with open(a.binary, "wb") as f:
        f.write(bytes(range(256)) * 4)
for i in range(1, a.lines + 1):
    print(f"line {i:07d}", flush=a.delay > 0)
    if a.delay:
        time.sleep(a.delay)
sys.stdout.flush()
if a.gate:
    deadline = time.monotonic() + 120  # a failed test never leaves it waiting forever
    while not os.path.exists(a.gate) and time.monotonic() < deadline:
        time.sleep(0.02)
for i in range(a.lines + 1, a.lines + a.after + 1):
    print(f"line {i:07d}", flush=True)
if a.ignore_term or a.spawn_bg:
    time.sleep(300)
sys.exit(a.exit)
"""


@pytest.fixture(scope="session")
def fake_agent() -> Iterator[Path]:
    base = shared_dir("wdagent-")
    path = base / "fake_agent.py"
    path.write_text(FAKE_AGENT)
    os.chmod(path, 0o644)
    yield path
    shutil.rmtree(base, ignore_errors=True)


def numbered(lines: list[str]) -> list[int]:
    return [int(line.split()[1]) for line in lines if line.startswith("line ")]
