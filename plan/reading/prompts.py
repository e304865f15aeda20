"""An agent's prompt written in a fenced block, read for the files it declares.

Plans often give each agent a ready-made prompt in a code fence, with its own ``## 1. File
Ownership`` section or ``Files to edit:`` line. Markdown reads a fence as opaque text, so when an
agent declares no files anywhere else, its prompt's lines are looked at: a files heading or label,
and the list items after it (path-like code spans, or a path-like first word).
"""

from __future__ import annotations

import re

from markdown_it.token import Token

from wavedeck.plan.reading import fields as fl
from wavedeck.plan.reading import fileentries as fe
from wavedeck.plan.reading import shapes as sh
from wavedeck.plan.reading.reader import AgentB
from wavedeck.plan.reading.shapetables import add_files

_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)$")


def prompt_files(a: AgentB, tok: Token) -> None:
    """The files an agent's prompt declares in fenced block ``tok``: the list under a files
    heading or label inside it (``## 1. File Ownership``), or the label's own values."""
    first = (tok.map or [0])[0] + 2  # the line after the opening fence
    in_files = False
    section = False  # the files list is a section (under a heading): prose does not end it
    for offset, raw in enumerate(tok.content.split("\n")):
        text = raw.strip().lstrip("#").strip()
        got = fl.labelled_field(raw) or sh.plain_field(text)
        heading = raw.lstrip().startswith("#")
        if sh.files_heading(text.strip("*_ ")):
            in_files = True
            section = heading
        elif got is not None and sh.field_role(got[0]) in ("files", "shared"):
            entries = [e for e in fe.file_entries(got[1]) if fe.path_like(e.raw)]
            add_files(a, entries, sh.field_role(got[0]) == "shared")
            in_files = not entries
        elif in_files and (item := _LIST_ITEM.match(raw)) is not None:
            entries = [e for e in fe.file_entries(item.group(1)) if fe.path_like(e.raw)]
            word = item.group(1).split()
            if not entries and word and fe.path_like(word[0]):
                entries = [fe.file_entry(word[0])]
            add_files(a, entries, False)
        elif raw.strip():
            in_files = in_files and section and not heading
            continue
        else:
            continue
        if a.files and a.files_line is None:
            a.files_line = first + offset
