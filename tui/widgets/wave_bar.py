"""The row of waves: each with its state, issue counts and (agent presets) what its agents'
CLIs reported spending; the selected one highlighted."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from wavedeck.agents.presets.usage import cost, tokens, total
from wavedeck.tui.runview import RunView

STATE_STYLE = {
    "locked": ("🔒", "dim"),
    "ready": ("○", "bold"),
    "running": ("●", "bold green"),
    "testing": ("◌", "bold yellow"),
    "tested": ("✔", "bold cyan"),
    "committed": ("⛁", "bold blue"),
}


def wave_bar_text(view: RunView, selected: int) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    for n, wave in enumerate(view.plan.waves):
        state = view.waves[wave.number]
        icon, style = STATE_STYLE.get(state.state, ("?", ""))
        done = sum(len(view.agents[a.id].issues_done) for a in wave.agents)
        count = len(wave.issue_ids)
        if n:
            text.append(" │ ", "dim")
        spent = total(view.agents[a.id].usage for a in wave.agents)
        extra = ""
        if not spent.empty:
            extra = (
                cost(spent.cost_usd) or f"{tokens(spent.input_tokens + spent.output_tokens)} tok"
            )
            extra = f" {extra}"
        words: str = state.state
        if words == "running" and view.agents_ended(wave.number):
            # the header's words: the wave waits for its tests, nothing of it runs any more
            words = "agents ended" if view.agents_not_done(wave.number) else "agents done"
            icon = "◉"
        label = f" {icon} Wave {wave.number} {words} {done}/{count}{extra} "
        text.append(label, f"{style} reverse" if wave.number == selected else style)
    return text


class WaveBar(Static):
    """Switch the selected wave with ``[`` and ``]``."""

    def show(self, view: RunView, selected: int) -> None:
        self.update(wave_bar_text(view, selected), layout=False)
