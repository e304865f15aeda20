"""A YAML document loaded safely, every value with the line it was written on.

Only YAML's safe types are built (``yaml.SafeLoader``'s constructors: no Python objects, an
unknown ``!tag`` is an error). Before anything is built, the document's nesting is measured on
the parser's event stream: libyaml's composer recurses, so a document nested thousands deep
would crash the interpreter instead of failing. Aliases are measured too (a "billion laughs"
document is refused before it expands). A key given twice in one mapping, which YAML loaders
keep silently as the last one, is reported. Every failure is a ``PlanError`` with its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml

from wavedeck.plan.errors import PlanError

# libyaml's parser and composer when the PyYAML wheel has them; the pure-Python ones otherwise.
_BASE: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BOOL = "tag:yaml.org,2002:bool"


class _Loader(_BASE):  # type: ignore[valid-type,misc]
    """Safe loading with YAML 1.2's booleans: only true and false. YAML 1.1 (PyYAML's default)
    also reads y, n, yes, no, on and off as booleans, so an agent named ``N`` or ``Y`` (SAW ids
    are letters) would silently become ``False`` or ``True``."""

    yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, re.Pattern[str]]]]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
        for first, resolvers in _BASE.yaml_implicit_resolvers.items()
    }


_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_LOADER: type[yaml.SafeLoader] = _Loader
MAX_DEPTH = 64  # a manifest nests about 6 deep
MAX_VALUES = 1_000_000  # values once aliases are expanded

Path = tuple[object, ...]


@dataclass
class YamlDoc:
    """The loaded value, the line of each value by its path (keys and list indexes from the
    root), and the keys given twice: (path of the mapping, key, first line, second line)."""

    data: object
    lines: dict[Path, int] = field(default_factory=dict)
    duplicates: list[tuple[Path, object, int, int]] = field(default_factory=list)

    def line(self, path: Path) -> int:
        """The line of ``path``, or of its nearest ancestor that has one (1 for the root)."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return 1


def _error(exc: yaml.YAMLError, source: str) -> PlanError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).split("\n", 1)[0]
    context = getattr(exc, "context", None)
    what = f"{context}: {problem}" if context else str(problem)
    line = mark.line + 1 if mark is not None else None
    return PlanError(f"not valid YAML: {what}", line=line, source=source)


def _measure(text: str, source: str) -> None:
    """Refuse a document nested deeper than ``MAX_DEPTH`` (from the event stream, which the
    parser produces without recursing)."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise PlanError(
                    f"the YAML is nested more than {MAX_DEPTH} levels deep",
                    line=event.start_mark.line + 1 if event.start_mark else None,
                    source=source,
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _size(node: yaml.Node, sizes: dict[int, int], source: str) -> int:
    """How many values ``node`` stands for once its aliases are expanded (memoised per node);
    a node that contains itself (``a: &a [*a]``) is refused: it has no end."""
    known = sizes.get(id(node))
    if known is not None:
        if known < 0:
            raise PlanError(
                "the YAML refers to itself (an alias inside its own anchor)",
                line=node.start_mark.line + 1,
                source=source,
            )
        return known
    sizes[id(node)] = -1  # in progress
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_size(item, sizes, source) for item in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_size(k, sizes, source) + _size(v, sizes, source) for k, v in node.value)
    total = min(total, MAX_VALUES + 1)
    sizes[id(node)] = total
    return total


def _lines(node: yaml.Node, loader: yaml.SafeLoader, doc: YamlDoc) -> None:
    """Record the line of every value under ``node`` (each node once: aliases are not
    followed twice), and the keys given twice."""
    seen: set[int] = set()
    todo: list[tuple[yaml.Node, Path]] = [(node, ())]
    while todo:
        current, path = todo.pop()
        doc.lines.setdefault(path, current.start_mark.line + 1)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, yaml.SequenceNode):
            todo.extend((item, (*path, i)) for i, item in enumerate(current.value))
        elif isinstance(current, yaml.MappingNode):
            first: dict[object, int] = {}
            for key_node, value_node in current.value:
                key = loader.construct_object(key_node, deep=True)
                key = key if isinstance(key, str | int | bool | float) or key is None else str(key)
                line = key_node.start_mark.line + 1
                if key in first:
                    doc.duplicates.append((path, key, first[key], line))
                first[key] = line
                doc.lines[(*path, key)] = line
                todo.append((value_node, (*path, key)))


def load_yaml(text: str, source: str = "") -> YamlDoc:
    """Load one YAML document safely, with lines; ``PlanError`` for anything that is not one."""
    try:
        _measure(text, source)
        node = yaml.compose(text, Loader=_LOADER)
        if node is None:
            return YamlDoc(None)
        if _size(node, {}, source) > MAX_VALUES:
            raise PlanError(
                f"the YAML's aliases expand to more than {MAX_VALUES} values",
                line=node.start_mark.line + 1,
                source=source,
            )
        loader = yaml.SafeLoader("")  # builds values from the nodes: safe constructors only
        data = loader.construct_document(node)
        doc = YamlDoc(data)
        _lines(node, loader, doc)
        return doc
    except yaml.YAMLError as exc:
        raise _error(exc, source) from None
    except (RecursionError, ValueError, OverflowError) as exc:
        # A value the safe constructors cannot build (a date out of range, a huge float).
        raise PlanError(f"not valid YAML: {exc}", source=source) from None
