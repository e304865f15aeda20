"""The aider preset: one ``aider --message-file`` run per launch, its text output read line by line.

aider (0.86, recorded in ``tests/data/agent_streams/aider-*``) prints its header (``Aider
v0.86.2``, ``Model: ... with whole edit format``, ``Git repo: ...``), the model's answer as it
streams, ``Applied edit to <path>`` for each file it wrote, and after each model call ``Tokens:
1.1k sent, 79 received. Cost: $0.0046 message, $0.0046 session.``; API failures are lines naming
the provider's exception. The parser turns those into facts (usage per call, a write per applied
edit, the last answer for a question); every line is shown as it came.

What the preset keeps aider from doing to the repository (measured with 0.86.2):

- Its chat and input histories go to ``.wavedeck/aider/<agent>/<session>.*`` (never
  ``.aider.chat.history.md`` in the repository); the session id is wavedeck's, and a follow-up
  restores that chat (``--restore-chat-history``). That folder is the preset's ``own_state``:
  under the kernel sandbox the agent may write it (and nothing else of ``.wavedeck/``), or aider
  could not keep its chat and a follow-up would start from nothing.
- ``--no-gitignore``: it never appends ``.aider*`` to the repository's ``.gitignore``.
- ``--map-tokens 0``: no repository map, whose cache (``.aider.tags.cache.v4/``) it would write
  at the repository's root.
- ``GIT_INDEX_FILE`` and ``GIT_OBJECT_DIRECTORY`` (a private index and object store in that
  folder, the repository's objects read through ``GIT_ALTERNATE_OBJECT_DIRECTORIES``): aider
  ``git add``s every file it creates, even with ``--no-auto-commits``; with its own index the
  operator's index never changes, and with its own objects nothing is written under ``.git/``,
  which the kernel sandbox keeps closed (there a failed ``git add`` made aider drop every edit
  of its answer). ``--no-auto-commits --no-dirty-commits``: it never commits.

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
COLUMNS = 4096  # aider's console width: wide enough that no line of its is wrapped
_ERROR = re.compile(r"^(litellm\.\w+|\w+Error:|Error:|The API provider)")


def own_state(wavedeck_dir: Path, agent_id: str) -> Path:
    """Where aider's own files go for one agent (never in the repository's tree; one folder per
    agent, so that a sandboxed agent may write its own chat and no other agent's)."""
    return wavedeck_dir / "aider" / agent_id


def state_dir(ctx: LaunchContext) -> Path:
    return own_state(ctx.wavedeck_dir, ctx.agent_id)


def argv(ctx: LaunchContext) -> list[str]:
    session = ctx.resume or ctx.session_id or ctx.agent_id
    folder = state_dir(ctx)
    if ctx.local:
        # git refuses a GIT_OBJECT_DIRECTORY that does not exist ("not a git repository")
        (folder / "objects").mkdir(parents=True, exist_ok=True)
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


def objects_of(tree: Path) -> Path:
    """The object store of the repository checked out at ``tree`` (a worktree's ``.git`` file
    names its git dir, whose ``commondir`` is the main repository's)."""
    dotgit = tree / ".git"
    if not dotgit.is_file():
        return dotgit / "objects"
    try:
        first = dotgit.read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError, UnicodeDecodeError):
        return dotgit / "objects"
    gitdir = (tree / first.removeprefix("gitdir:").strip()).resolve()
    try:
        common = (gitdir / (gitdir / "commondir").read_text(encoding="utf-8").strip()).resolve()
    except OSError:
        common = gitdir
    return common / "objects"


def env(ctx: LaunchContext) -> dict[str, str]:
    # aider `git add`s the files it creates: into an index and an object store of its own,
    # never the operator's index nor .git/ (the repository's objects are read, not written).
    folder = state_dir(ctx)
    return {
        # Without a terminal aider's console (rich) wraps its messages at 80 columns: a long
        # path would be cut across lines ("Applied edit to", a "Permission denied" naming it).
        "COLUMNS": str(COLUMNS),
        "GIT_INDEX_FILE": str(folder / "index"),
        "GIT_OBJECT_DIRECTORY": str(folder / "objects"),
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(objects_of(ctx.cwd)),
    }


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
    own_state=own_state,
    tool_lag_s=3.0,
)
