"""The strip under the panes listing the selected wave's ownership violations."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from wavedeck.agents.events import ViolationFound
from wavedeck.plan.safetext import neutralize
from wavedeck.tui.widgets.paths import fit_path


def violations_text(
    violations: list[ViolationFound],
    accepted: dict[str, str],
    key: str = "v",
    width: int | None = None,
) -> Text:
    """The open violations first with the key that reviews them, then the paths: in ``width``
    cells, each path shortened in its middle (``packages/…/cli/daemon.py``) so that its file
    name, its kind and its writer stay in view."""
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
    shown = open_[:4]
    more = f" · +{len(open_) - 4} more" if len(open_) > 4 else ""
    # Each path's share of the room left (its kind and writer are kept whole).
    room = (width - text.cell_len - len(more)) // max(len(shown), 1) if width else None
    for n, v in enumerate(shown):
        if n:
            text.append(" · ")
        writer = v.agent or (" or ".join(v.candidates) if v.candidates else "writer unknown")
        guess = ", inferred" if v.attribution == "inferred" and v.agent else ""
        after = f" ({v.kind}, {neutralize(writer)}{guess})"
        path = neutralize(v.path)
        if room is not None:
            path = fit_path(path, max(room - len(after) - (3 if n else 0), 12))
        text.append(path, "bold")
        text.append(after, "italic")
    text.append(more)
    return text


class ViolationsStrip(Widget):
    """One line under the panes: the wave's violations, fitted to the terminal's width."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[list[ViolationFound], dict[str, str], str] = ([], {}, "v")

    def show(
        self, violations: list[ViolationFound], accepted: dict[str, str], key: str = "v"
    ) -> None:
        shown = (list(violations), dict(accepted), key)
        if shown != self._shown:
            self._shown = shown
            self.refresh()
        self.set_class(any(v.path not in accepted for v in violations), "-open")

    def render(self) -> Text:
        violations, accepted, key = self._shown
        return violations_text(violations, accepted, key, self.size.width)
