"""``tail_script``: the host side of a remote follow, the shell that streams an agent's log.

Built like every remote command (``wavedeck.agents.remote.commands``: checked tokens, the
agent's paths from ``RemotePaths.prelude``); run by ``RemoteRunner.follow`` through
``wavedeck.agents.remote.logstream.read_stream``, whose ``Unframer`` undoes its framing.
"""

from __future__ import annotations

from wavedeck.agents.remote.commands import START_FN, CommandError, RemotePaths

__all__ = ["CATCH_UP_BYTES", "LOG_SHRANK", "ZSTD_LEAN", "tail_script"]

CATCH_UP_BYTES = 1 << 20
LOG_SHRANK = 5  # tail_script's status for a log shorter than the offset to read from

# The compressor reads the log itself from fd 5, placed at the offset by ``dd count=0``: fed by
# ``dd`` through a pipe (64 KiB at a time) it took ~50% longer and more of the host's CPU, the
# whole catch-up's pace over loopback (bench/ssh_bench.py). It reads to the end of the log as it
# then is, so ``off`` is where fd 5 stopped (its ``pos`` in /proc, which every Linux has);
# where the seek cannot be checked, the backlog comes plain.
_SEEK_FNS = (
    'pos() { while read -r k v; do [ "$k" = pos: ] && echo "$v" && return; done'
    ' < "/proc/$$/fdinfo/5"; }\n'
    'seek() { exec 5<"$log" && dd iflag=skip_bytes skip=$off count=0 status=none <&5'
    ' && [ "$(pos)" = "$off" ]; } 2>/dev/null\n'
)
_PACKED = '  printf {letter}; {compressor} <&5 >&3 && off=$(pos) && [ -n "$off" ] || exit 3\n'

# zstd's command (1.5.x) reads and writes in threads of their own by default, handing each
# 128 KiB over with futexes: ~35% more CPU than doing it all in one thread. The host's CPU is
# what the catch-up is paced by where the client shares its cores (bench/ssh_bench.py: median
# ratio ~0.58 -> ~0.75), and on a real host it is the agents'. A zstd without these flags
# (before 1.5.3 has no --no-asyncio) gets the ones it knows: asked with -V, which ends the
# parsing once the flags before it were accepted.
ZSTD_LEAN = ("--single-thread --no-asyncio", "--single-thread")
_ZSTD_FLAGS = (
    "zflags() { zf=; for f in "
    + " ".join(f"'{flags}'" for flags in ZSTD_LEAN)
    + "; do zstd $f -V >/dev/null 2>&1 && zf=$f && return; done; }\n"
)


def tail_script(
    paths: RemotePaths, offset: int, pid: int, start_time: int, compress: str = "auto"
) -> str:
    """Stream the log from byte ``offset`` until the wrapper (``pid``) has ended, then exit 0.

    The backlog (the log's size at the start, from ``offset``) is copied with ``dd bs=1M``
    (GNU tail copies in 8 KiB pieces) or compressed (read to the log's end as it is then), the
    rest followed with ``tail``. The output starts with
    one framing byte (``wavedeck.agents.remote.logstream.Unframer`` undoes it). ``P``: the log's
    bytes follow. ``S`` (zstd) or ``Z`` (gzip): a backlog of more than ``CATCH_UP_BYTES``
    follows as one compressed stream, then the log's bytes after it, plain. ``tail`` follows
    a sentinel that ends once the wrapper has (its exit file, or it is gone or a zombie), and
    reads to the end once more after it. While it follows, the sentinel writes a keep-alive
    byte (NUL) on stderr every 0.2 s, which the client drops (``logstream.KEEPALIVE``): when
    the channel is closed or its connection dropped, that write fails and the sentinel, this
    shell and ``tail`` end on the host too. A pid now owned by another process (start time
    differs) means the agent ended long ago: the log is read once. A log shorter than
    ``offset`` ends the script with status ``LOG_SHRANK`` (its lines cannot be placed).

    ``compress``: ``auto`` sends a long backlog through ``zstd -1`` when the host has it (the
    log text shrinks ~30x and the control room decompresses it for less CPU than asyncssh
    spends per byte, so it pays even over loopback: bench/ssh_bench.py), else through
    ``gzip -1`` unless the SSH client is on this machine (``$SSH_CONNECTION`` from a loopback
    address: gzip compresses slower than the plain stream flows there, and inflating costs the
    client about what it saves); ``always`` uses zstd or gzip, whichever the host has;
    ``never`` (the output is then always ``P``). A host with neither sends it plain.
    """
    if compress not in ("auto", "always", "never"):
        raise CommandError(f"compress must be auto, always or never: {compress!r}")
    off = int(offset)
    threshold = -1 if compress == "never" else CATCH_UP_BYTES
    local_check = (
        'case "${SSH_CONNECTION:-}" in 127.*|::1\\ *|::ffff:127.*) gz=-1;; esac\n'
        if compress == "auto"
        else ""
    )
    long_backlog = '[ "$z" -ge 0 ] && [ $((size - off)) -gt "$z" ]'
    return (
        paths.prelude()
        + START_FN
        + f"off={off}\n"
        + 'size=$(wc -c < "$log") || exit 3\n'
        # A log shorter than the offset was truncated or replaced: its bytes from the offset on
        # are not the ones counted, and tail would wait for it to grow past them in silence.
        + '[ "$size" -ge "$off" ] || { echo "the log shrank to $size bytes, below the offset'
        + ' $off read up to (truncated or replaced on the host)" >&2; exit 5; }\n'
        + f"z={threshold}; gz=$z\n"
        + local_check
        + 'backlog() { dd if="$log" iflag=skip_bytes,count_bytes skip=$off count=$((size - off))'
        + " bs=1M status=none; }\n"
        + _SEEK_FNS
        + _ZSTD_FLAGS
        + "exec 3>&1\n"
        + f"if {long_backlog} && command -v zstd >/dev/null 2>&1 && seek; then\n"
        + "  zflags\n"
        + _PACKED.format(letter="S", compressor="zstd -1 -q -c $zf")
        + f'elif {long_backlog} && [ "$gz" -ge 0 ] && command -v gzip >/dev/null 2>&1 && seek; then\n'
        + _PACKED.format(letter="Z", compressor="gzip -1 -c")
        + "else printf P\n"
        + '  if [ "$size" -gt "$off" ]; then backlog || exit 3; off=$size; fi\n'
        + "fi\n"
        + "exec 3>&- 5<&-\n"
        + f'alive() {{ [ ! -f "$ex" ] && [ "$(running {int(pid)})" = "{int(start_time)}" ]; }}\n'
        # tail follows a sentinel that ends once the wrapper has (its exit file written, or
        # gone, or a zombie: never --pid on the wrapper itself, which a zombie holds); this
        # shell reaps the sentinel at once, and tail then reads to the end once more.
        # The sentinel also ends once the channel is gone: OpenSSH signals nothing to a non-pty
        # session's processes when its channel closes or its connection drops, but it closes
        # the pipes (sshd's session process exits on a drop), so the keep-alive it writes on
        # stderr each turn fails (SIGPIPE, or EPIPE where SIGPIPE is ignored) and this shell
        # and tail end within a turn or two, never hours later with the agent.
        + "if alive; then\n"
        + "  ( while alive && printf '\\0' >&2; do sleep 0.2; done ) & sentinel=$!\n"
        + '  tail -c +$((off + 1)) -s 0.2 --pid=$sentinel -f "$log" &\n'
        + '  wait "$sentinel"; wait; exit 0\nfi\n'
        + 'exec tail -c +$((off + 1)) "$log"\n'
    )
