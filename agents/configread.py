"""Reading ``wavedeck.toml`` and ``WAVEDECK_`` values within limits, before they are parsed.

A configuration is small and shallow; anything else is refused with its place named
(``ConfigError``), never a hang or a ``RecursionError``: the file must be a regular file of at
most ``MAX_CONFIG_BYTES`` (opened without blocking, so a FIFO is named, not waited on), and no
value may nest deeper than ``MAX_NESTING`` (checked on the text: ``tomllib`` and ``json``
recurse once per level).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from wavedeck.plan.errors import WavedeckError

MAX_NESTING = 64
MAX_CONFIG_BYTES = 1 << 20


class ConfigError(WavedeckError):
    """An unreadable or invalid ``wavedeck.toml``; the message names the file and the key."""


def json_depth(text: str) -> int:
    """How deeply ``[``/``{`` nest in JSON text (outside strings), without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def toml_too_deep(text: str) -> tuple[int, str] | None:
    """The line and key of the first value nested deeper than ``MAX_NESTING`` in TOML text
    (outside strings and comments), or None: checked before ``tomllib``, which recurses."""
    depth = 0
    key = "(top level)"
    quote = ""  # the open string's delimiter (one or three quote characters), or ""
    for number, line in enumerate(text.splitlines(), 1):
        i = 0
        seen_equals = False
        while i < len(line):
            ch = line[i]
            if quote:
                if ch == "\\" and quote[0] == '"':  # basic strings have escapes
                    i += 2
                    continue
                if line.startswith(quote, i):
                    i += len(quote)
                    quote = ""
                    continue
                i += 1
                continue
            if ch == "#":
                break
            if ch in "\"'":
                triple = line[i : i + 3]
                quote = triple if triple in ('"""', "'''") else ch
                i += len(quote)
                continue
            if depth == 0 and ch == "=" and not seen_equals:
                seen_equals = True
                key = line[:i].strip() or key
            elif ch in "[{":
                if depth == 0 and not seen_equals:
                    break  # a table header: [table] or [[array]]
                depth += 1
                if depth > MAX_NESTING:
                    return number, key
            elif ch in "]}" and depth:
                depth -= 1
            i += 1
        if quote in ('"', "'"):
            quote = ""  # a one-line string never spans lines (tomllib will say so)
    return None


def read_config_file(file: Path) -> bytes | None:
    """The bytes of ``file``; None when it does not exist. A FIFO, a device or a folder is
    refused without blocking (opened non-blocking, checked with ``fstat``), so is a file over
    ``MAX_CONFIG_BYTES``."""
    try:
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a FIFO" if stat.S_ISFIFO(info.st_mode) else "not a regular file"
            raise ConfigError(f"{file}: cannot read: {kind}, not a file")
        if info.st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{file}: over {MAX_CONFIG_BYTES} bytes: not a configuration")
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
            if sum(map(len, chunks)) > MAX_CONFIG_BYTES:
                raise ConfigError(f"{file}: over {MAX_CONFIG_BYTES} bytes: not a configuration")
        return b"".join(chunks)
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
