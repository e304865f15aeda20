"""A loaded Scout-and-Wave manifest held against its schema (``wavedeck.plan.reading.saw.schema``).

Like a JSON Schema validator, but it never stops at the first problem and never drops one
silently: an unknown field, a value of the wrong type, outside its enum or breaking its pattern
or minimum, a missing required field is each a ``Problem`` with its path; the value is left out
and the rest is read, so one mistake never hides the rest of the plan.
"""

from __future__ import annotations

import difflib
import re
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from wavedeck.plan.reading.saw.schema import Manifest, Minimum, Model, Path, Pattern, Problem

_DROP = object()  # a value left out of the cleaned manifest


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


class Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def bad(self, path: Path, message: str) -> object:
        self.problems.append(Problem(path, "invalid", message))
        return _DROP

    def model(self, cls: type[Model], value: object, path: Path) -> object:
        if not isinstance(value, dict):
            return self.bad(path, f"must be a mapping, not {_kind(value)}")
        out: dict[str, object] = {}
        for key, item in value.items():
            info = cls.model_fields.get(key) if isinstance(key, str) else None
            if info is None:
                near = difflib.get_close_matches(str(key), list(cls.model_fields), n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                message = f"unknown field {key!r}: the schema has no such field here{hint}"
                self.problems.append(Problem((*path, key), "unknown", message))
                continue
            got = self.value(info.annotation, tuple(info.metadata), item, (*path, key))
            if got is not _DROP:
                out[key] = got
        for name in cls.REQUIRED:
            if name not in value:
                self.problems.append(Problem((*path, name), "missing", f"{name!r} is required"))
        return out

    def value(self, ann: Any, meta: tuple[object, ...], value: object, path: Path) -> object:
        origin = get_origin(ann)
        if origin is Annotated:
            inner, *extra = get_args(ann)
            return self.value(inner, (*meta, *extra), value, path)
        if origin in (Union, types.UnionType):
            options = [a for a in get_args(ann) if a is not type(None)]
            if value is None:
                return None
            return self.value(options[0], meta, value, path)
        if origin is Literal:
            allowed = get_args(ann)
            if value not in allowed:
                choices = ", ".join(str(a) for a in allowed)
                return self.bad(path, f"{value!r} is not one of {choices}")
            return value
        if origin is tuple:
            if not isinstance(value, list):
                return self.bad(path, f"must be a list, not {_kind(value)}")
            item = get_args(ann)[0]
            items = (self.value(item, (), v, (*path, i)) for i, v in enumerate(value))
            return [v for v in items if v is not _DROP]
        if origin is dict:
            if not isinstance(value, dict):
                return self.bad(path, f"must be a mapping, not {_kind(value)}")
            key_ann, item_ann = get_args(ann)
            out = {}
            for k, v in value.items():
                if self.value(key_ann, (), k, (*path, k)) is _DROP:
                    continue
                got = self.value(item_ann, (), v, (*path, k))
                if got is not _DROP:
                    out[k] = got
            return out
        if isinstance(ann, type) and issubclass(ann, Model):
            return self.model(ann, value, path)
        return self.scalar(ann, meta, value, path)

    def scalar(self, ann: Any, meta: tuple[object, ...], value: object, path: Path) -> object:
        if ann is Any:
            return value
        if ann is bool:
            return value if isinstance(value, bool) else self.bad(path, _must("a boolean", value))
        if ann is int:
            if isinstance(value, bool) or not isinstance(value, int):
                return self.bad(path, _must("an integer", value))
            for m in meta:
                if isinstance(m, Minimum) and value < m.value:
                    return self.bad(path, f"{value} is less than {m.value}")
            return value
        if not isinstance(value, str):
            return self.bad(path, _must("a string", value))
        for m in meta:
            if isinstance(m, Pattern) and re.fullmatch(m.regex, value) is None:
                return self.bad(path, f"{value!r} does not match {m.regex}")
        return value


def _must(what: str, value: object) -> str:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:59] + "…"
    return f"must be {what}, not {_kind(value)} ({shown})"


def validate(data: object) -> tuple[Manifest, list[Problem]]:
    """The manifest as far as it is valid, and every problem met (in the document's order)."""
    checker = Checker()
    cleaned = checker.model(Manifest, data, ())
    manifest = Manifest.model_validate(cleaned if isinstance(cleaned, dict) else {})
    return manifest, checker.problems
