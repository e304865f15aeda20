"""Writes the kernel sandbox refused, found in an agent's own output.

A sandboxed agent that tries to write outside its rules gets ``EACCES`` and says so in its own
words: ``touch: cannot touch 'x': Permission denied``, ``sh: 1: cannot create x: Permission
denied``, ``EACCES: permission denied, open '/abs/x'`` (Node), ``PermissionError: [Errno 13]
Permission denied: 'x'`` (Python), ``Permission denied writing to file: /abs/x (EACCES)`` (the
write tools of Gemini CLI 0.61 and Qwen Code 0.15), ``PermissionDenied: FileSystem.writeFile
(/abs/x)`` (opencode 1.18), the same inside a CLI's JSON tool result. ``RefusalScanner`` reads
each such line for the paths it names and keeps those the agent's rules do not let it write
(``writable``): a ``Permission denied`` about a path the agent may write is not the sandbox's
doing and is not reported. The tool is the command that failed (``touch``, ``sh``) or, for a
CLI's stream, the tool call the result belongs to. A tool's refusal of a path is reported once
a run: a CLI that prints it twice (Gemini CLI: the JSON result, then ``Error executing tool
write_file: ...`` on stderr) or retries the same write is still one refusal.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable

_MARK = re.compile(r"permission ?denied|eacces", re.IGNORECASE)
_QUOTED = re.compile(r"'([^'\s]{1,4096})'|‘([^’\s]{1,4096})’|\\\"([^\"\\\s]{1,4096})\\\"")
_CREATE = re.compile(r"cannot create ([^\s:]{1,4096}): ")
_BEFORE = re.compile(r"([^\s:'\"`]{1,4096}): [Pp]ermission denied")
# "Permission denied writing to file: /abs/x (EACCES)": a few words, then the path unquoted.
_AFTER = re.compile(r"[Pp]ermission denied(?: [a-z]+){1,4}: ([^\s'\"\\]{1,4096})")
# opencode's Effect error: "PermissionDenied: FileSystem.writeFile (/abs/x)".
_EFFECT = re.compile(r"PermissionDenied: [\w.]{1,80} \(([^\s()'\"\\]{1,4096})\)")
_COMMAND = re.compile(r"^\s*(?:/[\w./-]*/)?([A-Za-z][\w.+-]{0,40}): ")
# The tool call a JSON result belongs to (Claude Code, Qwen Code: tool_use_id; Gemini CLI:
# tool_id), or the tool an opencode tool part names, or Gemini CLI's stderr line about a tool.
_TOOL_ID = re.compile(r'"(?:tool_use_id|tool_id)":"([^"\\]{1,200})"')
_PART_TOOL = re.compile(r'"type":"tool","tool":"([\w.-]{1,80})"')
_EXECUTING = re.compile(r"^Error executing tool ([\w.-]{1,80}): ")
_CODEX_KIND = re.compile(r'"type":"(command_execution|file_change)"')
# An atomic write's temporary (``<file>.tmp.<pid>.<hex>``, Claude Code's): the file it was for.
_TEMPORARY = re.compile(r"\.tmp\.\d+\.[0-9a-f]+$")


def _segments(line: str) -> Iterable[str]:
    """The line's parts that may hold one message (JSON strings carry ``\\n`` escaped)."""
    for part in line.split("\\n"):
        if _MARK.search(part):
            yield part


def candidates(text: str) -> list[str]:
    """Paths a refusal message names, most precise first (``X: Permission denied``, ``cannot
    create X``, quoted names); shell variables (an unexpanded ``$HOME``) are not paths."""
    # The most precise first: "X: Permission denied" names the refused path itself.
    found: list[str] = [
        *_BEFORE.findall(text),
        *_AFTER.findall(text),
        *_EFFECT.findall(text),
        *_CREATE.findall(text),
    ]
    for match in _QUOTED.finditer(text):
        found.append(next(g for g in match.groups() if g))
    return [p for p in dict.fromkeys(found) if ("/" in p or "." in p) and "$" not in p]


class RefusalScanner:
    """Sandbox refusals in one agent run's output lines: ``(tool, path)`` each, paths relative
    to the agent's folder when inside it, each tool's refusal of a path reported once."""

    def __init__(
        self,
        cwd: str,
        writable: Callable[[str], bool],
        tool_of: Callable[[str], str | None] | None = None,
    ) -> None:
        self.cwd = os.path.normpath(cwd)
        self.writable = writable
        self.tool_of = tool_of  # a CLI stream's tool call id -> its tool name
        self.reported: set[tuple[str, str]] = set()

    def scan(self, lines: Iterable[str]) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for line in lines:
            if not _MARK.search(line):
                continue
            seen: set[str] = set()
            for part in _segments(line):
                for raw in candidates(part):
                    path = os.path.normpath(os.path.join(self.cwd, _TEMPORARY.sub("", raw)))
                    if path in seen or self.writable(path):
                        continue
                    seen.add(path)
                    found.append((self._tool(line, part), self._shown(path)))
                    break  # one refusal per message: ``mv a b`` names both
        # A CLI may print one refusal twice, once without the tool's name (Gemini CLI's result
        # line, then "Error executing tool write_file: ..."): a nameless one is kept only when
        # no line of the batch, nor an earlier report, names the tool for that path.
        named = {path for tool, path in found if tool != "?"}
        named |= {path for tool, path in self.reported if tool != "?"}
        out: list[tuple[str, str]] = []
        for refusal in found:
            if refusal in self.reported or (refusal[0] == "?" and refusal[1] in named):
                continue
            self.reported.add(refusal)
            out.append(refusal)
        return out

    def _tool(self, line: str, part: str) -> str:
        found = _TOOL_ID.search(line)
        if found is not None and self.tool_of is not None:
            name = self.tool_of(found.group(1))
            if name:
                return name
        named = _PART_TOOL.search(line) or _EXECUTING.match(line)
        if named is not None:
            return named.group(1)
        kind = _CODEX_KIND.search(line)
        if kind is not None:
            return "shell" if kind.group(1) == "command_execution" else "patch"
        if "PermissionError" in part:
            return "python"
        command = _COMMAND.match(part.split('"')[-1] if part.startswith("{") else part)
        if command is None or command.group(1).isupper():  # "EACCES: ...": an errno, not a tool
            return "?"
        return command.group(1)

    def _shown(self, path: str) -> str:
        if path.startswith(self.cwd + "/"):
            return path[len(self.cwd) + 1 :]
        return path


def writable_by(rules: Iterable[tuple[str, str]]) -> Callable[[str], bool]:
    """A predicate over absolute paths from ``(path, kind)`` rules: a ``file`` rule allows that
    file, any other kind everything beneath its path."""
    files: set[str] = set()
    trees: list[str] = []
    for path, kind in rules:
        (files.add if kind == "file" else trees.append)(os.path.normpath(path))

    def writable(path: str) -> bool:
        if path in files:
            return True
        return any(path == t or path.startswith(t.rstrip("/") + "/") for t in trees)

    return writable
