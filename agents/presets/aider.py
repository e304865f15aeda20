"""The aider preset: one ``aider --message-file`` run per launch, its text output read line by line.

aider (0.86, recorded in ``tests/data/agent_streams/aider-*``) prints its header (``Aider
v0.86.2``, ``Model: ... with whole edit format``, ``Git repo: ...``), the model's answer as it
streams, ``Applied edit to <path>`` for each file it wrote, and after each model call ``Tokens:
1.1k sent, 79 received. Cost: $0.0046 message, $0.0046 session.``; API failures are lines naming
the provider's exception. The parser turns those into facts (usage per call, a write per applied
edit, the last answer for a question); every line is shown as it came.

What the preset keeps aider from doing to the repository (measured with 0.86.2):

- Its chat and input histories go to ``.wavedeck/aider/<session>.*`` (never
  ``.aider.chat.history.md`` in the repository); the session id is wavedeck's, and a follow-up
  restores that chat (``--restore-chat-history``).
- ``--no-gitignore``: it never appends ``.aider*`` to the repository's ``.gitignore``.
- ``--map-tokens 0``: no repository map, whose cache (``.aider.tags.cache.v4/``) it would write
  at the repository's root.
- ``GIT_INDEX_FILE`` (a private index under ``.wavedeck/aider/``): aider ``git add``s every file
  it creates, even with ``--no-auto-commits``; with its own index the operator's index never
  changes. ``--no-auto-commits --no-dirty-commits``: it never commits.

``--yes-always`` answers aider's questions, "Create new file?" and "Allow edits to file that has
not been added to the chat?" included: only the owned files are in its chat, but it writes any
file its model names. aider has no per-file permission: the watcher judges such writes (each
``Applied edit to`` line names aider's agent as the writer).
"""

from __future__ import annotations

import re
from pathlib import Path

from wavedeck.agents.presets.base import (
    Ended,
    Parsed,
    StreamParser,
    Tool,
    Usage,
    count,
    dim,
    red,
)
from wavedeck.agents.presets.spec import LaunchContext, Preset

_TOKENS = re.compile(
    r"^Tokens: ([\d.,]+[kKmM]?) sent(?:, [\d.,]+[kKmM]? cache \w+)*, ([\d.,]+[kKmM]?) received\."
    r"(?: Cost: \$([\d.]+) message, \$([\d.]+) session\.)?"
)
_APPLIED = re.compile(r"^Applied edit to (.+?)\s*$")
_HEADER = ("Aider v", "Model: ", "Git repo: ", "Repo-map: ", "Restored previous", "Warning: ")
_ERROR = re.compile(r"^(litellm\.\w+|\w+Error:|Error:|The API provider)")


def state_dir(ctx: LaunchContext) -> Path:
    """Where aider's own files go for this agent (never in the repository's tree)."""
    return ctx.wavedeck_dir / "aider"


def argv(ctx: LaunchContext) -> list[str]:
    session = ctx.resume or ctx.session_id or ctx.agent_id
    folder = state_dir(ctx)
    if ctx.local:
        folder.mkdir(parents=True, exist_ok=True)
    history = [
        "--chat-history-file",
        str(folder / f"{session}.chat.md"),
        "--input-history-file",
        str(folder / f"{session}.input.txt"),
    ]
    if ctx.resume:
        history.append("--restore-chat-history")
    return [
        ctx.program,
        "--message-file",
        str(ctx.prompt_file),
        "--yes-always",
        "--no-auto-commits",
        "--no-dirty-commits",
        "--no-gitignore",
        "--map-tokens",
        "0",
        "--no-pretty",
        "--no-show-release-notes",
        *history,
        *ctx.extra,
        # Only the owned files are added to the chat: aider edits files in its chat.
        *ctx.owned,
    ]


def env(ctx: LaunchContext) -> dict[str, str]:
    # aider `git add`s the files it creates: into an index of its own, never the operator's.
    return {"GIT_INDEX_FILE": str(state_dir(ctx) / f"{ctx.agent_id}.index")}


class AiderParser(StreamParser):
    """aider's text output -> the same lines, plus usage, writes and its last answer."""

    def __init__(self, cwd: Path | None = None) -> None:
        super().__init__(cwd)
        self.answer: list[str] = []  # the model's text since the last call's usage line
        self.error = ""  # an API error not followed by a model answer (aider exits 0 on it)

    def feed(self, line: str) -> Parsed:
        text = line.strip()
        tokens = _TOKENS.match(text)
        if tokens is not None:
            cost = float(tokens.group(3)) if tokens.group(3) else None
            usage = Usage(count(tokens.group(1)), count(tokens.group(2)), cost, 1)
            if any(part.strip() for part in self.answer):
                self.said = "\n".join(self.answer)
            self.answer, self.error = [], ""  # the model answered: a retried error is over
            return Parsed([dim(line)], [usage])
        applied = _APPLIED.match(text)
        if applied is not None:
            path = self.rel(applied.group(1))
            return Parsed([f"✎ {line}"], [Tool("edit", path, f"edit {path}", writes=True)])
        if text.startswith(_HEADER) or (text.startswith("Added ") and text.endswith(" chat.")):
            return Parsed([dim(line)])
        if _ERROR.match(text):
            self.error = text
            return Parsed([red(line)])
        self.answer.append(line)
        return Parsed([line])

    def flush(self) -> Parsed:
        if any(part.strip() for part in self.answer):
            self.said = "\n".join(self.answer)  # an answer cut short (no usage line after it)
        self.answer = []
        if self.error:
            return Parsed([], [Ended(True, "error", self.error)])
        return Parsed()


PRESET = Preset(
    name="aider",
    program="aider",
    prompt="file",
    argv=argv,
    parser=AiderParser,
    resumable=True,
    new_session_id=True,
    env=env,
    own_paths=("/.aider*",),
    tool_lag_s=3.0,
)
