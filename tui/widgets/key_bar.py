"""The key bar under the panes: the actions of ``wavedeck.tui.keys`` that have a place in it, with their
current keys (after a ``[keys]`` remap), greyed out when not possible now.

Unlike Textual's footer it fits any width: when the terminal is too narrow, the actions with the
lowest priority (``Action.bar``) leave first, those not possible now before the others, and help, quit and the palette always stay, so
every other key is one press away.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget

from wavedeck.tui.keys import ACTIONS, first_key

IN_BAR = tuple(a for a in ACTIONS if a.bar)
# A key not possible now: plainly set apart from the bold reversed ones, yet readable (Rich's
# "dim reverse" came out as colour 247 on 253 in most terminals: barely there).
GREYED_KEY = "grey70 on grey30"
GREYED_LABEL = "grey70"


def key_bar_text(keys: dict[str, str], possible: dict[str, bool], width: int) -> Text:
    """The bar for ``width`` cells: as many actions as fit, in the table's order."""
    items = [(a, f" {first_key(keys.get(a.name, a.keys))} ", f"{a.label} ") for a in IN_BAR]
    shown = list(items)
    # Drop until the rest fits: first what is not possible now, then the least important (the
    # always-kept ones have bar = 1), so a narrow bar shows what can be done.
    order = sorted(items, key=lambda item: (possible.get(item[0].name, True), -item[0].bar))
    for action, _k, _l in order:
        if sum(cell_len(k) + cell_len(label) for _a, k, label in shown) <= width:
            break
        if action.bar > 1:
            shown = [item for item in shown if item[0] is not action]
    text = Text(no_wrap=True, overflow="ellipsis")
    for action, key, label in shown:
        able = possible.get(action.name, True)
        text.append(key, "bold reverse" if able else GREYED_KEY)
        text.append(label, "" if able else GREYED_LABEL)
    return text


class KeyBar(Widget):
    DEFAULT_CSS = """
    KeyBar { height: 1; background: $panel; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.keys: dict[str, str] = {a.name: a.keys for a in ACTIONS}
        self.possible: dict[str, bool] = {}

    def show(self, keys: dict[str, str], possible: dict[str, bool]) -> None:
        self.keys, self.possible = keys, possible
        self.refresh()

    def render(self) -> Text:
        return key_bar_text(self.keys, self.possible, self.size.width)
