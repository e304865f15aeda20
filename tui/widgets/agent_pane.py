"""One agent's pane: who it is, where it runs, how far it got, and its live log."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from wavedeck.agents.presets.usage import describe as usage_text
from wavedeck.plan.safetext import neutralize
from wavedeck.tui.adapter import AgentView
from wavedeck.tui.widgets.log_view import LogView

BADGES = {
    "pending": ("○ pending", "dim"),
    "running": ("● running", "bold green"),
    "succeeded": ("✔ succeeded", "bold cyan"),
    "failed": ("✘ failed", "bold red"),
    "stopped": ("■ stopped", "bold yellow"),
    "lost": ("? lost", "bold magenta"),
    "needs_you": ("✋ needs you", "bold red"),
}


def fmt_elapsed(seconds: float | None) -> str:
    """``1:02:03``, ``2:03`` or ``--:--`` when the agent has not started."""
    if seconds is None:
        return "--:--"
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def head_text(view: AgentView, now: float) -> Text:
    """The status line: state badge, host, elapsed, issues, touched files, violations."""
    label, style = BADGES.get(view.state, (view.state, ""))
    link = view.host_state.state if view.host_state is not None else None
    if view.state == "running" and link in ("reconnecting", "unreachable"):
        # Neither failed nor succeeded: the agent may still be working on its host, but nothing
        # it does reaches us until the link is back (reliability matrix A7).
        label, style = "⚡ connection lost", "bold magenta"
    if (
        view.state == "needs_you"
        and view.needs is not None
        and view.needs.kind == "issues-unreported"
    ):
        label = "✋ incomplete"  # exited 0 without reporting every issue done: needs you
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(label, style)
    if view.state == "failed" and view.exit_code is not None:
        text.append(f" ({view.exit_code})", "red")
    elif view.signal:
        text.append(f" ({view.signal})", "red")
    restart = view.restart if view.state == "failed" else None
    if restart is not None:  # [agent.restart]: a restart waiting, cancelled, or given up
        text.append(f" · ↻ {neutralize(restart.note)}", "bold yellow")
    if view.marked_done:
        text.append(" · marked done", "bold cyan")
    text.append(f" ⏱ {fmt_elapsed(view.elapsed(now))}")
    total = len(view.agent.issues)
    text.append(f" ☑ {len(view.issues_done)}/{total}", "bold" if total else "")
    text.append(f" ✎ {len(view.touched)}")
    if view.violations:
        text.append(" ")
        text.append(f"⚠ {len(view.violations)}", "bold black on yellow")
    if view.denied:
        text.append(f" ⛔ {view.denied}", "bold red")
    if view.sandbox is not None:  # not confined like the run: its host cannot, or unprotected
        word = "unprotected" if view.sandbox.state == "unprotected" else "unsandboxed"
        text.append(f" ⚠ {word}", "bold yellow")
    if not view.usage.empty:  # agent presets: what the CLI reported spending
        text.append(f" {usage_text(view.usage).replace(' tokens', '')}", "dim")
    if view.show_raw:
        text.append(" raw", "bold reverse")
    text.append(" ")
    text.append(neutralize(view.host or "local"), "italic dim")
    return text


def host_text(view: AgentView, now: float) -> Text:
    """A remote agent's host connection: connected, reconnecting (when the next attempt is
    due) or unreachable (why); empty for a local agent."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if view.host is None:
        return text
    host = neutralize(view.host)
    state = view.host_state
    if state is None:
        text.append(f"{host}: connecting", "dim")
    elif state.state == "connected":
        text.append(f"⇄ {host}: connected", "green")
    elif state.state == "reconnecting":
        text.append(f"↻ {host}: reconnecting", "bold yellow")
        if state.next_attempt_at is not None:
            wait = state.next_attempt_at - now
            due = time.strftime("%H:%M:%S", time.localtime(state.next_attempt_at))
            text.append(f", next try {due}" + (f" (in {wait:.0f} s)" if wait >= 0.5 else ""))
    elif state.state == "unreachable":
        text.append(f"✘ {host}: unreachable", "bold red")
        if state.detail:
            text.append(f": {neutralize(state.detail)}", "red")
    else:
        text.append(f"{host}: {neutralize(state.state)}")
    return text


def issues_text(view: AgentView) -> Text:
    """The ordered issue checklist, shown while the pane has focus."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for n, issue in enumerate(view.agent.issues):
        done = issue.id in view.issues_done
        if n:
            text.append("\n")
        text.append("✔ " if done else "· ", "green" if done else "dim")
        text.append(neutralize(issue.id), "bold" if not done else "dim")
        text.append(f" {issue.severity.lower()} ", "italic")
        text.append(neutralize(issue.summary), "dim" if done else "")
    return text


class AgentPane(Vertical):
    """A bordered pane; its border title names the agent, its log follows the tail."""

    def __init__(self, view: AgentView, number: int, now: float) -> None:
        super().__init__(id=f"pane-{view.id}", classes=f"agent-pane -{view.state}")
        self.view = view
        self.number = number
        self._now = now
        self._styled_as: tuple[str, bool] = (view.state, False)
        # Text, not a str: a str border title is parsed as markup, and plan titles are not markup.
        self.border_title = Text(f"{number} {view.id} · {neutralize(view.agent.title)}")
        self._host_shown = host_text(view, now)
        # A remote agent's host connection sits on the bottom border: seen at a glance, and
        # no line taken from the log.
        self.border_subtitle = self._host_shown

    ALLOW_MAXIMIZE = True  # zoom: the whole pane (status and log) fills the screen

    @property
    def agent_id(self) -> str:
        return self.view.id

    def compose(self) -> ComposeResult:
        yield Static(head_text(self.view, self._now), classes="pane-head")
        yield Static(issues_text(self.view), classes="pane-issues")
        yield LogView(self.view.log, classes="pane-log")

    @property
    def log_view(self) -> LogView:
        return self.query_one(LogView)

    def toggle_raw(self) -> bool:
        """Show the raw stream instead of the rendered lines (or back); returns raw or not."""
        view = self.view
        view.show_raw = not view.show_raw
        self.log_view.show_buffer(view.raw if view.show_raw else view.log)
        self.update_status(self._now)
        return view.show_raw

    def on_log_view_status_changed(self, event: LogView.StatusChanged) -> None:
        event.stop()
        self._show_subtitle(self._now)

    def _show_subtitle(self, now: float) -> None:
        """The bottom border: the log's state when it is not plain following (paused, a search
        with its match k of n), then the host connection of a remote agent."""
        text = Text(no_wrap=True, overflow="ellipsis")
        logs = list(self.query(LogView))  # none before compose ran
        status = logs[0].status() if logs else ""
        if status:
            text.append(status, "bold yellow")
        host = host_text(self.view, now)
        if status and host.plain:
            text.append(" · ")
        text.append_text(host)
        if text.plain != self._host_shown.plain or text.spans != self._host_shown.spans:
            self._host_shown = text
            self.border_subtitle = text

    def update_status(self, now: float) -> None:
        """Redraw the status line and checklist (state, elapsed, counts)."""
        self._now = now
        classes = (self.view.state, bool(self.view.violations))
        if classes != self._styled_as:  # restyling a pane is costly: only on a change
            self._styled_as = classes
            # One class change, so one restyle of the pane's subtree (not one per class).
            stale = {f"-{state}" for state in BADGES} | {"-violation"}
            wanted = {f"-{state}" for state in BADGES if state == self.view.state}
            if self.view.violations:
                wanted.add("-violation")
            self.set_classes((set(self.classes) - stale) | wanted)
        self._show_subtitle(now)
        # Fixed heights: no layout pass needed for a new status line.
        for head in self.query(".pane-head").results(Static):  # none before compose ran
            head.update(head_text(self.view, now), layout=False)
        for issues in self.query(".pane-issues").results(Static):
            issues.update(issues_text(self.view), layout=False)
