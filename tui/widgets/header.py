"""The main screen's top line: where the run is, most important first (it is cut at the right
on a narrow terminal): the selected wave's phase and what comes next, how many agents run, the
hosts, the demo sandbox's path, and the plan's title last."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from wavedeck.plan.safetext import neutralize
from wavedeck.plan.words import all_committed
from wavedeck.tui.runview import RunView


def wave_phase(view: RunView, number: int) -> tuple[str, str]:
    """(words, style) for wave ``number``: its state, said as what the operator does next."""
    wave = view.waves.get(number)
    if wave is None:
        return "?", ""
    if all(w.state == "committed" for w in view.waves.values()):
        return f"plan complete: {all_committed(len(view.waves))}", "bold green"
    state = wave.state
    if state == "running":
        if view.agents_ended(number):
            # The engine keeps the wave "running" until its tests run: say the agents are done.
            failed = view.agents_not_done(number)
            if failed:
                return f"wave {number}: agents ended, {failed} not done", "bold yellow"
            return f"wave {number}: agents done, run the tests", "bold cyan"
        return f"wave {number}: running", "green"
    if state == "tested":
        if wave.tests_passed is False:
            return f"wave {number}: tests FAILED", "bold red"
        return f"wave {number}: tested, ready to commit", "bold cyan"
    if state == "committed":
        return f"wave {number}: committed", "blue"
    if state == "ready":
        return f"wave {number}: ready to start", "bold"
    return f"wave {number}: {neutralize(state)}", ""


def header_text(
    view: RunView, selected: int, *, engine: bool = True, sandbox: Path | None = None
) -> Text:
    top = Text(no_wrap=True, overflow="ellipsis")
    top.append(" wavedeck ", "bold reverse")
    words, style = wave_phase(view, selected)
    top.append(f" {words}", style)
    running = sum(1 for a in view.agents.values() if a.state == "running")
    top.append(f" · {running} running", "green" if running else "dim")
    if not engine:
        top.append(" · view only", "italic dim")
    if view.sandbox is not None:  # [agent] sandbox, as the engine told it for this run
        confined = view.sandbox
        if confined.state == "landlock":
            top.append(f" · 🔒 landlock {confined.abi}", "green")
        elif confined.state == "off":
            top.append(" · sandbox off", "dim")
        else:
            top.append(" · ⚠ no sandbox: watcher only", "bold yellow")
    for host, link in sorted(view.host_states.items()):
        top.append(
            f" · {neutralize(host)}: {link.state}", "red" if link.state != "connected" else ""
        )
    if sandbox is not None:
        top.append(" · demo sandbox ", "dim")
        top.append(neutralize(str(sandbox)), "italic")
    top.append(" · " + neutralize(view.plan.title), "bold")
    return top
