"""The SSH log tail's fast paths: block splitting of large reads and the ``dd`` backlog.

``LineDecoder`` takes reads of up to 256 KiB and checks for over-long lines with one ``find``
per 32 KiB instead of a length per line: it must still split exactly like the per-line rule.
``tail_script`` sends the backlog (log size at the start minus the offset) with ``dd`` and
follows the rest with ``tail``: resuming at any offset must give exactly the lines after it.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.remote.sshkit import Sshd, wait_until
from wavedeck.agents.lines import MAX_LINE_BYTES, SPLIT_MARK, LineDecoder
from wavedeck.agents.remote.logstream import PAUSE_BYTES, WINDOW_BYTES, LogCollector, read_stream
from wavedeck.agents.remote.runner import RemoteRunner
from wavedeck.agents.remote.transport import ConnectionLostError, HostTransport, TransportError
from wavedeck.agents.runtypes import AgentHandle, LaunchSpec

pytestmark = pytest.mark.timeout(90)


def reference(data: bytes) -> list[str]:
    """Per-line rule, written naively: complete lines, each cut into marked pieces of at most
    ``MAX_LINE_BYTES`` bytes (at a character boundary), the text after a last ``\\r`` kept."""
    out: list[str] = []
    for raw in data.split(b"\n")[:-1]:
        while len(raw) > MAX_LINE_BYTES:
            cut = MAX_LINE_BYTES
            while cut > MAX_LINE_BYTES - 3 and (raw[cut] & 0xC0) == 0x80:
                cut -= 1
            out.append(raw[:cut].decode("utf-8", "replace") + SPLIT_MARK)
            raw = raw[cut:]
        out.append(raw.decode("utf-8", "replace"))
    return out


LENGTHS = st.sampled_from(
    [0, 1, 60, 16_383, 16_384, 32_767, 32_768, 65_534, 65_535, 65_536, 65_537, 98_304, 140_000]
)


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(LENGTHS, min_size=1, max_size=12),
    filler=st.sampled_from([b"x", "é".encode(), "€".encode()]),
    read=st.sampled_from([4096, 65_536, 262_144, 1 << 20]),
)
def test_large_reads_split_long_lines_exactly_like_the_per_line_rule(
    lengths: list[int], filler: bytes, read: int
) -> None:
    lines = [(filler * (n // len(filler) + 1))[:n] for n in lengths]
    data = b"\n".join(lines) + b"\n"
    splitter = LineDecoder()
    got: list[str] = []
    used = 0
    for start in range(0, len(data), read):
        out, n = splitter.feed(data[start : start + read])
        got += out
        used += n
    out, n = splitter.flush()
    got += out
    used += n
    assert used == len(data)
    # Pieces of a line still without its newline are cut from the line's start too: whatever
    # the read size, the result is the per-line rule's.
    assert got == reference(data)


def test_a_block_of_short_lines_with_one_long_line_in_the_middle() -> None:
    short = b"".join(b"line %08d\n" % i for i in range(20_000))  # 280 KB
    data = short[:150_000] + b"\n" + b"y" * (MAX_LINE_BYTES + 5) + b"\n" + short[150_000:]
    lines, used = LineDecoder().feed(data)
    assert used == len(data)
    assert lines == reference(data)
    assert lines.count("y" * MAX_LINE_BYTES + SPLIT_MARK) == 1


PRINTER = (
    "import sys\n"
    "n = int(sys.argv[1])\n"
    "for i in range(1, n + 1):\n"
    "    sys.stdout.write(f'line {i} ' + 'z' * (i % 300) + '\\n')\n"
    "sys.stdout.write('y' * 200_000 + '\\n')\n"
)


@pytest.mark.sshd
async def test_resuming_at_any_offset_of_a_finished_log_gives_exactly_the_rest(
    sshd: Sshd, repo: Path, host_clone: Path, tmp_path: Path
) -> None:
    """The backlog goes through ``dd`` from the offset: at 0, mid-log, and at the very end."""
    script = tmp_path / "printer.py"
    script.write_text(PRINTER)
    r = RemoteRunner("loop", sshd.cfg(host_clone), repo=repo, bring_back=False)
    h: AgentHandle = await r.launch(
        LaunchSpec("w1-a1", (sys.executable, str(script), "30000"), repo)
    )
    wait_until(lambda: Path(h.exit_path).exists(), 60, "the printer to finish")
    chunks = [chunk async for chunk in r.follow(h, 0)]
    everything = [line for chunk in chunks for line in chunk.lines]
    assert [int(line.split()[1]) for line in everything[:30000]] == list(range(1, 30001))
    assert everything[30000:] == ["y" * MAX_LINE_BYTES + SPLIT_MARK] * 3 + ["y" * 3392]
    end = chunks[-1].offset
    assert end == Path(h.log_path).stat().st_size
    for chunk in [*chunks[:: max(1, len(chunks) // 4)], chunks[-1]]:
        rest = [line async for c in r.follow(h, chunk.offset) for line in c.lines]
        index = sum(len(c.lines) for c in chunks[: chunks.index(chunk) + 1])
        assert rest == everything[index:], f"resumed at {chunk.offset}"
    await r.close()


@pytest.mark.sshd
async def test_socket_reads_are_capped_on_a_real_connection(sshd: Sshd, host_clone: Path) -> None:
    """The read cap that spares asyncssh its buffer copying applies to pooled connections."""
    from wavedeck.agents.remote.sshoptions import SOCKET_READ_BYTES

    transport = HostTransport("loop", sshd.cfg(host_clone))
    conn, _ = await transport.connect_once()
    try:
        assert conn._transport.max_size == SOCKET_READ_BYTES  # type: ignore[attr-defined]
        res = await conn.run("head -c 3000000 /dev/zero", check=True, encoding=None)
        assert res.stdout == bytes(3_000_000)  # a stream larger than a read arrives whole
    finally:
        conn.close()
        await conn.wait_closed()


@pytest.mark.sshd
async def test_a_reader_that_falls_behind_pauses_the_channel_and_loses_nothing(
    sshd: Sshd, host_clone: Path
) -> None:
    """The log channel keeps at most ``PAUSE_BYTES`` (and one packet) waiting for a reader that
    does not read; the window holds the rest back on the host; reading again gets every byte."""
    transport = HostTransport("loop", sshd.cfg(host_clone))
    total = 3 * WINDOW_BYTES  # more than the window and the pause limit together
    try:
        command = f"head -c {total} /dev/zero"
        async with transport.session(command, LogCollector, window=WINDOW_BYTES) as (chan, got):
            chan.write_eof()
            await asyncio.wait_for(got.held.wait(), 30)  # nobody has read anything yet
            assert got.paused
            assert PAUSE_BYTES <= got.size < PAUSE_BYTES + 64 * 1024
            received = 0
            async for data in got.chunks():
                assert data == bytes(len(data))
                received += len(data)
            await chan.wait_closed()
            assert received == total
            assert chan.get_exit_status() == 0
    finally:
        await transport.close()


@pytest.mark.sshd
async def test_the_log_stream_reports_a_failing_command_with_its_stderr(
    sshd: Sshd, host_clone: Path
) -> None:
    transport = HostTransport("loop", sshd.cfg(host_clone))
    try:
        with pytest.raises(TransportError, match="no-such-log") as caught:
            async for _ in read_stream(transport, "printf P; cat no-such-log"):
                pass
        assert not isinstance(caught.value, ConnectionLostError)
    finally:
        await transport.close()


@pytest.mark.sshd
async def test_the_follows_keep_alives_on_stderr_are_not_kept_for_the_message(
    sshd: Sshd, host_clone: Path
) -> None:
    """``tail_script``'s sentinel writes a NUL on stderr each turn (``KEEPALIVE``): hours of
    them would fill the stderr kept for a failure's message; they are dropped as they come."""
    transport = HostTransport("loop", sshd.cfg(host_clone))
    nuls = "printf '\\0' >&2; " * 3
    try:
        with pytest.raises(TransportError) as caught:
            async for _ in read_stream(transport, f"{nuls}printf P; echo gone >&2; {nuls}exit 3"):
                pass
        assert str(caught.value).endswith("reading the log failed: gone")
    finally:
        await transport.close()
