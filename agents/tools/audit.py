"""``wavedeck audit``: what a range of commits changed, held against one wave's ownership.

The same model as the watcher and the checkpoint gate (``wavedeck.plan.ownership``), after the accept
policy of ``wavedeck.toml``. Findings use the ``plan check`` format and these codes:

| code | level | meaning |
|---|---|---|
| ``audit-undeclared`` | error | changed, declared by no agent of the wave, attributable to one |
| ``audit-unowned`` | error | changed, attributable to no single agent (candidates listed) |
| ``audit-other-wave`` | error | changed, declared only by agents of other waves |
| ``audit-foreign`` | error | changed by an agent known to be another than its owner |
| ``audit-accepted`` | warning | not owned, but accepted by the policy, or by the operator in a checkpoint of the range (the reason recorded) |

Declared paths report nothing. A commit range does not say which agent wrote what, so
``audit-foreign`` only appears when the caller passes writers (``writers=``). The checkpoints in
the range say what their operator accepted: each ``Wavedeck-Accepted: <path> (<reason>)``
trailer of a commit whose ``Wavedeck-Wave`` is the audited wave makes that path
``audit-accepted`` (with the commit and the reason), as the checkpoint gate accepted it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from wavedeck.agents.git.cmd import run_git
from wavedeck.agents.git.errors import GitError
from wavedeck.agents.git.result import Result
from wavedeck.plan.errors import Finding, WavedeckError
from wavedeck.plan.models import Plan, Wave
from wavedeck.plan.ownership import Ownership, OwnershipIndex, apply_policy

GIT_TIMEOUT_S = 120.0
CODES = {
    "undeclared": "audit-undeclared",
    "unowned": "audit-unowned",
    "other-wave": "audit-other-wave",
    "foreign": "audit-foreign",
}


class AuditError(WavedeckError):
    """Bad input for an audit: an unknown wave, a range git cannot resolve, not a repository."""


@dataclass(frozen=True)
class ChangedPath:
    """One path a range of commits changed; a rename gives its new and its old path."""

    path: str
    status: str  # A, M, D, T, R, C (the letter of ``git diff --name-status``)
    old_path: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    change: ChangedPath
    ownership: Ownership
    accepted: bool
    why: str


@dataclass(frozen=True)
class AuditReport:
    wave: int
    rev_range: str
    entries: tuple[AuditEntry, ...]
    findings: tuple[Finding, ...]

    @property
    def clean(self) -> bool:
        """No changed path is outside the wave's ownership (after the policy)."""
        return all(e.accepted for e in self.entries)

    @property
    def accepted(self) -> dict[str, str]:
        """Paths accepted by the policy (not owned), with the reason: checkpoint trailers."""
        return {
            e.change.path: e.why for e in self.entries if e.accepted and e.ownership.kind != "owned"
        }


def _git(repo: Path, *args: str) -> Result:
    try:
        return run_git(
            repo,
            ["-c", "core.quotepath=false", *args],
            timeout_s=GIT_TIMEOUT_S,
            check=False,
        )
    except GitError as exc:
        raise AuditError(f"{repo}: git failed: {exc}") from None


def _verify(repo: Path, rev: str) -> str:
    # A revision starting with "-" would be read as an option: refuse it outright.
    if not rev or rev.startswith("-") or any(c in rev for c in "\0\n\r"):
        raise AuditError(f"not a revision: {rev!r}")
    done = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", rev + "^{commit}")
    if done.rc != 0:
        raise AuditError(f"{repo}: unknown revision {rev!r}")
    return done.out.decode().strip()


def parse_name_status(raw: bytes) -> list[ChangedPath]:
    """The records of ``git diff --name-status -z`` (renames and copies carry two paths)."""
    tokens = raw.decode("utf-8", "surrogateescape").split("\0")
    out: list[ChangedPath] = []
    i = 0
    while i < len(tokens) and tokens[i]:
        status = tokens[i][0]
        if status in "RC":
            out.append(ChangedPath(tokens[i + 2], status, old_path=tokens[i + 1]))
            i += 3
        else:
            out.append(ChangedPath(tokens[i + 1], status))
            i += 2
    return out


def _ends(root: Path, rev_range: str) -> tuple[str, str]:
    """The commits ``rev_range`` spans: ``(a, b)``, the changes are ``a..b`` (``a`` is "" for a
    root commit: everything ``b`` holds)."""
    if not root.is_dir():
        raise AuditError(f"{root}: not a folder")
    if _git(root, "rev-parse", "--git-dir").rc != 0:
        raise AuditError(f"{root}: not a git repository")
    if "..." in rev_range:
        left, right = rev_range.split("...", 1)
        base_done = _git(root, "merge-base", _verify(root, left), _verify(root, right))
        if base_done.rc != 0:
            raise AuditError(f"{root}: {left!r} and {right!r} have no merge base")
        a, b = base_done.out.decode().strip(), _verify(root, right)
    elif ".." in rev_range:
        left, right = rev_range.split("..", 1)
        a, b = _verify(root, left or "HEAD"), _verify(root, right or "HEAD")
    else:
        b = _verify(root, rev_range)
        parent = _git(root, "rev-parse", "--verify", "--quiet", b + "^")
        a = parent.out.decode().strip() if parent.rc == 0 else ""
    return a, b


def changed_paths(repo: Path | str, rev_range: str) -> list[ChangedPath]:
    """What ``rev_range`` changed: ``A..B``, ``A...B`` (from their merge base) or one commit."""
    root = Path(repo)
    a, b = _ends(root, rev_range)
    # -M: a rename is one record with its old and new paths, both of which the audit checks.
    common = ["--name-status", "-z", "-M", "--no-ext-diff", "--no-textconv"]
    if a:
        done = _git(root, "diff", *common, a, b, "--")
    else:  # a root commit: everything it holds is new
        done = _git(root, "diff-tree", "-r", "--root", "--no-commit-id", *common, b, "--")
    if done.rc != 0:
        raise AuditError(f"{root}: git diff failed: {done.err}")
    return parse_name_status(done.out)


_FIELD, _RECORD = "\x1f", "\x1e"


def accepted_in_range(repo: Path | str, rev_range: str, wave: int) -> dict[str, str]:
    """``Wavedeck-Accepted`` trailer values (``<path> (<reason>)``, as written) of the commits
    in ``rev_range`` whose ``Wavedeck-Wave`` is ``wave``, each with its commit: value -> sha."""
    root = Path(repo)
    a, b = _ends(root, rev_range)
    fmt = (
        f"%H{_FIELD}%(trailers:key=Wavedeck-Wave,valueonly,separator=%x2c)"
        f"{_FIELD}%(trailers:key=Wavedeck-Accepted,valueonly,separator=%x1f){_RECORD}"
    )
    span = [f"{a}..{b}"] if a else [b]
    done = _git(root, "log", f"--format={fmt}", "--no-show-signature", *span, "--")
    if done.rc != 0:
        raise AuditError(f"{root}: git log failed: {done.err}")
    out: dict[str, str] = {}
    for record in done.out.decode("utf-8", "surrogateescape").split(_RECORD):
        fields = record.strip("\n").split(_FIELD)
        if len(fields) < 3 or fields[1].strip() != str(wave):
            continue
        for value in fields[2:]:
            value = value.strip()
            if value:
                out.setdefault(value, fields[0])
    return out


def checkpoint_acceptance(path: str, trailers: Mapping[str, str]) -> tuple[str, str] | None:
    """``(commit, reason)`` when a ``Wavedeck-Accepted`` trailer names ``path`` exactly."""
    head = path + " ("
    for value, sha in trailers.items():
        if value.startswith(head) and value.endswith(")"):
            return sha, value[len(head) : -1]
    return None


def _wave(plan: Plan, number: int) -> Wave:
    try:
        return plan.wave(number)
    except KeyError:
        waves = ", ".join(str(w.number) for w in plan.waves) or "none"
        raise AuditError(f"the plan has no wave {number} (waves: {waves})") from None


def audit_changes(
    plan: Plan,
    wave: int,
    changes: Sequence[ChangedPath],
    accept: Sequence[str] = (),
    accept_undeclared: bool = False,
    writers: Mapping[str, str] | None = None,
    rev_range: str = "",
    checkpoint_accepted: Mapping[str, str] | None = None,
) -> AuditReport:
    """Classify each changed path for ``wave`` and turn what is not owned into findings.

    ``checkpoint_accepted``: the ``Wavedeck-Accepted`` trailers of the range's checkpoints
    (``accepted_in_range``): a path they name is accepted as the operator accepted it."""
    w = _wave(plan, wave)
    index = OwnershipIndex(plan, wave)
    agents = {a.id: a for a in w.agents}
    entries: list[AuditEntry] = []
    findings: list[Finding] = []
    seen: set[str] = set()
    for change in changes:
        # A rename also removes its old path: both are changes the wave made.
        touched = [(change.path, change)]
        if change.old_path:
            touched.append((change.old_path, ChangedPath(change.old_path, "D")))
        for path, record in touched:
            if path in seen:
                continue
            seen.add(path)
            own = index.classify(path, (writers or {}).get(path))
            ok, why = apply_policy(own, path, accept, accept_undeclared)
            if not ok and (found := checkpoint_acceptance(path, checkpoint_accepted or {})):
                ok, why = True, f"accepted in checkpoint {found[0][:12]}: {found[1]}"
            entries.append(AuditEntry(record, own, ok, why))
            if own.kind == "owned":
                continue
            attributed = agents.get(own.agent or "")
            line = (attributed.files_line or attributed.line) if attributed else w.line
            who = own.candidates or own.owners or ((own.agent,) if own.agent else ())
            if own.kind == "undeclared" and own.agent:
                who = (own.agent,)
            message = f"{path} ({record.status}) in wave {wave}: {own.describe()}"
            if own.kind == "undeclared" and attributed is not None:
                inside = path.startswith(attributed.package)
                where = "inside its package" if inside else "nearest its package"
                message += f" ({where} {attributed.package or '/'})"
            if ok:
                findings.append(
                    Finding(
                        "audit-accepted",
                        "warning",
                        line,
                        f"{message}; accepted: {why}",
                        wave=wave,
                        agents=tuple(who) or None,
                        path=path,
                    )
                )
            else:
                findings.append(
                    Finding(
                        CODES[own.kind],
                        "error",
                        line,
                        message,
                        wave=wave,
                        agents=tuple(who) or None,
                        path=path,
                    )
                )
    findings.sort(key=lambda f: (f.line, f.path or ""))
    return AuditReport(wave, rev_range, tuple(entries), tuple(findings))


def audit(
    plan: Plan,
    wave: int,
    repo: Path | str,
    rev_range: str,
    accept: Sequence[str] = (),
    accept_undeclared: bool = False,
) -> AuditReport:
    """Audit the commits of ``rev_range`` in ``repo`` against ``wave`` of ``plan``."""
    _wave(plan, wave)  # an unknown wave is bad input before any git runs
    changes = changed_paths(repo, rev_range)
    trailers = accepted_in_range(repo, rev_range, wave)
    return audit_changes(
        plan,
        wave,
        changes,
        accept,
        accept_undeclared,
        rev_range=rev_range,
        checkpoint_accepted=trailers,
    )
