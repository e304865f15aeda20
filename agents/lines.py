"""The one rule that turns an agent's output bytes into display lines, live or read back later.

Every reader of agent output uses :class:`LineDecoder`: the local tailer, the remote stream, the
pane's history loaded on re-attach and the ``l`` full-log view. So a pane shows the same lines
whether they arrived live or were read back from disk.

What a line is (documented for users, and for tests):

- Bytes are decoded as UTF-8; invalid bytes become U+FFFD (never an exception). Lines are split on
  ``\\n`` *before* decoding, which is exact because ``\\n`` never occurs inside a UTF-8 sequence,
  and a chunk boundary inside a multibyte character is harmless: the bytes wait in ``pending``.
- A partial last line (no ``\\n`` yet) is kept back until its newline arrives, or until
  ``flush()`` once the writer has ended.
- A line longer than ``MAX_LINE_BYTES`` (64 KiB) is delivered in pieces of at most that many
  bytes, cut on a character boundary; every piece but the last ends with ``SPLIT_MARK``
  (`` …[split]``). Pieces of a line still without its newline are handed out as soon as they
  are full, so memory stays bounded whatever the line length.
- Carriage-return progress: a trailing ``\\r`` (as in ``\\r\\n``) is dropped, and a line that
  still contains ``\\r`` keeps only the text after the last one (what a terminal would show).

``feed`` returns the lines and how many bytes they used (complete lines and full pieces), so a
reader that records that count as its offset resumes exactly after the last line it showed.
"""

from __future__ import annotations

MAX_LINE_BYTES = 64 * 1024
SPLIT_MARK = " …[split]"

# Every aligned window of this many bytes holding a newline bounds each line below twice that.
_WINDOW = MAX_LINE_BYTES // 2


def char_cut(data: bytes, limit: int = MAX_LINE_BYTES) -> int:
    """A cut position <= ``limit`` that does not fall inside a UTF-8 sequence (when it can)."""
    cut = limit
    # Step back over continuation bytes (10xxxxxx) to the lead byte: at most 3 for valid UTF-8.
    while cut > limit - 3 and cut > 1 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut


def _last_after_cr(line: str) -> str:
    line = line.rstrip("\r")
    cr = line.rfind("\r")
    return line if cr < 0 else line[cr + 1 :]


def decode_piece(piece: bytes) -> str:
    """One line (or piece of one) without its newline, as displayed."""
    return _last_after_cr(piece.decode("utf-8", "replace"))


def may_have_long_line(block: bytes) -> bool:
    """False when no line of ``block`` can exceed ``MAX_LINE_BYTES`` bytes.

    A run of 2*W-1 bytes without a newline covers a whole aligned window of W bytes, so when
    every window [k*W, (k+1)*W) holds a newline, every line is shorter than 2*W. One ``find``
    per 32 KiB (it stops at the first newline) instead of a length per line.
    """
    find = block.find
    return any(find(b"\n", start, start + _WINDOW) < 0 for start in range(0, len(block), _WINDOW))


def _split_long(line: bytes, out: list[str]) -> None:
    """Append a line (without ``\\n``) that may exceed ``MAX_LINE_BYTES`` as marked pieces."""
    while len(line) > MAX_LINE_BYTES:
        cut = char_cut(line)
        out.append(decode_piece(line[:cut]) + SPLIT_MARK)
        line = line[cut:]
    out.append(decode_piece(line))


def _decode_block(block: bytes, out: list[str]) -> None:
    """Append the lines of ``block`` (complete lines, ending in ``\\n``)."""
    if may_have_long_line(block):
        raw_lines = block.split(b"\n")
        raw_lines.pop()
        for raw in raw_lines:
            _split_long(raw, out)
        return
    text = block.decode("utf-8", "replace")
    lines = text.split("\n")
    lines.pop()  # the empty string after the final newline
    if "\r" in text:
        lines = [_last_after_cr(line) for line in lines]
    out.extend(lines)


class LineDecoder:
    """Bytes in, display lines out, incrementally (see the module docstring for the rules)."""

    def __init__(self) -> None:
        self.pending = b""  # bytes fed that make no whole line (or full piece) yet

    def feed(self, data: bytes) -> tuple[list[str], int]:
        """The lines completed by ``data``, and how many bytes they used."""
        out: list[str] = []
        return out, self._feed(data, out)

    def _feed(self, data: bytes, out: list[str] | None) -> int:
        buf = self.pending + data if self.pending else data
        used = 0
        newline = buf.rfind(b"\n")
        if newline >= 0:
            block = buf[: newline + 1]
            if out is not None:
                _decode_block(block, out)
            used = len(block)
            buf = buf[newline + 1 :]
        # A line still without its newline may not grow without bound: hand out full pieces.
        while len(buf) > MAX_LINE_BYTES:
            cut = char_cut(buf)
            if out is not None:
                out.append(decode_piece(buf[:cut]) + SPLIT_MARK)
            used += cut
            buf = buf[cut:]
        self.pending = buf
        return used

    def count(self, data: bytes) -> tuple[int, int]:
        """Like ``feed`` but only the number of lines: no decoding unless a line is long."""
        buf = self.pending + data if self.pending else data
        newline = buf.rfind(b"\n")
        if newline < 0 or may_have_long_line(buf[: newline + 1]):
            out: list[str] = []
            used = self._feed(data, out)
            return len(out), used
        lines = buf.count(b"\n", 0, newline + 1)
        self.pending = b""
        pieces: list[str] = []
        used = newline + 1 + self._feed(buf[newline + 1 :], pieces)
        return lines + len(pieces), used

    def flush(self) -> tuple[list[str], int]:
        """The partial last line, if any (call once the writer has ended)."""
        rest, self.pending = self.pending, b""
        return ([decode_piece(rest)], len(rest)) if rest else ([], 0)


def decode_all(data: bytes, *, final: bool = True) -> list[str]:
    """All the lines of ``data`` (the partial last one too when ``final``)."""
    decoder = LineDecoder()
    lines, _ = decoder.feed(data)
    if final:
        lines.extend(decoder.flush()[0])
    return lines
