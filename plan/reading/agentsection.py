"""What an agent's section holds in plans of other shapes, besides its heading: fields, files
and work items, read into the agent's draft.

``wavedeck.plan.reading.shapereader.ShapeReader`` hands each labelled field and each list item of
an agent's section here. A field acts by its role (``shapes.field_role``: files, shared, package,
priority, owner, wave, tasks, after). In a list, a checklist item is a work item wherever it
stands; a numbered item is a step, and a bullet is a work item under a Tasks heading or label. An
``### Agent N`` section (the reference format) keeps its other lists as prose, as ``--strict``
reads them, and its issue table, when it has one, wins (``wavedeck.plan.reading.placement``).
"""

from __future__ import annotations

from markdown_it.token import Token

from wavedeck.plan.models import IssueKind
from wavedeck.plan.reading import fields as fl
from wavedeck.plan.reading import fileentries as fe
from wavedeck.plan.reading import shapes as sh
from wavedeck.plan.reading.reader import AgentB
from wavedeck.plan.reading.shapetables import add_files, add_work

__all__ = ["list_files", "list_item", "read_field", "reference_list"]

Items = list[tuple[int, str, Token]]  # (line, number, inline token) of each list item


def read_field(agent: AgentB, label: str, value: str, line: int) -> bool:
    """Apply the field ``label: value`` (at ``line``) to ``agent``; True when it is a files
    label without a value: its list is still to come."""
    role = sh.field_role(label)
    if role == "package":
        spans = fl.list_values(value)
        agent.package = spans[0] if spans else value.strip()
        agent.package_line = line
    elif role in ("files", "shared"):
        agent.files_line = line
        entries = fe.file_entries(value)
        add_files(agent, entries, role == "shared")
        return not entries
    elif role == "priority":
        agent.priority = sh.priority_of(f"priority: {value}") or agent.priority
    elif role == "owner":
        agent.aliases.extend(v.strip("*_ ") for v in fl.list_values(value))
    elif role == "wave":
        agent.wave_hint = fl.parse_int(value.strip("*_ "))
    elif role == "tasks":
        agent.section_tasks = 7  # until the next heading, whatever its level
    elif role == "after":
        agent.after_text.append(value)
    return False


def list_files(agent: AgentB, items: Items) -> None:
    """A list of the agent's files (after a files label or heading); a checklist item in it is
    a work item, and in a files section without a label only path-like entries count."""
    for line, _num, inline in items:
        box = sh.checkbox(inline.content)
        if box is not None:  # a checklist item is a work item wherever it stands
            own_id, rest = sh.item_id(box)
            add_work(agent, "checklist", line, rest if own_id else box.strip(), own_id)
            continue
        entries = fe.file_entries(inline.content)
        if agent.section_files and not agent.files_line:
            entries = [e for e in entries if fe.path_like(e.raw)]
        add_files(agent, entries, False)


def reference_list(a: AgentB, items: Items, ordered: bool) -> None:
    """Work items in an ``Agent N`` section, used when it has no issue table
    (``wavedeck.plan.reading.placement``): a checklist anywhere, a list under a Tasks heading
    or label; its other lists stay prose, as ``--strict`` reads them."""
    for line, _num, inline in items:
        box = sh.checkbox(inline.content)
        kind: IssueKind = "checklist"
        if box is None:
            if not a.section_tasks:
                continue
            kind = "step" if ordered else "bullet"
        text = box if box is not None else inline.content
        own_id, rest = sh.item_id(text)
        add_work(a, kind, line, rest if own_id else text.strip(), own_id)


def list_item(a: AgentB, line: int, content: str, ordered: bool) -> None:
    """One item of a list in the section of an agent of another shape (no field): a checklist
    item, a numbered step, or a bullet under a Tasks heading or label is a work item."""
    box = sh.checkbox(content)
    kind: IssueKind
    if box is not None:
        kind, text = "checklist", box
    elif ordered and a.how == "agent-heading" and not a.section_tasks:
        # An ``Agent N`` section's numbered list is read as work only under a Tasks heading or
        # label: in the reference format such lists are prose (``wavedeck.plan.reading.placement``
        # warns when they are all the agent has).
        a.plain_steps = a.plain_steps or line
        return
    elif ordered:
        kind, text = "step", content
    elif a.section_tasks:
        kind, text = "bullet", content
    else:
        return
    own_id, rest = sh.item_id(text)
    add_work(a, kind, line, rest if own_id else text.strip(), own_id)
