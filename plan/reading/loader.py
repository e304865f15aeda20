"""Reading a plan file safely: input limits, strict decoding, then the parser.

Refused with ``PlanError`` (``plan check`` exit 2): a plan over 5 MiB, a line over 64 KiB, invalid
UTF-8 (the message gives the byte offset and line), NUL bytes. Accepted: a UTF-8 BOM (stripped) and
CRLF or CR line ends (normalised to LF, so line numbers match what editors show).
"""

from __future__ import annotations

import os
from pathlib import Path

from wavedeck.plan.errors import PlanError
from wavedeck.plan.reading.parser import ParseResult, parse_text

MAX_BYTES = 5 * 1024 * 1024
MAX_LINE_BYTES = 64 * 1024
_BOM = b"\xef\xbb\xbf"

__all__ = ["MAX_BYTES", "MAX_LINE_BYTES", "decode_plan", "load_plan", "parse_plan"]


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode_plan(data: bytes, source: str = "") -> str:
    """Check the limits on raw plan bytes and decode them to LF-normalised text."""
    if len(data) > MAX_BYTES:
        raise PlanError(
            f"the plan is {len(data)} bytes; the limit is {MAX_BYTES} (5 MiB)", source=source
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        raise PlanError(
            f"NUL byte at byte offset {nul}: not a text file",
            line=_line_of(data, nul),
            source=source,
        )
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlanError(
            f"invalid UTF-8 at byte offset {exc.start}",
            line=_line_of(data, exc.start),
            source=source,
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # One pass over line ends; compare byte lengths only when a line could be too long.
    for number, line in enumerate(text.split("\n"), start=1):
        if len(line) * 4 > MAX_LINE_BYTES and len(line.encode("utf-8")) > MAX_LINE_BYTES:
            raise PlanError(
                f"line {number} is longer than {MAX_LINE_BYTES} bytes (64 KiB)",
                line=number,
                source=source,
            )
    return text


def parse_plan(text: str, source: str = "", *, strict: bool = False) -> ParseResult:
    """Parse plan text (``str``). Applies the same limits as ``load_plan``; only ``PlanError``
    escapes for bad input. ``strict``: the reference format only (``wavedeck.plan.reading.parser.parse_text``)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        raise PlanError("NUL character in the plan: not a text file", source=source)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PlanError(
            f"unencodable character at offset {exc.start} (a lone surrogate)", source=source
        ) from None
    return parse_text(decode_plan(data, source), source, strict=strict)


def load_plan(
    path: str | os.PathLike[str], source: str | None = None, *, strict: bool = False
) -> ParseResult:
    """Read and parse the plan file at ``path``; ``source`` names it in findings (default: path).
    ``strict``: the reference format only."""
    name = str(path) if source is None else source
    p = Path(path)
    try:
        # A FIFO or device would block or never end: only regular files are plans.
        if p.exists() and not p.is_dir() and not p.is_file():
            raise PlanError("is not a regular file", source=name)
        with p.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except IsADirectoryError:
        raise PlanError("is a folder, not a plan file", source=name) from None
    except FileNotFoundError:
        raise PlanError("no such file", source=name) from None
    except OSError as exc:
        raise PlanError(f"cannot read: {exc.strerror or exc}", source=name) from None
    if len(data) > MAX_BYTES:
        raise PlanError(f"the plan is larger than {MAX_BYTES} bytes (5 MiB)", source=name)
    return parse_text(decode_plan(data, name), name, strict=strict)
