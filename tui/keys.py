"""The one table of operator actions: name, default keys, label, help text, when available.

Everything that shows or binds a key reads :data:`ACTIONS`: the main screen's and the log's
bindings (:func:`bindings`), the key bar under the panes, the help screen, the command palette and
the README's key tables (``REVIEW_ACTIONS``: the review screen's own). Each binding's id is
its action's name, so a ``[keys]`` section in
``wavedeck.toml`` (``start = "S"``) remaps it through Textual's keymap (:func:`keymap_from_config`
checks it first: an unknown action or key, or a key two actions would share, is a ``ConfigError``
naming the setting).

What an action does lives in ``wavedeck.tui.commands.Actions``; whether it is possible right now is
``Actions.why_not``. This module holds data only, and imports nothing else of ``tui``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from textual.binding import Binding, BindingType
from textual.keys import Keys, _character_to_key, format_key, key_to_character

from wavedeck.agents.configread import ConfigError

Scope = Literal["main", "log", "app", "review"]


@dataclass(frozen=True)
class Action:
    name: str  # the binding id and the name in [keys]
    keys: str  # Textual key names, comma-separated: the first is shown
    label: str  # short, for the key bar
    help: str  # one line, for help and the palette
    when: str  # when it is available, in words
    # main: a main-screen key; log: a key of the focused log; app: anywhere; review: a key of
    # the review screen (its own table, REVIEW_ACTIONS)
    scope: Scope = "main"
    bar: int = 0  # place in the key bar's priority (1 kept longest); 0: not in the bar
    pane: bool = False  # needs a focused pane (``Actions.why_not`` refuses without one)
    engine: bool = False  # needs an engine (a view-only app refuses it)


ACTIONS: tuple[Action, ...] = (
    Action("start", "s", "Start", "Start the selected wave (every agent in parallel)",
           "the wave is ready", bar=2, engine=True),
    Action("stop", "x", "Stop", "Stop the focused agent (SIGTERM, then SIGKILL)",
           "the focused agent runs, or waits to restart", bar=6, pane=True, engine=True),
    Action("restart", "r", "Restart", "Restart the focused agent",
           "the focused agent failed, was stopped or lost", bar=8, pane=True, engine=True),
    Action("mark_done", "m", "Done", "Mark the focused agent done by hand (asks for a reason)",
           "the focused agent ended without finishing", bar=11, pane=True, engine=True),
    Action("tests", "t", "Tests", "Run the wave's tests", "the wave's agents have ended",
           bar=3, engine=True),
    Action("commit", "c", "Commit", "Review and commit the wave's checkpoint",
           "the wave's tests have run", bar=4, engine=True),
    Action("diffs", "d", "Diffs",
           "Review the wave's changes: comment, revert hunks, approve or request changes",
           "the wave has started", bar=5, engine=True),
    Action("violations", "v", "Violations", "Review ownership violations (accept or revert)",
           "the wave has violations", bar=7, engine=True),
    Action("attach", "a", "Attach",
           "Take over the focused agent's CLI session in this terminal (wavedeck steps aside "
           "until you leave the CLI); without a session: its live tail, saying why",
           "a pane has focus", bar=12, pane=True),
    Action("zoom", "z,enter", "Zoom",
           "The focused agent's log full screen, live tail (in it: z live tail, l whole log, "
           "o raw stream)", "a pane has focus", bar=9, pane=True),
    Action("search", "slash", "Search", "Search the focused log (n / N: next / previous match)",
           "a pane has focus", bar=10, pane=True),
    Action("log", "l", "Whole log", "The focused agent's whole log from disk, full screen",
           "a pane has focus and an engine runs", pane=True, engine=True),
    Action("reply", "u", "Reply",
           "Send a message to the focused ended agent: a reply resuming its CLI session",
           "the focused agent ended and has a session (agent presets)", pane=True, engine=True),
    Action("raw", "o", "Raw",
           "Show the focused pane's raw agent output / the rendered lines (in the log: raw "
           "stream)",
           "a pane has focus and a preset renders its output", pane=True),
    Action("wrap", "w", "Wrap",
           "Wrap long log lines in every pane and the log view (again: cut them at the edge)",
           "always"),
    Action("replan", "P", "Re-plan", "Re-plan the remaining waves into a new plan file to review",
           "a wave is committed and waves remain", engine=True),
    Action("previous_wave", "left_square_bracket", "Prev wave", "Show the previous wave",
           "a wave before this one"),
    Action("next_wave", "right_square_bracket", "Next wave", "Show the next wave",
           "a wave after this one"),
    Action("help", "question_mark,f1", "Help", "Show the keys", "always", bar=1),
    Action("quit", "q", "Quit", "Quit (agents keep running unless you stop them)", "always",
           bar=1),
    Action("palette", "ctrl+p", "Commands", "Command palette: every action", "always",
           scope="app", bar=1),
    Action("follow", "f", "Follow", "In a log: follow the tail on / off", "a log has focus",
           scope="log", pane=True),
    Action("tail", "end", "Tail", "In a log: jump to the tail and follow it", "a log has focus",
           scope="log", pane=True),
    Action("search_next", "n", "Next match", "In a log: the next search match",
           "a log has focus", scope="log", pane=True),
    Action("search_previous", "N", "Previous match", "In a log: the previous search match",
           "a log has focus", scope="log", pane=True),
)  # fmt: skip

# The review screen's keys (``wavedeck.tui.screens.diff``): a table of their own, shown in its
# footer, its help and the README's review section. They share keys with the main screen's
# (``n``, ``c``...) but never with each other or with the app's.
REVIEW_ACTIONS: tuple[Action, ...] = (
    Action("review_next_hunk", "n", "Next hunk", "In the review: jump to the next hunk",
           "a change is shown", scope="review"),
    Action("review_previous_hunk", "p", "Prev hunk", "In the review: jump to the previous hunk",
           "a change is shown", scope="review"),
    Action("review_next_file", "right_square_bracket", "Next file",
           "In the review: jump to the next file", "a change is shown", scope="review"),
    Action("review_previous_file", "left_square_bracket", "Prev file",
           "In the review: jump to the previous file", "a change is shown", scope="review"),
    Action("review_next_agent", "right_curly_bracket", "Next agent",
           "In the review: jump to the next agent's changes", "a change is shown",
           scope="review"),
    Action("review_previous_agent", "left_curly_bracket", "Prev agent",
           "In the review: jump to the previous agent's changes", "a change is shown",
           scope="review"),
    Action("review_comment", "c", "Comment",
           "In the review: comment on the line (or the hunk) under the cursor",
           "the cursor is on an agent's change", scope="review", engine=True),
    Action("review_approve", "a", "Approve",
           "In the review: approve the agent's changes (anyway, while it has not answered)",
           "the cursor is in an agent's changes", scope="review", engine=True),
    Action("review_request", "R", "Request changes",
           "In the review: send the agent's open comments as one follow-up resuming its session",
           "the agent has open comments and a session", scope="review", engine=True),
    Action("review_revert_hunk", "x", "Revert hunk",
           "In the review: put the hunk back as it was when the wave started (working tree only)",
           "the cursor is in a hunk of an open wave", scope="review", engine=True),
    Action("review_revert_file", "X", "Revert file",
           "In the review: put the whole file back as it was when the wave started",
           "the cursor is in a file of an open wave", scope="review", engine=True),
    Action("review_undo", "u", "Undo revert", "In the review: undo the last hunk revert",
           "a hunk was reverted", scope="review", engine=True),
    Action("review_forward", "F", "Forward",
           "In the review: make the reviewer's finding under the cursor yours (sent with yours)",
           "the cursor is on a reviewer's open finding", scope="review", engine=True),
    Action("review_dismiss", "D", "Dismiss",
           "In the review: dismiss the finding under the cursor (or delete your open comment)",
           "the cursor is on an open comment", scope="review", engine=True),
    Action("review_expand", "plus,equals_sign", "More context",
           "In the review: show 10 more lines around the hunk", "the cursor is in a hunk",
           scope="review"),
    Action("review_split", "s", "Split", "In the review: side by side or unified",
           "always", scope="review"),
    Action("review_edit", "e", "Edit", "In the review: open the file in $EDITOR",
           "the cursor is in a file", scope="review"),
    Action("review_help", "question_mark,f1", "Help", "In the review: show its keys", "always",
           scope="review"),
)  # fmt: skip
ALL_ACTIONS: tuple[Action, ...] = ACTIONS + REVIEW_ACTIONS
BY_NAME: dict[str, Action] = {a.name: a for a in ALL_ACTIONS}

# The log view's modes (``z``, ``l``, ``o`` switch between them there): name, what it shows.
LOG_MODES: dict[str, tuple[str, str]] = {
    "live": ("live tail", "the lines the pane holds (the last 10,000), following new ones"),
    "whole": (
        "whole log",
        "every line of the agent's log on disk, from its first run, as "
        "written (a CLI preset's raw stream)",
    ),
    "raw": ("raw stream", "what its agent CLI printed, before wavedeck rendered it"),
}

# Keys that are not actions of their own: listed in help, never remapped, never given away.
FIXED_KEYS: tuple[tuple[str, str], ...] = (
    ("1 – 9", "Focus pane N"),
    ("escape", "Close a screen"),
    ("tab", "Next pane or button"),
)
RESERVED = frozenset({*(str(n) for n in range(1, 10)), "escape", "tab", "shift+tab", "ctrl+c",
                      "ctrl+q"})  # fmt: skip
# Actions offered in the palette (the palette itself is not one of them; the log's act on the
# focused pane's log).
PALETTE = tuple(a for a in ACTIONS if a.name != "palette")

MODIFIERS = frozenset({"ctrl", "alt", "shift", "meta", "super", "hyper"})
_NAMED_KEYS = frozenset(k.value for k in Keys if "+" not in k.value and not k.value.startswith("<"))


def bindings(
    scope: Scope, *, action: str, priority: bool = False, show: bool = False
) -> list[BindingType]:
    """The bindings of ``scope``'s actions; ``action`` is the Textual action string with
    ``{name}`` for the action's name (``"act('{name}')"``); ``show``: in the screen's footer
    (the main screen's key bar shows its own instead: it fits small terminals)."""
    return [
        Binding(
            a.keys,
            action.format(name=a.name),
            a.label,
            show=show,
            id=a.name,
            priority=priority,
        )
        for a in ALL_ACTIONS
        if a.scope == scope
    ]


def current_keys(keymap: Mapping[str, str]) -> dict[str, str]:
    """Each action's keys now: the default unless ``keymap`` (binding id -> keys) remaps it."""
    return {a.name: keymap.get(a.name, a.keys) for a in ALL_ACTIONS}


def _screens(action: Action) -> tuple[str, ...]:
    """The screens whose keys ``action`` competes with: the review screen's own, the main
    screen's (and its logs'), or both (the app's keys work everywhere)."""
    if action.scope == "app":
        return ("main", "review")
    return ("review",) if action.scope == "review" else ("main",)


def key_display(keys: str) -> str:
    """``"question_mark,f1"`` -> ``"? / f1"``; ``"ctrl+p"`` -> ``"^p"``."""
    shown = []
    for key in keys.split(","):
        *mods, base = key.strip().split("+")
        text = format_key(base)
        if "ctrl" in mods:
            mods.remove("ctrl")
            text = f"^{text}"
        shown.append("+".join([*mods, text]))
    return " / ".join(shown)


def first_key(keys: str) -> str:
    """The first of ``keys``, as displayed: what a hint or the key bar names."""
    return key_display(keys.split(",")[0])


def _valid_key(key: str) -> bool:
    if len(key) == 1:
        return key.isprintable() and not key.isspace()
    *mods, base = key.split("+")
    if not base or any(m not in MODIFIERS for m in mods):
        return False
    if len(base) == 1:
        return base.isprintable() and not base.isspace()
    return base in _NAMED_KEYS or key_to_character(base) is not None


def _normalize(key: str) -> str:
    return _character_to_key(key) if len(key) == 1 else key


def keymap_from_config(keys: Mapping[str, str], source: Path | str) -> dict[str, str]:
    """Check ``[keys]`` (action name -> keys) against the table; the Textual keymap.

    Raises ``ConfigError`` naming ``source`` and the setting: an unknown action (with the
    nearest name), a key Textual does not know, or a key that two actions would share.
    """
    keymap: dict[str, str] = {}
    for name, value in keys.items():
        where = f"{source}: keys.{name}"
        if name not in BY_NAME:
            near = difflib.get_close_matches(name, list(BY_NAME), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ConfigError(f"{where}: no such action{hint}; actions: {', '.join(BY_NAME)}")
        parts = [part.strip() for part in value.split(",")]
        if not value.strip() or not all(parts):
            raise ConfigError(f'{where}: no key given (write e.g. {name} = "S")')
        for part in parts:
            if not _valid_key(part):
                raise ConfigError(
                    f'{where}: {part!r} is not a key (examples: "S", "ctrl+s", "f5", '
                    '"question_mark")'
                )
            if _normalize(part) in RESERVED:
                raise ConfigError(f"{where}: {part!r} is reserved ({key_display(part)})")
        keymap[name] = ",".join(_normalize(p) for p in parts)
    owner: dict[tuple[str, str], str] = {}
    for name, combo in current_keys(keymap).items():
        for key, screen in (
            (_normalize(k), s) for k in combo.split(",") for s in _screens(BY_NAME[name])
        ):
            if (key, screen) in owner:
                # Name the remapped one: that is the line to change.
                first = owner[(key, screen)]
                setting = name if name in keymap else first
                other = first if setting == name else name
                raise ConfigError(
                    f"{source}: keys.{setting}: {key_display(key)!r} is already the key of "
                    f"{other!r} (remap {other!r} too, or choose another key)"
                )
            owner[(key, screen)] = name
    return keymap
