"""Make one line of agent output safe to draw: keep SGR colours, drop every other escape.

Agents print whatever their tools print: colours (kept), but also clipboard writes (OSC 52),
screen clears (``ESC[2J``), cursor moves, hyperlinks and bidi overrides. Only ``ESC[...m`` with
numeric parameters survives; other escape sequences are removed, and remaining control or bidi
characters are made visible with ``wavedeck.plan.safetext.neutralize``. Rich markup is never interpreted
anywhere in the TUI (lines become ``Text`` objects, never markup strings), so ``[bold]`` stays text.
"""

from __future__ import annotations

import re

from rich.text import Text

from wavedeck.plan.safetext import neutralize

# Any escape sequence we know the shape of: CSI (ESC [ ... final), OSC / DCS / SOS / PM / APC
# strings (terminated by BEL or ST, or running to the end of the line when unterminated), and
# the two- or three-byte ESC forms. 8-bit C1 introducers (0x9b CSI, 0x9d OSC) likewise.
_ESCAPE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c|$)"  # strings
    r"|\x1b[ -/]*[0-~]"  # nF / Fp / Fe / Fs escapes (ESC 7, ESC c, ESC ( B …)
    r"|\x1b$"  # a lone ESC at the end
)
_SGR = re.compile(r"\x1b\[[0-9;:]*m")


def _keep_sgr(match: re.Match[str]) -> str:
    text = match.group(0)
    return text if _SGR.fullmatch(text) else ""


def sanitize(line: str) -> str:
    """Return ``line`` with only SGR sequences left and every other control made inert.

    A carriage return inside a line keeps only what a terminal would show last (progress bars
    redraw with ``\\r``); tabs expand to 8 columns so cell widths stay right.
    """
    if line.isprintable():  # the common case: plain text, nothing to do (ESC is not printable)
        return line
    if "\r" in line:
        line = line.rstrip("\r")
        if "\r" in line:
            line = line.rsplit("\r", 1)[1]
    if "\t" in line:
        line = line.expandtabs(8)
    if "\x1b" in line or any(c in line for c in "\x90\x98\x9b\x9d\x9e\x9f"):
        line = _ESCAPE.sub(_keep_sgr, line)
        # What is left between the SGR sequences is made visible, never interpreted.
        parts = _SGR.split(line)
        if len(parts) > 1:
            codes = _SGR.findall(line)
            out = [neutralize(parts[0])]
            for code, part in zip(codes, parts[1:], strict=True):
                out.append(code)
                out.append(neutralize(part))
            return "".join(out)
    return neutralize(line)


def to_text(line: str) -> Text:
    """A sanitized line as Rich ``Text``: colours from SGR, never markup."""
    if "\x1b" not in line:
        return Text(line, no_wrap=True, end="")
    text = Text.from_ansi(line, no_wrap=True, end="")
    return text


def plain(line: str) -> str:
    """A sanitized line without its SGR sequences (for search and width)."""
    return _SGR.sub("", line) if "\x1b" in line else line
