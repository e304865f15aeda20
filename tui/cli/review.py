"""``wavedeck review``: a wave's changes by agent with their issues, and the review's actions,
without the control room.

``wavedeck review --wave N [--json]`` prints each agent of the wave with its issues and outcome
lines, its files (what happened to each, stated plainly) and hunks (with the issue its agent was
working on when it wrote it), and the review so far (comments, findings, approvals, change
requests, reverted hunks). Read-only: it takes no lock.

``--comments FILE`` records one comment per ``path:line: text`` line (a bad line is an error
naming its line number; nothing is recorded then); ``--dismiss ID`` / ``--forward ID`` act on a
reviewer agent's finding; ``--approve AGENT`` approves an agent's changes; ``--send`` sends each
agent's open comments as one follow-up resuming its session and waits for the answers (exit 0
when every one succeeded, 1 otherwise). These take the repository's lock, like the control room.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from wavedeck.plan.safetext import neutralize
from wavedeck.plan.words import plural
from wavedeck.tui.cli.common import EXIT_CANNOT_START, fail, load_run_inputs, repo_problem, stopping

if TYPE_CHECKING:
    from wavedeck.agents.review.comments import CommentLine
    from wavedeck.agents.wave.supervisor import Supervisor

MODE_WORDS = {"100644": "file", "100755": "executable", "120000": "link", "160000": "submodule"}


def _file_line(item: dict[str, Any]) -> list[str]:
    letter = {"added": "A", "deleted": "D", "renamed": "R", "copied": "C"}.get(item["status"], "M")
    counts = "binary" if item["binary"] else f"+{item['added']} -{item['removed']}"
    notes = []
    if item["old_path"]:
        notes.append(f"{item['status']} from {item['old_path']}")
    if item["old_mode"] and item["new_mode"] and item["old_mode"] != item["new_mode"]:
        notes.append(f"mode {item['old_mode']} -> {item['new_mode']}")
    if item["standing"] != "owned":
        notes.append(
            f"{item['standing']}: {item['reason']}" if item["reason"] else item["standing"]
        )
    tail = f" ({'; '.join(notes)})" if notes else ""
    out = [f"  {letter} {item['path']} {counts}{tail}"]
    for hunk in item["hunks"]:
        issue = hunk["issue"]
        said = {
            "exact": f"while working on {', '.join(issue['issues'])}",
            "one-of": f"while working on one of {', '.join(issue['issues'])}",
            "after-reports": f"in run {issue['run'] + 1}, after its last progress line",
            "none": "no tool call of the agent wrote it",
            "unknown": "the preset's output does not say which issue",
        }[issue["kind"]]
        out.append(f"    {hunk['header']} {said}")
    return out


# Worktree mode, before the tests collect the agents' changes: what the review cannot show yet.
IN_WORKTREES = (
    "the agents' changes are still in their worktrees: running the tests brings them into your "
    "tree (wavedeck run --headless, or t in the control room); review them then"
)


def review_text(data: dict[str, Any]) -> str:
    """The text ``wavedeck review`` prints (neutralised: safe for a terminal)."""
    state = "committed" if data["committed"] else "open"
    files = [f for a in data["agents"] for f in a["files"]]
    added = sum(f["added"] for f in files)
    removed = sum(f["removed"] for f in files)
    lines = [
        f"wave {data['wave']} ({state}): {plural(len(files), 'file')} changed, +{added} -{removed}"
    ]
    if data["in_worktrees"]:
        lines.append(IN_WORKTREES)
    for agent in data["agents"]:
        if agent["agent"] is None and not agent["files"]:
            continue
        lines.append("")
        verdict = ""
        if agent["approved_by"]:
            how = "approved anyway" if agent["approved_anyway"] else "approved"
            verdict = f"; {how} by {agent['approved_by']}"
        elif agent["requests"]:
            answer = "waiting for its answer" if agent["waiting"] else "answered"
            verdict = (
                f"; changes requested in follow-up {agent['requests'][-1]['follow_up']}, {answer}"
            )
        who = agent["agent"] or "no agent's changes"
        lines.append(f"{who} {agent['title']} ({agent['state'] or 'pending'}){verdict}")
        for issue in agent["issues"]:
            mark = "done" if issue["done"] else "not reported done"
            said = f": {issue['outcome']}" if issue["outcome"] else ""
            lines.append(f"  {issue['severity']} {issue['id']} {mark}{said}")
        for item in agent["files"]:
            lines += _file_line(item)
    if data["comments"]:
        lines += ["", "comments:"]
        for c in data["comments"]:
            who = f"reviewer [{c['severity']}]" if c["author"] == "reviewer" else "you"
            state = "forwarded" if c["forwarded"] else c["status"]
            where = f"{c['path']}:{c['line']}" if c["line"] else c["path"]
            lines.append(f"  #{c['id']} {where} {who} ({state}, {c['agent'] or '-'}): {c['text']}")
    for revert in data["reverts"]:
        lines.append(f"reverted: {revert['path']} {revert['header']} ({revert['agent']})")
    return "\n".join(neutralize(line) for line in lines) + "\n"


def _read_comments(path: Path, as_json: bool) -> list[CommentLine]:
    from wavedeck.agents.review.comments import CommentsFileError, parse_comments

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot read the comments: {exc}", as_json=as_json)
    try:
        return parse_comments(text, str(path))
    except CommentsFileError as exc:
        fail(str(exc), as_json=as_json)


@click.command("review")
@click.argument("plan", required=False)
@click.option("--wave", "wave", type=int, required=True, help="The wave to review.")
@click.option("--json", "as_json", is_flag=True, help="The changes and the review as JSON.")
@click.option(
    "--comments",
    "comments_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Record the comments of FILE, one 'path:line: text' a line.",
)
@click.option("--send", is_flag=True, help="Send each agent's open comments as one follow-up.")
@click.option("--approve", multiple=True, metavar="AGENT", help="Approve AGENT's changes.")
@click.option("--dismiss", multiple=True, type=int, metavar="ID", help="Dismiss finding ID.")
@click.option("--forward", multiple=True, type=int, metavar="ID", help="Forward finding ID.")
@click.option(
    "--repo",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=".",
    help="The repository (default: the current folder).",
)
def review_cmd(
    plan: str | None,
    wave: int,
    as_json: bool,
    comments_file: Path | None,
    send: bool,
    approve: tuple[str, ...],
    dismiss: tuple[int, ...],
    forward: tuple[int, ...],
    repo: Path,
) -> None:
    """Show a wave's changes by agent with their issues; comment, approve, send follow-ups."""
    repo = repo.absolute()
    problem = repo_problem(repo)
    if problem is not None:
        fail(problem, as_json=as_json)
    from wavedeck.agents.git.errors import GitError
    from wavedeck.agents.wave.supervisor import Supervisor, SupervisorError

    config, parsed, plan_path = load_run_inputs(repo, plan, as_json)
    if wave not in [w.number for w in parsed.waves]:
        fail(f"the plan has no wave {wave}", as_json=as_json)
    comments = _read_comments(comments_file, as_json) if comments_file is not None else []
    try:
        sup = Supervisor(repo, parsed, config, plan_path=plan_path)
        sup.peek()
    except (SupervisorError, GitError, OSError) as exc:
        fail(str(exc), as_json=as_json)
    record = sup.wave_record(wave)
    if record is None or record.base_commit is None:
        fail(f"wave {wave} has not started: nothing to review", as_json=as_json)
    acting = bool(comments or send or approve or dismiss or forward)
    code = 0
    if acting:
        code = asyncio.run(
            _act(sup, wave, comments, str(comments_file), approve, dismiss, forward, send, as_json)
        )
        sup.peek()  # what the actions recorded
    _show(sup, wave, as_json)
    sys.exit(code)


def _show(sup: Supervisor, wave: int, as_json: bool) -> None:
    from wavedeck.agents.git.errors import GitError
    from wavedeck.agents.wave.headless_review import review_data, waiting_agents

    sup.ctx.restore_violations()  # who wrote a path another agent owns (read-only here)
    try:
        changes = sup.reviews.read_changes(wave)
    except GitError as exc:
        fail(str(exc), as_json=as_json)
    data = review_data(changes, sup.review_record(wave), waiting_agents(sup, wave))
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=True))
    else:
        click.echo(review_text(data), nl=False)


async def _act(
    sup: Supervisor,
    wave: int,
    comments: list[CommentLine],
    source: str,
    approve: tuple[str, ...],
    dismiss: tuple[int, ...],
    forward: tuple[int, ...],
    send: bool,
    as_json: bool,
) -> int:
    from wavedeck.agents.wave.headless import printer
    from wavedeck.agents.wave.headless_review import review_session
    from wavedeck.plan.errors import WavedeckError
    from wavedeck.tui.cli.run import HINTS

    # Events go to stderr: stdout holds the review (text or one JSON object).
    sink = printer(sys.stderr, False, HINTS)
    with stopping() as stopped:
        try:
            code = await review_session(
                sup, wave, sink, comments=comments, source=source, dismiss=dismiss,
                forward=forward, approve=approve, send=send, stop=stopped.stop,
            )  # fmt: skip
        except WavedeckError as exc:
            fail(str(exc), as_json=as_json)
    received = stopped.received
    if received:
        return 128 + received[0]
    return code if code is not None else EXIT_CANNOT_START


COMMANDS: list[click.Command] = [review_cmd]
