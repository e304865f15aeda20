"""SSH connections to one host: verified host keys, timeouts, keepalives, backoff and pooling.

``HostTransport`` owns every connection wavedeck keeps to one configured host:

- **Host keys are always verified** against the configured known_hosts file, handed to asyncssh
  as data, and nothing is ever added to the file. An unknown key and a changed key give
  different errors (``HostKeyUnknown``, ``HostKeyChanged``) naming host:port, the key type, its
  SHA256 fingerprint and the remedy.
- The options of each connection (known_hosts, ciphers, no compression, timeouts, keepalives,
  ``~/.ssh/config`` for aliases, socket read size) are ``wavedeck.agents.remote.sshoptions``'s.
- Reconnects use capped exponential backoff; authentication and host key failures are never
  retried (one attempt), since retrying cannot fix them and may lock the account.
- **Pooling**: OpenSSH allows ``MaxSessions`` (10) channels per connection; each pooled
  connection carries at most ``max_sessions_per_connection`` channels and more are opened as
  needed, so a host can run any number of agents.

Connection state changes are reported as ``HostConnectionChanged`` to the ``on_event`` callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar, cast

from wavedeck.agents.config import HostConfig
from wavedeck.agents.events import Event, HostConnectionChanged
from wavedeck.agents.kinds import HostLink
from wavedeck.agents.remote.sshoptions import connect_options, limit_reads, read_known_hosts
from wavedeck.plan.errors import WavedeckError

with warnings.catch_warnings():
    # cryptography 48+ deprecates DSA, which asyncssh 2.24 still imports: a warning on the
    # stderr of every command that reaches SSH (wavedeck attach...) that nobody can act on.
    # A user who asks for warnings (-W, PYTHONWARNINGS) gets them, as from the CLI's filter.
    if not sys.warnoptions:
        warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"asyncssh(\.|$)")
    import asyncssh


class TransportError(WavedeckError, OSError):
    """Base of every SSH failure wavedeck reports; ``retry`` says whether backoff may help.

    An ``OSError``, like ``ConnectionError``: callers that handle I/O failures of a local
    launch (``except OSError``) handle a remote one the same way."""

    retry = True


class HostUnreachable(TransportError):
    """Refused, timed out, reset, DNS failure: the network or sshd; retried with backoff."""


class ConnectionLostError(TransportError):
    """An established connection dropped while a command ran."""


class AuthFailed(TransportError):
    retry = False


class HostKeyError(TransportError):
    retry = False


class HostKeyUnknown(HostKeyError):
    pass


class HostKeyChanged(HostKeyError):
    pass


@dataclass(frozen=True)
class RunResult:
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")


class Backoff:
    """Capped exponential backoff: base, base*2, … up to cap (no jitter: tests assert spacing)."""

    def __init__(self, base_s: float, cap_s: float, max_attempts: int) -> None:
        self.base_s, self.cap_s, self.max_attempts = base_s, cap_s, max_attempts

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.cap_s, self.base_s * (2 ** (attempt - 1))))


class _Client(asyncssh.SSHClient):
    """Records the server's key when it is not trusted, and when the connection ends."""

    def __init__(self) -> None:
        self.rejected_key: asyncssh.SSHKey | None = None
        self.peer: tuple[str, str, int] | None = None  # (host, address, port) as resolved
        self.closed = asyncio.Event()

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        self.rejected_key, self.peer = key, (host, addr, port)
        return False  # never trust what known_hosts does not list

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()


@dataclass
class _Pooled:
    conn: asyncssh.SSHClientConnection
    client: _Client
    in_use: int = 0

    @property
    def usable(self) -> bool:
        return not self.client.closed.is_set()


S = TypeVar("S", bound=asyncssh.SSHClientSession[bytes])

# Any event sink works (the supervisor's ``_emit``); the transport only sends host events.
EventSink = Callable[[Event], None]


class HostTransport:
    """Pooled, verified SSH connections to one host (see module docstring)."""

    def __init__(
        self,
        name: str,
        cfg: HostConfig,
        on_event: EventSink | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.name = name
        self.cfg = cfg
        self.on_event = on_event
        self._sleep = sleep
        self._pool: list[_Pooled] = []
        self._lock = asyncio.Lock()
        self._state = "new"
        self.attempts = 0  # connection attempts made (tests and `hosts check` read it)
        self.backoff = Backoff(cfg.reconnect_base_s, cfg.reconnect_cap_s, cfg.reconnect_attempts)

    # -- events -------------------------------------------------------------------------------

    def _emit(self, state: HostLink, detail: str = "", next_s: float | None = None) -> None:
        if state == self._state and state == "connected":
            return
        self._state = state
        if self.on_event is not None:
            self.on_event(HostConnectionChanged(self.name, state, detail, next_s))

    @property
    def where(self) -> str:
        return f"{self.cfg.address}:{self.cfg.port}"

    # -- one attempt --------------------------------------------------------------------------

    def _key_error(self, client: _Client, host_known: bool) -> HostKeyError:
        key = client.rejected_key
        kind = key.get_algorithm() if key else "unknown"
        fp = key.get_fingerprint("sha256") if key else "unknown"
        kh = self.cfg.known_hosts
        host = self.cfg.address if self.cfg.port == 22 else f"[{self.cfg.address}]:{self.cfg.port}"
        if host_known:
            return HostKeyChanged(
                f"{self.name} ({self.where}): HOST KEY CHANGED: the server offered a {kind} key "
                f"{fp} that {kh} does not list for it. This may be a man-in-the-middle attack. "
                f"If the host was reinstalled, verify the new fingerprint out of band, then run "
                f"ssh-keygen -R '{host}' -f {kh} and add the new key."
            )
        return HostKeyUnknown(
            f"{self.name} ({self.where}): unknown host key: {kind} {fp} is not in {kh}. "
            f"Verify the fingerprint out of band, then add it, e.g. "
            f"ssh-keyscan -p {self.cfg.port} {self.cfg.address} >> {kh} (wavedeck never adds keys)."
        )

    def _host_known(self, client: _Client) -> bool:
        """Whether known_hosts lists any key for this host (then a mismatch is a CHANGED key)."""
        host, addr, port = client.peer or (self.cfg.address, "", self.cfg.port)
        try:
            keys = asyncssh.import_known_hosts(read_known_hosts(self.cfg.known_hosts).decode())
            trusted = keys.match(host, addr, None if port == 22 else port)[0]
            return bool(trusted)
        except (ValueError, UnicodeDecodeError):
            return False

    async def connect_once(self) -> tuple[asyncssh.SSHClientConnection, _Client]:
        """One connection attempt; failures become ``TransportError`` subclasses."""
        holder: list[_Client] = []

        def factory() -> _Client:
            holder.append(_Client())
            return holder[-1]

        self.attempts += 1
        try:
            conn = await asyncssh.connect(
                self.cfg.address, client_factory=factory, **connect_options(self.cfg)
            )
        except asyncssh.HostKeyNotVerifiable:
            client = holder[-1] if holder else _Client()
            raise self._key_error(client, self._host_known(client)) from None
        except asyncssh.PermissionDenied as exc:
            raise AuthFailed(
                f"{self.name} ({self.where}): authentication failed ({exc.reason}); check the "
                f"user and client_keys in wavedeck.toml (not retried)"
            ) from None
        except TimeoutError:
            raise HostUnreachable(f"{self.name} ({self.where}): timed out connecting") from None
        except asyncssh.KeyImportError as exc:
            raise AuthFailed(f"{self.name}: cannot read a client key: {exc}") from None
        except (OSError, asyncssh.Error) as exc:
            raise HostUnreachable(f"{self.name} ({self.where}): {_describe(exc)}") from None
        limit_reads(conn)
        return conn, holder[-1]

    async def connect(self, retry: bool = True) -> tuple[asyncssh.SSHClientConnection, _Client]:
        """Connect, retrying unreachable hosts with capped exponential backoff (unless not
        ``retry``: one attempt)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                result = await self.connect_once()
            except TransportError as exc:
                if not exc.retry or not retry or attempt >= self.backoff.max_attempts:
                    self._emit("unreachable", str(exc))
                    raise
                delay = self.backoff.delay(attempt)
                self._emit("reconnecting", str(exc), delay)
                await self._sleep(delay)
                continue
            self._emit("connected", self.where)
            return result

    # -- pooled channels ----------------------------------------------------------------------

    async def _acquire(self, retry: bool = True) -> _Pooled:
        async with self._lock:
            self._pool = [p for p in self._pool if p.usable]
            for pooled in self._pool:
                if pooled.in_use < self.cfg.max_sessions_per_connection:
                    pooled.in_use += 1
                    return pooled
            if self._pool == [] and self._state == "connected":
                self._emit("reconnecting", "connection lost", 0.0)
            conn, client = await self.connect(retry)
            pooled = _Pooled(conn, client, 1)
            self._pool.append(pooled)
            return pooled

    def _release(self, pooled: _Pooled) -> None:
        pooled.in_use -= 1

    @contextlib.contextmanager
    def _lost(self) -> Iterator[None]:
        """A dropped link (OSError, asyncssh's errors) as ``ConnectionLostError``; wavedeck's own
        ``TransportError``s pass as they are."""
        try:
            yield
        except TransportError:
            raise
        except (OSError, asyncssh.Error) as exc:
            raise ConnectionLostError(f"{self.name}: {_describe(exc)}") from None

    @contextlib.asynccontextmanager
    async def process(
        self, command: str, retry: bool = True
    ) -> AsyncIterator[asyncssh.SSHClientProcess[bytes]]:
        """A binary remote process on a pooled connection; a dropped link raises
        ``ConnectionLostError``. Without ``retry`` a missing connection gets one attempt."""
        pooled = await self._acquire(retry)
        try:
            with self._lost():
                proc = await pooled.conn.create_process(command, encoding=None)
            try:
                with self._lost():
                    yield proc
            finally:
                proc.close()
        finally:
            self._release(pooled)

    @contextlib.asynccontextmanager
    async def session(
        self, command: str, factory: Callable[[], S], window: int
    ) -> AsyncIterator[tuple[asyncssh.SSHClientChannel[bytes], S]]:
        """A binary channel running ``command`` on a pooled connection, its data handed to the
        session ``factory`` makes (no stream readers: see ``wavedeck.agents.remote.logstream``);
        a dropped link raises ``ConnectionLostError``."""
        pooled = await self._acquire()
        try:
            with self._lost():
                chan, session = await pooled.conn.create_session(
                    factory, command, encoding=None, window=window
                )
            try:
                with self._lost():
                    yield chan, cast(S, session)
            finally:
                chan.close()
        finally:
            self._release(pooled)

    async def run(
        self, command: str, input: bytes | None = None, timeout: float = 60.0, retry: bool = True
    ) -> RunResult:
        """Run a command to completion and collect its output."""
        async with self.process(command, retry) as proc:
            try:
                if input is not None:
                    proc.stdin.write(input)
                proc.stdin.write_eof()
                done = await asyncio.wait_for(proc.wait(check=False), timeout)
            except TimeoutError:  # (OSError and asyncssh's errors: ``process`` says them)
                raise ConnectionLostError(
                    f"{self.name}: no answer within {timeout:.0f} s"
                ) from None
            if done.exit_status is None and done.exit_signal is None:
                # The channel closed without a status: the connection went away.
                raise ConnectionLostError(f"{self.name}: connection lost")
            rc = done.exit_status if done.exit_status is not None else 255
            out = done.stdout if isinstance(done.stdout, bytes) else b""
            err = done.stderr if isinstance(done.stderr, bytes) else b""
            return RunResult(rc, out, err)

    async def close(self) -> None:
        pool, self._pool = self._pool, []
        for pooled in pool:
            pooled.conn.close()
        for pooled in pool:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pooled.conn.wait_closed(), 2.0)

    def abort(self) -> None:
        """Drop every connection at once (tests; a stuck link)."""
        for pooled in self._pool:
            pooled.conn.abort()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is sshd running on that port?)"
    if isinstance(exc, asyncssh.Error):
        return f"{type(exc).__name__}: {exc.reason}"
    text = str(exc) or type(exc).__name__
    return text


def monotonic() -> float:
    return time.monotonic()
