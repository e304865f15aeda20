"""Catch-up: a long log backlog comes compressed (zstd, else gzip, else plain), lines unchanged.

``tail_script`` sends a backlog over ``CATCH_UP_BYTES`` through ``zstd -1`` when the host has it,
else ``gzip -1`` (not for a client on the same machine, unless ``always``), else plain; the
client's ``Unframer`` inflates it in bounded pieces. What must hold whatever the codec: offsets
count log bytes, a stream cut short yields exactly the bytes it carried, a reset or a failing
compressor mid-backlog loses and repeats nothing, a log that grows while it is compressed is
resumed after what the compressor read, and a host without either tool sends it plain.
The host's tools are taken away with a private sshd whose sessions get a ``PATH`` without them.
"""

from __future__ import annotations

import gzip
import os
import random
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.eventkit import until
from tests.unit.remote.faultkit import Proxy
from tests.unit.remote.sshkit import Sshd, make_clone, numbered
from wavedeck.agents.events import Event, Notice
from wavedeck.agents.remote.logstream import PIECE_BYTES, StreamCorrupt, Unframer
from wavedeck.agents.remote.runner import RemoteRunner
from wavedeck.agents.remote.tailscript import ZSTD_LEAN
from wavedeck.agents.runtypes import AgentHandle, LaunchSpec

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

pytestmark = pytest.mark.timeout(120)

PY = sys.executable
LOG = b"".join(f"line {i:07d} checking the input\n".encode() for i in range(1, 100_001))
LIVE = b"live 1\nlive 2\n"
# As the zstd command writes it: with a content checksum (its default).
ZSTD_CLI = {
    zstd.CompressionParameter.compression_level: 1,
    zstd.CompressionParameter.checksum_flag: 1,
}
PACKED = {
    "zstd": b"S" + zstd.compress(LOG, options=ZSTD_CLI) + LIVE,
    "gzip": b"Z" + gzip.compress(LOG, 1) + LIVE,
}


def unframed(payload: bytes, step: int) -> tuple[list[bytes], Unframer]:
    unframe = Unframer()
    pieces = [p for i in range(0, len(payload), step) for p in unframe.feed(payload[i : i + step])]
    return pieces, unframe


@pytest.mark.parametrize("codec", ["zstd", "gzip"])
@pytest.mark.parametrize("step", [1000, 32 * 1024, 1 << 30])
def test_a_compressed_backlog_then_the_live_part_in_bounded_pieces(codec: str, step: int) -> None:
    pieces, unframe = unframed(PACKED[codec], step)
    unframe.finish()  # whole: no complaint
    assert b"".join(pieces) == LOG + LIVE
    assert unframe.codec == codec
    assert max(len(p) for p in pieces) <= PIECE_BYTES  # ~4.5 MB inflated, never in one lump


def test_plain_stream_passes_through() -> None:
    pieces, unframe = unframed(b"P" + LOG, 64 * 1024)
    unframe.finish()
    assert b"".join(pieces) == LOG and unframe.codec == "plain"


@pytest.mark.parametrize("codec", ["zstd", "gzip"])
def test_a_stream_cut_short_yields_exactly_a_prefix_and_says_so(codec: str) -> None:
    cut = PACKED[codec][: len(PACKED[codec]) // 2]
    pieces, unframe = unframed(cut, 4096)
    got = b"".join(pieces)
    assert LOG.startswith(got) and len(got) > len(LOG) // 10
    with pytest.raises(StreamCorrupt):
        unframe.finish()


@pytest.mark.parametrize("codec", ["zstd", "gzip"])
def test_a_corrupt_backlog_ends_in_a_stream_error(codec: str) -> None:
    """(SSH's AES-GCM authenticates every packet, so this is the compressor's checksum
    catching what should never happen: a stream error, retried from the offset.)"""
    bad = bytearray(PACKED[codec])
    middle = len(bad) // 2
    bad[middle : middle + 8] = bytes(b ^ 0xFF for b in bad[middle : middle + 8])
    with pytest.raises(StreamCorrupt):
        _pieces, unframe = unframed(bytes(bad), 4096)
        unframe.finish()


def test_an_unknown_framing_byte_is_a_stream_error() -> None:
    with pytest.raises(StreamCorrupt):
        unframed(b"Xline 1\n", 10)


# -- over a real sshd -----------------------------------------------------------------------------


def tools_without(tmp: Path, *missing: str, fakes: dict[str, str] | None = None) -> Path:
    """A bin folder with every command of /usr/bin and /bin except ``missing``; ``fakes``
    are scripts standing in for some."""
    bindir = tmp / "bin"
    bindir.mkdir(parents=True)
    for folder in ("/usr/bin", "/bin"):
        for name in os.listdir(folder):
            link = bindir / name
            if name not in missing and not link.exists():
                link.symlink_to(Path(folder) / name)
    for name, script in (fakes or {}).items():
        (bindir / name).unlink(missing_ok=True)
        (bindir / name).write_text(script)
        (bindir / name).chmod(0o755)
    os.chmod(tmp, 0o755)
    return bindir


async def finished_agent(r: RemoteRunner, repo: Path, fake_agent: Path, lines: int) -> AgentHandle:
    """An agent that ended after writing ``lines`` numbered lines, each with 32 random hex
    digits: a log that compresses only ~2x, so its backlog takes many reads to come over."""
    h = await r.launch(LaunchSpec("w1-a1", (PY, str(fake_agent)), repo))
    await until(lambda: Path(h.exit_path).exists(), 60, "the agent to finish")
    rand = random.Random(18)
    with open(h.log_path, "a") as log:  # the host is this machine
        log.writelines(f"line {i:07d} {rand.getrandbits(128):032x}\n" for i in range(1, lines + 1))
    return h


@pytest.mark.sshd
@pytest.mark.slow
@pytest.mark.parametrize(
    ("compress", "missing", "codec"),
    [
        ("always", (), "zstd"),
        ("auto", (), "zstd"),
        ("always", ("zstd",), "gzip"),
        ("auto", ("zstd",), "plain"),  # gzip is not worth it over loopback
        ("always", ("zstd", "gzip"), "plain"),  # the host has neither: plain, honestly
        ("never", (), "plain"),
    ],
)
async def test_catch_up_on_a_long_backlog_reset_mid_way_loses_nothing(
    make_sshd: Callable[..., Sshd],
    repo: Path,
    tmp_path: Path,
    fake_agent: Path,
    proxy: Callable[[int], Awaitable[Proxy]],
    compress: str,
    missing: tuple[str, ...],
    codec: str,
) -> None:
    """Re-attaching to a 9 MB log, the connection reset at the first lines while the backlog
    still streams (the proxy slowed down), resumed at the offset: every line exactly once, the
    backlog sent with the codec the host has."""
    if "zstd" not in missing and shutil.which("zstd") is None:  # the loopback host's, reported
        reason = "zstd is not installed on this machine, the tests' SSH host: apt-get install zstd"
        if os.environ.get("WAVEDECK_REQUIRE_SSHD") == "1":  # CI installs it (.ci/run)
            pytest.fail(reason)
        pytest.skip(reason)
    extra = f"SetEnv PATH={tools_without(tmp_path / 'tools', *missing)}\n" if missing else ""
    server = make_sshd(extra_config=extra)
    p = await proxy(server.port)
    p.delay_s = 0.01  # per 64 KiB: the backlog, even compressed, is still coming at the reset
    clone = make_clone(tmp_path / "host")
    r = RemoteRunner("loop", server.cfg(clone, port=p.port), repo=repo, bring_back=False)
    r.compress = compress
    if missing:  # the sessions really lack the tools
        res = await r.transport.run(" || ".join(f"command -v {m}" for m in missing))
        assert res.returncode != 0, res.text
    h = await finished_agent(r, repo, fake_agent, 200_000)
    seen: list[str] = []
    attempts = r.transport.attempts
    first_codec, resumed = "", 0
    async for chunk in r.follow(h, 0):
        if not seen:
            first_codec = r.backlog_codec["w1-a1"]
            p.reset()
        elif r.transport.attempts > attempts:
            resumed += len(chunk.lines)
        seen.extend(chunk.lines)
    assert numbered(seen) == list(range(1, 200_001))
    assert first_codec == codec
    assert resumed > 0  # cut mid-backlog: lines came over the new connection
    await r.close()


FAILS_ONCE = """#!/bin/sh
# The first run sends 20 kB of the real tool's output, then fails; later runs work.
# (zstd asked which flags it knows, -V, is not a run: it fails on the backlog.)
case " $* " in *" -V "*) exec /usr/bin/{tool} "$@";; esac
if [ ! -e {mark} ]; then : > {mark}; /usr/bin/{tool} "$@" | head -c 20000; exit 1; fi
exec /usr/bin/{tool} "$@"
"""


async def follow_all(
    make_sshd: Callable[..., Sshd],
    tmp_path: Path,
    repo: Path,
    fake_agent: Path,
    lines: int,
    tools: Path,
    **runner: Any,
) -> tuple[list[str], RemoteRunner]:
    """Every line of a finished agent's ``lines``-line log, followed over a private sshd whose
    sessions' ``PATH`` is ``tools`` (compress ``always``); and the runner (closed)."""
    server = make_sshd(extra_config=f"SetEnv PATH={tools}\n")
    clone = make_clone(tmp_path / "host")
    r = RemoteRunner("loop", server.cfg(clone), repo=repo, bring_back=False, **runner)
    r.compress = "always"
    h = await finished_agent(r, repo, fake_agent, lines)
    seen: list[str] = []
    async for chunk in r.follow(h, 0):
        seen.extend(chunk.lines)
    await r.close()
    return seen, r


@pytest.mark.sshd
@pytest.mark.slow
@pytest.mark.parametrize("tool", ["zstd", "gzip", "dd"])
async def test_a_compressor_or_dd_failing_mid_backlog_loses_and_repeats_nothing(
    make_sshd: Callable[..., Sshd], repo: Path, tmp_path: Path, fake_agent: Path, tool: str
) -> None:
    """The host's compressor dies after part of the backlog: the lines that came are shown,
    the script exits 3 instead of going on plain after a short backlog, and the follow resumes
    at its offset. The ``dd`` that places the compressor's input at the offset failing: the
    backlog comes the next way the host has (gzip). Every line exactly once either way."""
    mark = tmp_path / "failed-once"
    fakes = {tool: FAILS_ONCE.format(mark=mark, tool=tool)}
    absent = ("zstd",) if tool == "gzip" else ()
    tools = tools_without(tmp_path, *absent, fakes=fakes)
    seen, r = await follow_all(make_sshd, tmp_path, repo, fake_agent, 200_000, tools)
    assert mark.exists()  # the tool did fail once
    assert numbered(seen) == list(range(1, 200_001))
    assert r.backlog_codec["w1-a1"] == ("zstd" if tool == "zstd" else "gzip")


GROWS = """#!/bin/sh
# The log grows once the script has measured it, before the compressor reads it to its end.
case " $* " in *" -V "*) exec /usr/bin/{tool} "$@";; esac
if [ ! -e {mark} ]; then : > {mark}; printf 'line %07d late\\n' {late} >> {log}; fi
exec /usr/bin/{tool} "$@"
"""


@pytest.mark.sshd
@pytest.mark.parametrize("tool", ["zstd", "gzip"])
async def test_lines_written_while_the_backlog_is_compressed_come_once(
    make_sshd: Callable[..., Sshd], repo: Path, tmp_path: Path, fake_agent: Path, tool: str
) -> None:
    """The compressor reads the log to its end as it is then, past the size the script
    measured: the plain part resumes after what it read, so the lines written in between come
    once (not again from the measured size), and the offset counts them."""
    clone = make_clone(tmp_path / "host")
    bindir = tmp_path / "tools"
    absent = ("zstd",) if tool == "gzip" else ()
    server = make_sshd(extra_config=f"SetEnv PATH={tools_without(bindir, *absent)}\n")
    r = RemoteRunner("loop", server.cfg(clone), repo=repo, bring_back=False)
    r.compress = "always"
    h = await finished_agent(r, repo, fake_agent, 50_000)
    late = " ".join(str(n) for n in range(50_001, 50_101))
    fake = bindir / "bin" / tool
    fake.unlink()
    fake.write_text(GROWS.format(mark=tmp_path / "grew", late=late, log=h.log_path, tool=tool))
    fake.chmod(0o755)
    seen: list[str] = []
    offset = 0
    async for chunk in r.follow(h, 0):
        seen.extend(chunk.lines)
        offset = chunk.offset
    assert (tmp_path / "grew").exists()
    assert numbered(seen) == list(range(1, 50_101))
    assert r.backlog_codec["w1-a1"] == tool
    assert offset == Path(h.log_path).stat().st_size
    await r.close()


KNOWS_ONLY = """#!/bin/sh
# A zstd that refuses the lean flags it does not know (as one before 1.5.3 refuses
# --no-asyncio), and notes how it was run.
echo "$*" >> {calls}
for a in "$@"; do
  case "$a" in --single-thread|--no-asyncio)
    case " {known} " in *" $a "*) ;; *) echo "Incorrect parameter: $a" >&2; exit 1;; esac;;
  esac
done
exec /usr/bin/zstd "$@"
"""


@pytest.mark.sshd
@pytest.mark.parametrize("known", (*ZSTD_LEAN, ""))
async def test_the_compressor_runs_lean_with_the_flags_its_zstd_knows(
    make_sshd: Callable[..., Sshd], repo: Path, tmp_path: Path, fake_agent: Path, known: str
) -> None:
    """zstd compresses in one thread without its I/O threads (~35% less of the host's CPU)
    where it knows how; an older zstd that refuses those flags still compresses, with the
    flags it does know: every line once, the backlog still zstd."""
    calls = tmp_path / "zstd-calls"
    tools = tools_without(tmp_path, fakes={"zstd": KNOWS_ONLY.format(calls=calls, known=known)})
    seen, r = await follow_all(make_sshd, tmp_path, repo, fake_agent, 50_000, tools)
    assert numbered(seen) == list(range(1, 50_001))
    assert r.backlog_codec["w1-a1"] == "zstd"
    runs = [line.split() for line in calls.read_text().splitlines() if "-V" not in line.split()]
    assert len(runs) == 1, runs  # the one that compressed the backlog
    lean = [a for a in runs[0] if a in ("--single-thread", "--no-asyncio")]
    assert lean == known.split()


ALWAYS_FAILS = """#!/bin/sh
# Every compressing run sends 20 kB of the real zstd's output, then fails.
case " $* " in *" -V "*) exec /usr/bin/zstd "$@";; esac
/usr/bin/zstd "$@" | head -c 20000; exit 1
"""


@pytest.mark.sshd
async def test_a_compressor_failing_every_time_gives_way_to_plain_and_says_so(
    make_sshd: Callable[..., Sshd], repo: Path, tmp_path: Path, fake_agent: Path
) -> None:
    """A host whose zstd fails on every backlog (broken, or killed each time): after the
    second failure in a row the follow reads the log uncompressed instead of retrying for
    ever, and a notice says why. Every line exactly once."""
    tools = tools_without(tmp_path, fakes={"zstd": ALWAYS_FAILS})
    events: list[Event] = []
    seen, r = await follow_all(
        make_sshd, tmp_path, repo, fake_agent, 50_000, tools, on_event=events.append
    )
    assert numbered(seen) == list(range(1, 50_001))
    assert r.backlog_codec["w1-a1"] == "plain"
    said = [e for e in events if isinstance(e, Notice) and e.agent == "w1-a1"]
    assert [(n.level, bool(n.error)) for n in said] == [("warning", True)]
    assert "zstd catch-up on loop failed twice" in said[0].message
