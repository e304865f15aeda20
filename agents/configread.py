"""Reading ``wavedeck.toml`` into a ``Config``: the file within limits, the ``WAVEDECK_``
variables laid over it, every problem a ``ConfigError`` naming its place.

``load_config`` is the one way in. ``WAVEDECK_`` environment variables override the file key by
key (``WAVEDECK_PLAN``, nested with ``__``: ``WAVEDECK_AGENT__STOP_GRACE_S=5`` changes that one
key of ``[agent]`` and keeps the rest of the table). An invalid file or variable raises
``ConfigError`` naming the key (and the variable), with a "did you mean" for a misspelt key.

A configuration is small and shallow; anything else is refused with its place named, never a
hang or a ``RecursionError``: the file must be a regular file of at most ``MAX_CONFIG_BYTES``
(opened without blocking, so a FIFO is named, not waited on), and no value may nest deeper than
``MAX_NESTING`` (checked on the text: ``tomllib`` and ``json`` recurse once per level).
"""

from __future__ import annotations

import difflib
import json
import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from wavedeck.agents.config import Config
from wavedeck.plan.errors import WavedeckError

CONFIG_NAME = "wavedeck.toml"
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


ENV_PREFIX = "WAVEDECK_"
ENV_NESTING = "__"
# WAVEDECK_ variables that are not settings: those wavedeck gives its agents (an agent running
# wavedeck must not be refused), the test suite's, and any WAVEDECK_TEST_* (test hooks).
NOT_SETTINGS = frozenset(
    {
        "WAVEDECK_AGENT_ID",
        "WAVEDECK_WAVE",
        "WAVEDECK_PACKAGE",
        "WAVEDECK_REPO",
        "WAVEDECK_PROMPT_FILE",
        "WAVEDECK_REQUIRE_SSHD",
        "WAVEDECK_REQUIRE_AGENT_CLIS",
        "WAVEDECK_AIDER",  # the suite's aider binary (its own venv)
        "WAVEDECK_SCREENSHOT",
    }
)
NOT_SETTINGS_PREFIX = "WAVEDECK_TEST_"


def _key(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def env_overrides(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    """The ``WAVEDECK_`` variables as a nested dict, and each key path's variable name.

    Every ``WAVEDECK_`` variable is a setting, but those in ``NOT_SETTINGS`` (the variables
    wavedeck gives its agents, the test suite's): one naming no setting is refused with a "did
    you mean" (unknown keys below the top level are refused by the model, with the variable).
    A value written as JSON (``[...]``, ``{...}``) is read as JSON; any other value stays text
    for the model to convert (``"5"`` -> 5.0, ``"abc"`` refused with the variable).
    """
    data: dict[str, Any] = {}
    names: dict[tuple[str, ...], str] = {}
    for name, raw in sorted(environ.items()):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in NOT_SETTINGS:
            continue
        if upper.startswith(NOT_SETTINGS_PREFIX):
            continue
        parts = tuple(p.lower() for p in name[len(ENV_PREFIX) :].split(ENV_NESTING))
        if not all(parts):
            raise ConfigError(
                f"environment variable {name}: not a setting name (WAVEDECK_SECTION__KEY, "
                "with one __ between the parts)"
            )
        if parts[0] not in Config.model_fields:
            raise ConfigError(f"environment variable {name}: {_unknown(parts)}")
        value: Any = raw
        if raw.strip().startswith(("[", "{")):
            depth = json_depth(raw)
            if depth > MAX_NESTING:
                raise ConfigError(
                    f"environment variable {name}: {_key(parts)}: nested {depth} levels deep "
                    f"(at most {MAX_NESTING})"
                )
            try:
                value = json.loads(raw)
            except ValueError:
                raise ConfigError(f"environment variable {name}: not valid JSON: {raw!r}") from None
        node = data
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(
                    f"environment variable {name}: {_key(parts[:-1])} is set by another variable"
                )
            node = child
        node[parts[-1]] = value
        names[parts] = name
    return data, names


def _unknown(parts: tuple[str, ...]) -> str:
    """``agnet.stop_grace_s: unknown key (did you mean agent.stop_grace_s?)``."""
    message = f"{_key(parts)}: unknown key"
    close = difflib.get_close_matches(parts[0], list(Config.model_fields), n=1, cutoff=0.6)
    if close:
        message += f" (did you mean {_key((close[0], *parts[1:]))}?)"
    return message


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` laid on ``base`` table by table: a variable replaces one key, not its table."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _known_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The setting names allowed in the table at ``loc``, for "did you mean"."""
    model: type[BaseModel] = Config
    named = False  # the next part is a name in a dict of tables (hosts.NAME)
    for part in loc:
        if named:
            named = False
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        elif args and isinstance(args[-1], type) and issubclass(args[-1], BaseModel):
            model, named = args[-1], True  # dict[str, HostConfig]
        else:
            return []
    return [] if named else list(model.model_fields)


def _problem(error: Any, file: Path, names: dict[tuple[str, ...], str]) -> str:
    """One validation error, located: the file and key, or the environment variable."""
    loc: tuple[int | str, ...] = tuple(error["loc"])
    message = str(error["msg"])
    if error.get("type") == "extra_forbidden" and loc:
        message = "unknown key"
        close = difflib.get_close_matches(str(loc[-1]), _known_keys(loc[:-1]), n=1, cutoff=0.6)
        if close:
            message += f" (did you mean {_key((*loc[:-1], close[0]))}?)"
    variable = None
    for size in range(len(loc), 0, -1):
        # A whole table given as JSON by one variable: that variable holds the key.
        variable = names.get(tuple(str(p) for p in loc[:size]))
        if variable is not None:
            break
    if variable is not None:
        return f"environment variable {variable}: {_key(loc)}: {message}"
    return f"{file}: {_key(loc)}: {message}"


def load_config(
    repo: Path, path: Path | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Read ``wavedeck.toml`` from ``repo`` (or ``path``), with the ``WAVEDECK_`` variables of
    ``environ`` (default: the process's) laid over it key by key; defaults when the file is
    absent."""
    file = path or repo / CONFIG_NAME
    data: dict[str, Any] = {}
    raw = read_config_file(file)
    if raw is not None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: not UTF-8 at byte {exc.start}") from None
        deep = toml_too_deep(text)
        if deep is not None:
            raise ConfigError(
                f"{file}:{deep[0]}: {deep[1]}: nested more than {MAX_NESTING} levels deep"
            )
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    overrides, names = env_overrides(os.environ if environ is None else environ)
    try:
        return Config(**_merge(data, overrides))
    except ValidationError as exc:
        raise ConfigError("; ".join(_problem(e, file, names) for e in exc.errors())) from None
    except RecursionError:  # a shape the depth checks did not foresee: still no traceback
        raise ConfigError(f"{file}: a value is nested too deeply") from None
