"""One agent's pane: who it is, where it runs, how far it got, and its live log."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Static

from wavedeck.agents.presets.usage import describe as usage_text
from wavedeck.plan.models import Issue
from wavedeck.plan.safetext import neutralize
from wavedeck.tui.runview import AgentView
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


def head_parts(view: AgentView, now: float) -> list[tuple[str, Text]]:
    """The status line's parts, each with the separator that goes before it: state badge (with
    how it ended), restart, marked done, elapsed, issues, touched files, violations, refusals,
    sandbox, usage, raw, host. A part is never split across lines (``pack``)."""
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
    badge = Text(label, style)
    if view.state == "failed" and view.exit_code is not None:
        badge.append(f" ({view.exit_code})", "red")
    elif view.signal:
        badge.append(f" ({view.signal})", "red")
    parts: list[tuple[str, Text]] = [("", badge)]
    restart = view.restart if view.state == "failed" else None
    if restart is not None:  # [agent.restart]: a restart waiting, cancelled, or given up
        parts.append((" · ", Text(f"↻ {neutralize(restart.note)}", "bold yellow")))
    if view.state == "pending" and view.reason:  # why it has not started (queued: its turn)
        parts.append((" · ", Text(f"⏳ {neutralize(view.reason)}", "yellow")))
    if view.marked_done:
        parts.append((" · ", Text("marked done", "bold cyan")))
    parts.append((" ", Text(f"⏱ {fmt_elapsed(view.elapsed(now))}")))
    total = len(view.agent.issues)
    parts.append((" ", Text(f"☑ {len(view.issues_done)}/{total}", "bold" if total else "")))
    parts.append((" ", Text(f"✎ {len(view.touched)}")))
    if view.violations:
        parts.append((" ", Text(f"⚠ {len(view.violations)}", "bold black on yellow")))
    if view.denied:
        parts.append((" ", Text(f"⛔ {view.denied}", "bold red")))
    if view.sandbox is not None:  # not confined like the run: its host cannot, or unprotected
        word = "unprotected" if view.sandbox.state == "unprotected" else "unsandboxed"
        parts.append((" ", Text(f"⚠ {word}", "bold yellow")))
    if not view.usage.empty:  # agent presets: what the CLI reported spending
        parts.append((" ", Text(usage_text(view.usage).replace(" tokens", ""), "dim")))
    if view.show_raw:
        parts.append((" ", Text("raw", "bold reverse")))
    parts.append((" ", Text(neutralize(view.host or "local"), "italic dim")))
    return parts


def head_text(view: AgentView, now: float) -> Text:
    """The status line on one line (as a wide pane shows it)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for sep, part in head_parts(view, now):
        text.append(sep)
        text.append_text(part)
    return text


def pack(parts: list[tuple[str, Text]], width: int) -> list[Text]:
    """The parts in as few lines of ``width`` cells as they fit, never splitting one (a part
    wider than a line gets lines of its own, folded): the status stays whole in a narrow pane
    (``☑ 8/10``, never ``☑ 8/…``)."""
    width = max(width, 1)
    lines: list[Text] = []
    line = Text()
    for sep, part in parts:
        if line.cell_len and line.cell_len + len(sep) + part.cell_len <= width:
            line.append(sep)
            line.append_text(part)
            continue
        if line.cell_len:
            lines.append(line)
        if part.cell_len <= width:
            line = part.copy()
            continue
        pieces = [part[i : i + width] for i in range(0, len(part), width)]  # folded
        lines.extend(pieces[:-1])
        line = pieces[-1]
    if line.cell_len or not lines:
        lines.append(line)
    return lines


class PaneHead(Widget):
    """The pane's status line, wrapped between its parts when the pane is narrow."""

    DEFAULT_CSS = """
    PaneHead { height: auto; }
    """

    def __init__(self, parts: list[tuple[str, Text]], *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.parts = parts
        self._lines = 1

    def show(self, parts: list[tuple[str, Text]]) -> None:
        """Redraw; a layout pass only when the number of lines changes."""
        if parts == self.parts:
            return
        self.parts = parts
        lines = len(pack(parts, self.size.width)) if self.size.width else self._lines
        self.refresh(layout=lines != self._lines)

    @property
    def plain(self) -> str:
        """The status as text, on one line (tests)."""
        return "".join(sep + part.plain for sep, part in self.parts)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._lines = len(pack(self.parts, width))
        return self._lines

    def render(self) -> Text:
        lines = pack(self.parts, self.size.width)
        self._lines = len(lines)
        return Text("\n").join(lines)


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


MAX_ISSUE_ROWS = 8  # the checklist's rows in a tall pane


def issues_text(view: AgentView, rows: int = MAX_ISSUE_ROWS) -> Text:
    """The ordered issue checklist, shown while the pane has focus, in at most ``rows`` lines:
    when it does not fit, the issues done are one line (``✔ 4 done``) and the work left follows,
    the rest counted (``… 3 more``), so a small pane keeps room for its log."""
    issues = view.agent.issues
    rows = max(1, rows)
    shown: list[Issue | str] = list(issues)
    if len(issues) > rows:
        left = [i for i in issues if i.id not in view.issues_done]
        done = len(issues) - len(left)
        head: list[Issue | str] = [f"✔ {done} done"] if done else []
        room = rows - len(head)
        if len(left) > room:
            more = len(left) - (room - 1)
            # One row left: the next issue (what the agent works on) rather than a count.
            shown = [*head, *left[: room - 1], f"… {more} more"] if room > 1 else [*head, left[0]]
        else:
            shown = [*head, *left]
    text = Text(no_wrap=True, overflow="ellipsis")
    for n, item in enumerate(shown):
        if n:
            text.append("\n")
        if isinstance(item, str):
            text.append(item, "green" if item.startswith("✔") else "dim")
            continue
        issue = item
        done_ = issue.id in view.issues_done
        text.append("✔ " if done_ else "· ", "green" if done_ else "dim")
        text.append(neutralize(issue.id), "bold" if not done_ else "dim")
        text.append(f" {issue.severity.lower()} ", "italic")
        text.append(neutralize(issue.summary), "dim" if done_ else "")
    return text


class AgentPane(Vertical):
    """A bordered pane; its border title names the agent, its log follows the tail."""

    def __init__(self, view: AgentView, number: int, now: float) -> None:
        super().__init__(id=f"pane-{view.id}", classes=f"agent-pane -{view.state}")
        self.view = view
        self.number = number
        self._now = now
        self._styled_as: tuple[str, bool] = (view.state, False)
        self._issue_rows = MAX_ISSUE_ROWS  # the checklist's rows: a share of the pane's height
        self._issue_lines = -1
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
        yield PaneHead(head_parts(self.view, self._now), classes="pane-head")
        yield Static(issues_text(self.view, self._issue_rows), classes="pane-issues")
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
        # A layout pass only when the status line takes another number of lines.
        for head in self.query(PaneHead):  # none before compose ran
            head.show(head_parts(self.view, now))
        self._show_issues()

    def _show_issues(self) -> None:
        for issues in self.query(".pane-issues").results(Static):
            text = issues_text(self.view, self._issue_rows)
            lines = text.plain.count("\n") + 1
            issues.update(text, layout=False)
            if lines != self._issue_lines:
                # An exact height (its lines and the dashed rule): an auto height kept the
                # height of a longer list it showed before the pane's size was known.
                issues.styles.height = lines + 1
                self._issue_lines = lines

    def on_resize(self) -> None:
        """The focused pane's checklist takes at most about a third of the pane, so its log
        stays in view at 80x24 too."""
        heads = list(self.query(PaneHead))
        head = len(pack(heads[0].parts, self.content_size.width)) if heads else 1
        room = self.content_size.height - head - 1  # the checklist's dashed rule
        rows = max(2, min(MAX_ISSUE_ROWS, room // 3))
        if rows != self._issue_rows:
            self._issue_rows = rows
            self._show_issues()
