"""The simulated agent (``wavedeck sim-agent``): realistic progress, real edits, and misbehaviour.

It reads a prompt (``--prompt FILE``, or stdin with ``--read-stdin``) and acts on the machine
block the supervisor writes into it: lines of the form ``wavedeck-<key>: <value>``, anywhere in
the prompt, leading spaces allowed::

    wavedeck-agent: w1-a2                     the agent id (default: --id, else "sim")
    wavedeck-repo: /abs/path/to/repo          where to edit (default: the working directory)
    wavedeck-package: packages/headless       informational
    wavedeck-file: packages/headless/x.py     one per file it may change, repo-relative
    wavedeck-issue: headless-01 HIGH summary  one per issue, in order: id, severity, summary

For each issue it "reads" and "analyses" (numbered progress lines ``[0001] …``), appends one
visible line tagged with the issue id to one of its files (the one the summary names, else the
next in turn), in the file's comment syntax, and prints ``wavedeck: done <issue-id> <outcome>``.
Paths that are absolute or leave the repository are refused, never written.

Misbehaviour for tests and demos: ``--touch-unowned PATH``, ``--fail N``, ``--hang``,
``--flood LINES`` (``flood <id> 0000001`` …, paced by ``--flood-rate``; with ``--flood-after
PATH``, once every such file exists: a test orders its flood after other agents' ends),
``--flood-each LINES`` (that many before each issue: progress lines spread through a flood),
``--line-bytes N``,
``--ignore-term``, ``--spawn-bg``, ``--spawn-setsid``, ``--fork-storm N``, ``--exit-signal NAME``.
Every line is flushed at once; a failing write (disk full) is counted, never fatal (E4).

Imports only the standard library, so it starts fast.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from wavedeck.plan.words import plural

FLOOD_AFTER_S = 120.0  # how long --flood-after waits for its files

COMMENT = {
    ".py": ("# ", ""),
    ".sh": ("# ", ""),
    ".rb": ("# ", ""),
    ".toml": ("# ", ""),
    ".yaml": ("# ", ""),
    ".yml": ("# ", ""),
    ".txt": ("# ", ""),
    ".css": ("/* ", " */"),
    ".scss": ("// ", ""),
    ".md": ("<!-- ", " -->"),
    ".html": ("<!-- ", " -->"),
    ".xml": ("<!-- ", " -->"),
    ".sql": ("-- ", ""),
}
SLASH_COMMENT_EXTS = (".js", ".ts", ".tsx", ".jsx", ".dart", ".go", ".rs", ".java", ".c", ".h")
STEPS = ("reading", "analysing", "editing", "checking")


@dataclass
class Prompt:
    """What the simulated agent takes from its prompt's ``wavedeck-*`` lines."""

    agent: str | None = None
    repo: str | None = None
    package: str | None = None
    files: list[str] = field(default_factory=list)
    issues: list[tuple[str, str, str]] = field(default_factory=list)  # (id, severity, summary)


def parse_prompt(text: str) -> Prompt:
    prompt = Prompt()
    for raw in text.splitlines():
        line = raw.strip()
        if not line.startswith("wavedeck-") or ":" not in line:
            continue
        key, _, value = line.partition(":")
        value = value.strip()
        key = key[len("wavedeck-") :]
        if key == "agent":
            prompt.agent = value
        elif key == "repo":
            prompt.repo = value
        elif key == "package":
            prompt.package = value
        elif key == "file" and value:
            prompt.files.append(value)
        elif key == "issue" and value:
            parts = value.split(None, 2)
            parts += [""] * (3 - len(parts))
            prompt.issues.append((parts[0], parts[1], parts[2]))
    return prompt


def comment_for(path: str, text: str) -> str:
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in SLASH_COMMENT_EXTS:
        return f"// {text}"
    start, end = COMMENT.get(suffix, ("# ", ""))
    return f"{start}{text}{end}"


def safe_target(repo: Path, relative: str) -> Path | None:
    """``repo/relative`` if it stays inside the repository (and out of ``.git``), else None."""
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or "\\" in relative or not pure.parts:
        return None
    if pure.parts[0].lower() == ".git":
        return None
    return repo / pure


class Agent:
    """One simulated run: prints, edits, misbehaves on request."""

    def __init__(self, options: argparse.Namespace, prompt: Prompt) -> None:
        self.options = options
        self.prompt = prompt
        self.id = prompt.agent or options.id or "sim"
        self.repo = Path(prompt.repo or os.getcwd())
        self.step = 0
        self.write_errors = 0
        self.turn = 0  # next file in turn for issues that name none
        self.rng = random.Random(options.seed)

    def say(self, text: str) -> None:
        try:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
        except OSError:
            self.write_errors += 1  # log unwritable (disk full): keep working (E4)

    def progress(self, text: str) -> None:
        self.step += 1
        self.say(f"[{self.step:04d}] {text}")
        self.pause()

    def pause(self) -> None:
        speed = self.options.speed
        if speed > 0:
            time.sleep(self.rng.uniform(0.3, 1.0) * speed)

    def edit(self, relative: str, issue: str, outcome: str) -> bool:
        target = safe_target(self.repo, relative)
        if target is None:
            self.say(f"refusing to write {relative!r}: outside the repository")
            return False
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "a", encoding="utf-8") as handle:
                handle.write(comment_for(relative, f"wavedeck-sim: {issue} {outcome}") + "\n")
        except OSError as error:
            self.say(f"cannot write {relative}: {error.strerror}")
            return False
        return True

    def pick_file(self, summary: str) -> str | None:
        """The file the summary names, else the next one in turn."""
        files = self.prompt.files
        if not files:
            return None
        for path in files:
            name = PurePosixPath(path).name
            if name and name in summary:
                return path
        path = files[self.turn % len(files)]
        self.turn += 1
        return path

    def flood(self, count: int, rate: float) -> None:
        """Print ``count`` numbered lines, as fast as possible or at ``rate`` lines a second."""
        # Many lines per write when unpaced: as fast as Python goes, whole lines, in order.
        per_write = 2000 if rate <= 0 else max(1, int(rate / 100))
        began = time.monotonic()
        batch: list[str] = []
        for number in range(1, count + 1):
            batch.append(f"flood {self.id} {number:07d}\n")
            if len(batch) == per_write or number == count:
                self._write_block("".join(batch))
                batch.clear()
                if rate > 0:
                    ahead = began + number / rate - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)

    def wait_for_files(self, paths: list[str]) -> None:
        """Until every path exists (files another program writes: nothing to await but them),
        for at most ``FLOOD_AFTER_S``; then goes on, saying which did not appear."""
        deadline = time.monotonic() + FLOOD_AFTER_S
        missing = list(paths)
        while missing and time.monotonic() < deadline:
            missing = [path for path in missing if not os.path.exists(path)]
            if missing:
                time.sleep(0.05)
        if missing:
            self.say(f"flooding without waiting longer for {', '.join(missing)}")

    def _write_block(self, text: str) -> None:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except OSError:
            self.write_errors += 1

    def spawn_background(self) -> None:
        for number in range(2):
            # Inherits stdout (the log): the B8 case of a grandchild holding the output open.
            # The agent id in its argv lets tests find it (pgrep -f).
            code = "import time; time.sleep(3600)"
            label = f"sim-bg-{self.id}-{number}"
            subprocess.Popen([sys.executable, "-c", code, label], stdin=subprocess.DEVNULL)
        self.say("started 2 background helpers")

    def spawn_escapee(self) -> None:
        # Leaves the process group with setsid (B4): a group signal cannot reach it.
        code = "import time; time.sleep(3600)"
        subprocess.Popen(
            [sys.executable, "-c", code, f"sim-setsid-{self.id}"],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.say("started 1 helper in its own session")

    def fork_storm(self, count: int) -> None:
        """Fork ``count`` sleeping children (B15): plain forks, so each stays in the agent's
        process group with the agent's command line (its token; tests find them like ``pgrep -f``)
        and inherits its signal dispositions (with ``--ignore-term`` they ignore SIGTERM too)."""
        # say() flushes every line, so no child inherits (and could repeat) unwritten output.
        self.say(f"fork storm: forking {count}")
        forked = 0
        for _ in range(count):
            try:
                pid = os.fork()
            except OSError as error:  # EAGAIN: RLIMIT_NPROC, a pids cgroup or pid_max
                self.say(f"fork storm: fork failed after {forked}: {error.strerror}")
                break
            if pid == 0:
                _sleep_forever()
            forked += 1
        self.say(f"fork storm: {forked} sleepers")

    def touch_unowned(self) -> None:
        for relative in self.options.touch_unowned:
            if self.edit(relative, "unowned", "touched"):
                self.progress(f"wrote {relative} (not in my files)")

    def run(self) -> int:
        options = self.options
        self.say(f"sim-agent {self.id} started pid={os.getpid()}")
        if options.spawn_bg:
            self.spawn_background()
        if options.spawn_setsid:
            self.spawn_escapee()
        if options.fork_storm:
            self.fork_storm(options.fork_storm)
        if options.line_bytes:
            self._write_block("L" * max(options.line_bytes - 1, 0) + "\n")
        if options.flood:
            self.wait_for_files(options.flood_after)
            self.flood(options.flood, options.flood_rate)
        issues = self.prompt.issues
        if not issues:
            self.progress("no issues in my prompt")
        for index, (issue, severity, summary) in enumerate(issues):
            if options.flood_each:
                self.flood(options.flood_each, options.flood_rate)
            path = self.pick_file(summary)
            self.progress(f"reading {path or self.prompt.package or '.'}")
            self.progress(f"analysing {issue} ({severity}): {summary[:60]}")
            outcome = "fixed"
            if path is not None:
                self.progress(f"editing {path}")
                if not self.edit(path, issue, outcome):
                    outcome = "could not edit"
            self.progress(f"checking {issue}")
            self.say(f"wavedeck: done {issue} {outcome}")
            if index == 0:
                self.misbehave_midway()
        if not issues:
            self.misbehave_midway()
        if options.fail is not None:
            self.say(f"sim-agent {self.id} failing with exit code {options.fail}")
            return int(options.fail)
        if options.exit_signal:
            name = options.exit_signal.upper()
            name = name if name.startswith("SIG") else f"SIG{name}"
            self.say(f"sim-agent {self.id} killing itself with {name}")
            os.kill(os.getpid(), getattr(signal, name))
            time.sleep(5)  # the signal may be caught or ignored; then fall through
        if options.hang:
            self.say(f"sim-agent {self.id} hanging")
            while True:
                time.sleep(3600)
        self.say(f"sim-agent {self.id} finished: {plural(len(issues), 'issue')}")
        return 0

    def misbehave_midway(self) -> None:
        """Things done while still running, after some real work."""
        self.touch_unowned()


def _sleep_forever() -> None:
    """A fork-storm child: sleep until signalled, and never return into the agent's code."""
    try:
        while True:
            time.sleep(3600)
    finally:
        os._exit(0)  # no atexit handlers, no flushing of the parent's buffers


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wavedeck sim-agent",
        description="A simulated coding agent: reads its prompt, prints progress, edits its files.",
    )
    parser.add_argument("--prompt", metavar="FILE", help="the prompt file to read")
    parser.add_argument("--read-stdin", action="store_true", help="read the prompt from stdin")
    parser.add_argument("--id", help="agent id when the prompt names none")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="delay multiplier (0 = no delays; default 1)"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for the delays")
    parser.add_argument(
        "--touch-unowned",
        action="append",
        default=[],
        metavar="PATH",
        help="also write PATH (repo-relative) mid-run",
    )
    parser.add_argument("--fail", type=int, metavar="N", help="exit with code N after some work")
    parser.add_argument("--hang", action="store_true", help="never exit")
    parser.add_argument("--flood", type=int, default=0, metavar="LINES", help="print LINES lines")
    parser.add_argument(
        "--flood-rate", type=float, default=0, metavar="N", help="flood at N lines/s (0: max)"
    )
    parser.add_argument(
        "--flood-after",
        action="append",
        default=[],
        metavar="PATH",
        help=f"flood once PATH exists (repeatable; at most {FLOOD_AFTER_S:g} s)",
    )
    parser.add_argument(
        "--flood-each", type=int, default=0, metavar="LINES", help="print LINES before each issue"
    )
    parser.add_argument("--line-bytes", type=int, default=0, metavar="N", help="one N-byte line")
    parser.add_argument("--ignore-term", action="store_true", help="ignore SIGTERM")
    parser.add_argument("--spawn-bg", action="store_true", help="leave sleeping grandchildren")
    parser.add_argument(
        "--spawn-setsid", action="store_true", help="leave a grandchild in its own session"
    )
    parser.add_argument(
        "--fork-storm",
        type=int,
        default=0,
        metavar="N",
        help="fork N sleeping children in the agent's process group",
    )
    parser.add_argument("--exit-signal", metavar="NAME", help="kill itself with signal NAME")
    return parser


def main(argv: list[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    if options.fork_storm < 0:
        sys.stderr.write("wavedeck sim-agent: --fork-storm needs a count of 0 or more\n")
        return 2
    if options.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if options.exit_signal:
        name = options.exit_signal.upper()
        if not hasattr(signal, name if name.startswith("SIG") else f"SIG{name}"):
            sys.stderr.write(f"wavedeck sim-agent: unknown signal {options.exit_signal!r}\n")
            return 2
    text = ""
    if options.prompt:
        try:
            text = Path(options.prompt).read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            sys.stderr.write(
                f"wavedeck sim-agent: cannot read {options.prompt}: {error.strerror}\n"
            )
            return 2
    elif options.read_stdin:
        text = sys.stdin.read()  # /dev/null gives EOF at once (A21)
    return Agent(options, parse_prompt(text)).run()


if __name__ == "__main__":
    sys.exit(main())
