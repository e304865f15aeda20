"""The strip under the panes listing the selected wave's ownership violations."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from wavedeck.agents.events import ViolationFound
from wavedeck.plan.safetext import neutralize


def violations_text(
    violations: list[ViolationFound], accepted: dict[str, str], key: str = "v"
) -> Text:
    """The open violations first with the key that reviews them (a narrow terminal cuts the
    paths at the right, never the key), then the paths."""
    text = Text(no_wrap=True, overflow="ellipsis")
    open_ = [v for v in violations if v.path not in accepted]
    if not violations:
        text.append("✔ no ownership violations", "dim")
        return text
    if open_:
        text.append(f"⚠ {len(open_)} open", "bold black on yellow")
        text.append(f" {key}: review", "dim")
    else:
        text.append("✔ no open violations", "green")
    if accepted:
        text.append(f"  ✔ {len(accepted)} accepted", "green")
    text.append("  ")
    for n, v in enumerate(open_[:4]):
        if n:
            text.append(" · ")
        text.append(neutralize(v.path), "bold")
        writer = v.agent or (" or ".join(v.candidates) if v.candidates else "writer unknown")
        guess = ", inferred" if v.attribution == "inferred" and v.agent else ""
        text.append(f" ({v.kind}, {neutralize(writer)}{guess})", "italic")
    if len(open_) > 4:
        text.append(f" · +{len(open_) - 4} more")
    return text


class ViolationsStrip(Static):
    def show(
        self, violations: list[ViolationFound], accepted: dict[str, str], key: str = "v"
    ) -> None:
        self.update(violations_text(violations, accepted, key), layout=False)
        self.set_class(any(v.path not in accepted for v in violations), "-open")
