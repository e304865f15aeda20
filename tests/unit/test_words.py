"""Grammar in every message (issue #24): "1 agent", never "1 agents" or "agent(s)"; "w1-a2 has
succeeded", never "w1-a2 is succeeded".

Two nets. The refusal catalogue (``agents/wave/refusals.py`` with the control room's and the
checkpoint screen's hints, ``tui/refusals.py``) is rendered for every code with one and with two
paths and agents in every state, and read. Every message template in the source (the f-strings of
``plan/``, ``agents/`` and ``tui/``: notices, toasts, refusals, CLI output) is scanned for the
shapes that broke: ``(s)`` plurals, a count followed by a plural noun, ``is {state}``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import get_args

import pytest

from wavedeck.agents.kinds import AGENT_STATES, AgentStanding, Refusal, RefusalCode
from wavedeck.agents.wave.refusals import agent_is, describe
from wavedeck.plan.words import all_committed, plural
from wavedeck.tui.keys import ALL_ACTIONS
from wavedeck.tui.refusals import checkpoint_hints, hints

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("plan", "agents", "tui")
CODES: tuple[RefusalCode, ...] = get_args(RefusalCode)
NOUNS = (
    "agent|issue|file|path|wave|error|warning|command|pane|line|item|violation|launch|match"
    "|commit|row|heading|report|test|host|key"
)
BAD_PLURAL = re.compile(r"\w\((s|es|ies)\)")
_WORD = r"(?:(?!has |have |is |are |was |were )\w+ )?"  # "1 changed path", not "1 has agents"
ONE_MANY = re.compile(rf"\b1 {_WORD}(?:{NOUNS})e?s\b")
MANY_ONE = re.compile(rf"\b[02-9] {_WORD}(?:{NOUNS})\b(?!-)")
IS_STATE = re.compile(r"\bis (succeeded|failed|stopped|lost|needs_you|pending)\b")


def bad_grammar(text: str) -> list[str]:
    found = [m.group(0) for m in BAD_PLURAL.finditer(text)]
    found += [m.group(0) for m in ONE_MANY.finditer(text)]
    found += [m.group(0) for m in MANY_ONE.finditer(text)]
    found += [m.group(0) for m in IS_STATE.finditer(text)]
    found += ["needs_you"] if "needs_you" in text else []
    return found


def test_plural_words() -> None:
    assert [plural(n, "agent") for n in (0, 1, 2)] == ["0 agents", "1 agent", "2 agents"]
    assert plural(3, "launch") == "3 launches"
    assert plural(1, "changed path") == "1 changed path"
    assert plural(2, "changed path") == "2 changed paths"
    assert plural(2, "dependency") == "2 dependencies"
    assert plural(2, "key") == "2 keys"
    assert all_committed(1) == "its one wave committed"
    assert all_committed(3) == "all 3 waves committed"
    assert agent_is("w1-a2", "succeeded") == "w1-a2 has succeeded"
    assert agent_is("w1-a4", "needs_you") == "w1-a4 needs you"


def _refusals(code: RefusalCode) -> list[Refusal]:
    made = []
    for count in (1, 2):
        for state in AGENT_STATES:
            made.append(
                Refusal(
                    code,
                    1,
                    other=2,
                    agents=tuple(AgentStanding(f"w1-a{n}", state) for n in range(1, count + 1)),
                    paths=tuple(f"src/f{n}.py" for n in range(count)),
                    detail="git said no",
                )
            )
    return made


@pytest.mark.parametrize("code", CODES)
def test_every_refusal_reads_as_english_for_one_and_for_many(code: RefusalCode) -> None:
    keys = {a.name: a.keys for a in ALL_ACTIONS}
    for refusal in _refusals(code):
        for words in (describe(refusal), describe(refusal, hints(keys))):
            assert not bad_grammar(words), words
        assert not bad_grammar(describe(refusal, checkpoint_hints()))


def _template(node: ast.JoinedStr) -> str:
    """An f-string with each replacement field as ``{expr}``."""
    out = []
    for part in node.values:
        if isinstance(part, ast.Constant):
            out.append(str(part.value))
        elif isinstance(part, ast.FormattedValue):
            out.append("{" + ast.unparse(part.value) + "}")
    return "".join(out)


COUNT = re.compile(r"\{(len\([^{}]*\)|[\w.]*(count|total|running|launches|n_\w+)[\w.]*)\}")


def _template_problems(template: str) -> list[str]:
    words = re.sub(r"\{[^{}]*\}", "{}", template)  # the fields' code is not words
    found = [m.group(0) for m in BAD_PLURAL.finditer(words)]
    # A counted value directly followed by a plural noun: "1 agents" when the count is one.
    for m in COUNT.finditer(template):
        rest = template[m.end() :]
        if re.match(rf" (?:\w+ )?(?:{NOUNS})e?s\b", rest):
            found.append(template[m.start() : m.end() + 20])
    found += [m.group(0) for m in re.finditer(r"\bis \{[^{}]*state[^{}]*\}", template)]
    return found


def test_no_message_template_breaks_grammar() -> None:
    problems = []
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            tree = ast.parse(path.read_text("utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.JoinedStr):
                    text = _template(node)
                elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                    text = node.value
                    if "\n" in text and text.strip().endswith(".") and len(text) > 200:
                        continue  # a docstring, not a message
                else:
                    continue
                for problem in _template_problems(text):
                    problems.append(f"{path.relative_to(ROOT)}:{node.lineno}: {problem!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("2 changed path(s) are outside", True),
        ("the plan has 1 errors", True),
        ("w1-a2 is succeeded: only a failed agent restarts", True),
        ("w1-a2 has succeeded: only a failed agent restarts", False),
        ("1 changed path is outside the plan", False),
    ],
)
def test_the_net_catches_what_broke(text: str, bad: bool) -> None:
    assert bool(bad_grammar(text)) is bad
    assert bool(_template_problems("{len(paths)} files here")) is True
    assert bool(_template_problems("{plural(len(paths), 'file')} here")) is False
