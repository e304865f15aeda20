"""A Scout-and-Wave YAML manifest (``docs/IMPL/IMPL-<slug>.yaml``) read into the plan model.

Each SAW agent becomes a wavedeck agent ``w<wave>-a<n>`` (``n`` from its letter: ``A`` is 1,
``B`` 2, ``A2`` 27; the letter is kept as its label), with its files exactly as listed, its
``task`` as its brief (the body of its prompt) and as its one work item (``saw-task``, named by
its letter, depending on the agents its ``dependencies`` name, so the usual dependency checks
order the agents). ``file_ownership`` is held against the agents' lists (``ownership-mismatch``
for every disagreement) and marks ``action: new`` files as created. The quality gates become
the test commands (``wavedeck.plan.reading.saw.gates``). What SAW states that wavedeck does not
act on is kept as conventions for ``plan show``. Schema problems are findings with lines:
``saw-schema`` (an error where wavedeck acts on the field, else a warning) and
``saw-unknown-field`` (a warning).
"""

from __future__ import annotations

import re

from wavedeck.plan.errors import Finding, Level, PlanError
from wavedeck.plan.models import (
    Agent,
    Convention,
    ConventionKind,
    Issue,
    Plan,
    Source,
    Wave,
    agent_id,
)
from wavedeck.plan.paths import PathRejected, normalize_file
from wavedeck.plan.reading.build import common_folder
from wavedeck.plan.reading.saw import schema as sc
from wavedeck.plan.reading.saw.conventions import manifest_conventions
from wavedeck.plan.reading.saw.gates import gates_of, test_commands
from wavedeck.plan.reading.saw.validate import validate
from wavedeck.plan.reading.saw.yamltext import YamlDoc, load_yaml

# Fields wavedeck acts on: a problem there is an error, elsewhere a warning.
_ACTED = re.compile(
    r"^(?:waves(?:/\d+(?:/number|/agents(?:/\d+(?:/id|/task|/files|/dependencies)?(?:/\d+)?)?)?)?"
    r"|file_ownership(?:/\d+(?:/file|/agent|/wave|/action)?)?"
    r"|quality_gates(?:/gates(?:/\d+(?:/type|/command|/required)?)?)?"
    r"|test_command|lint_command)$"
)
# A top-level key that only ever names a manifest (for recognising one without a file name).
MANIFEST_KEYS = re.compile(r"^(?:feature_slug|file_ownership|quality_gates|verdict)\s*:", re.M)


def looks_like_manifest(text: str, source: str) -> bool:
    """Whether ``text`` is a SAW YAML manifest: a ``.yaml``/``.yml`` file, or (not named as
    Markdown) text with a top-level ``waves:`` key beside one only a manifest has, and no
    Markdown heading or code fence (a Markdown plan may quote a manifest)."""
    name = source.lower()
    if name.endswith((".yaml", ".yml")):
        return True
    if name.endswith((".md", ".markdown", ".txt")) or re.search(r"^(?:#{2,6} |```)", text, re.M):
        return False
    return re.search(r"^waves\s*:", text, re.M) is not None and bool(MANIFEST_KEYS.search(text))


def agent_number(saw_id: str) -> int:
    """``A`` -> 1, ``Z`` -> 26, ``A2`` -> 27: a SAW id's place, generation by generation."""
    letter = ord(saw_id[0].upper()) - ord("A") + 1
    generation = int(saw_id[1:]) if saw_id[1:].isdigit() else 1
    return letter + 26 * (generation - 1)


def _where(path: sc.Path) -> str:
    return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path).replace(".[", "[")


class _Read:
    def __init__(self, doc: YamlDoc, manifest: sc.Manifest, source: str, lines: int) -> None:
        self.doc = doc
        self.m = manifest
        self.source = source
        self.line_count = max(lines, 1)
        self.findings: list[Finding] = []
        self.conventions: list[Convention] = []

    def line(self, path: sc.Path) -> int:
        return min(self.doc.line(path), self.line_count)

    def raw(self, path: sc.Path) -> object:
        """The value at ``path`` as the document wrote it (``None`` if there is none)."""
        value: object = self.doc.data
        for key in path:
            try:
                value = value[key]  # type: ignore[index]
            except (KeyError, IndexError, TypeError):
                return None
        return value

    def problems(self, problems: list[sc.Problem]) -> None:
        for p in problems:
            acted = _ACTED.match("/".join(str(x) for x in p.path)) is not None
            level: Level = "error" if acted and p.kind != "unknown" else "warning"
            code = "saw-unknown-field" if p.kind == "unknown" else "saw-schema"
            what = _where(p.path) or "the manifest"
            self.findings.append(Finding(code, level, self.line(p.path), f"{what}: {p.message}"))
        for path, key, first, second in self.doc.duplicates:
            where = _where((*path, key))
            acted = _ACTED.match("/".join(str(x) for x in (*path, key))) is not None
            message = f"{where} is given twice (lines {first}, {second}); the last one is read"
            level = "error" if acted else "warning"
            self.findings.append(
                Finding("saw-schema", level, min(second, self.line_count), message)
            )

    def convention(self, kind: ConventionKind, path: sc.Path, detail: str) -> None:
        self.conventions.append(Convention(kind=kind, line=self.line(path), detail=detail))

    # -- agents -------------------------------------------------------------------------------

    def agent(self, wave: sc.Wave, wi: int, ai: int, a: sc.Agent, number: int) -> Agent:
        at = ("waves", wi, "agents", ai)
        files: list[str] = []
        paths: list[str] = []
        bad: list[tuple[str, str]] = []
        for raw in a.files:
            try:
                path = normalize_file("", raw)
            except PathRejected as exc:
                bad.append((exc.raw, exc.reason))
                continue
            files.append(raw)
            paths.append(path)
        summary = _summary(a.task)
        shown = a.id or str(self.raw((*at, "id")) or "?")  # an invalid id is shown as written
        title = f"Agent {shown}: {summary}" if summary else f"Agent {shown}"
        aid = agent_id(wave.number, number)
        task = Issue(
            id=a.id or f"{aid}-1",
            order=1,
            severity="UNSET",
            summary=summary,
            depends_on=tuple(dict.fromkeys(d.strip() for d in a.dependencies if d.strip())),
            line=self.line(at),
            kind="saw-task",
        )
        files_line = self.line((*at, "files")) if a.files else None
        return Agent(
            id=aid,
            number=number,
            wave=wave.number,
            title=title,
            package=common_folder(paths),
            files=tuple(files),
            paths=tuple(paths),
            issues=(task,),
            line=self.line(at),
            files_line=files_line,
            bad_paths=tuple(bad),
            text=a.task,
            source=Source(line=self.line(at), how="saw-manifest", text=f"id: {a.id}"),
            label=a.id,
            brief=a.task.strip(),
        )

    def waves(self) -> tuple[Wave, ...]:
        out: list[Wave] = []
        taken: dict[int, set[int]] = {}
        seen: dict[str, int] = {}
        for wi, w in enumerate(self.m.waves):
            agents: list[Agent] = []
            numbers = taken.setdefault(w.number, set())
            for ai, a in enumerate(w.agents):
                number = agent_number(a.id) if a.id else max(numbers, default=0) + 1
                if number in numbers:  # two agents, one id: never run as one
                    number = max(numbers) + 1
                numbers.add(number)
                agent = self.agent(w, wi, ai, a, number)
                key = f"{w.number}/{a.id}"
                if a.id and key in seen:
                    message = (
                        f"agent {a.id} appears twice in wave {w.number} (lines {seen[key]}, "
                        f"{agent.line}); the second is read as {agent.id}"
                    )
                    self.findings.append(
                        Finding(
                            "duplicate-issue", "error", agent.line, message, w.number, (agent.id,)
                        )
                    )
                seen.setdefault(key, agent.line)
                agents.append(agent)
            at = ("waves", wi)
            if w.type == "integration":
                self.convention(
                    "wave-type",
                    (*at, "type"),
                    f"wave {w.number} is an integration "
                    "wave (SAW runs it on the main branch; wavedeck runs it as any wave)",
                )
            if w.agent_launch_order:
                order = ", ".join(w.agent_launch_order)
                self.convention(
                    "launch-order",
                    (*at, "agent_launch_order"),
                    f"wave {w.number} launch order {order} (advisory; all start together)",
                )
            if w.base_commit:
                self.convention(
                    "record", (*at, "base_commit"), f"wave {w.number} base commit {w.base_commit}"
                )
            for ai, a in enumerate(w.agents):
                if a.model:
                    self.convention(
                        "agent-model",
                        (*at, "agents", ai, "model"),
                        f"agent {a.id} asks for model {a.model} ([agent] settings choose it)",
                    )
            out.append(
                Wave(
                    number=w.number,
                    title="integration" if w.type == "integration" else "",
                    agents=tuple(agents),
                    line=self.line(at),
                    source=Source(
                        line=self.line(at), how="saw-manifest", text=f"number: {w.number}"
                    ),
                )
            )
        return tuple(out)

    # -- file ownership -----------------------------------------------------------------------

    def ownership(self, waves: tuple[Wave, ...]) -> tuple[Wave, ...]:
        """Hold ``file_ownership`` against the agents' own lists; mark ``action: new`` files."""
        if not self.m.file_ownership:
            return waves
        by_key = {(w.number, a.label): a for w in waves for a in w.agents}
        owned: dict[tuple[int, str], set[str]] = {}
        creates: dict[tuple[int, str], list[str]] = {}
        for i, entry in enumerate(self.m.file_ownership):
            at = ("file_ownership", i)
            try:
                path = normalize_file("", entry.file)
            except PathRejected as exc:
                self._mismatch(at, f"file_ownership[{i}]: {entry.file!r} {exc.reason}", (), None)
                continue
            key = (entry.wave, entry.agent)
            owned.setdefault(key, set()).add(path)
            agent = by_key.get(key)
            if agent is None:
                self._mismatch(
                    at,
                    f"{path}: file_ownership gives it to agent {entry.agent} of wave "
                    f"{entry.wave}, which that wave does not have",
                    (),
                    path,
                )
            elif path not in agent.paths:
                self._mismatch(
                    at,
                    f"{path}: file_ownership gives it to agent {entry.agent} ({agent.id}), but "
                    f"the agent's files do not list it (line {agent.files_line or agent.line})",
                    (agent.id,),
                    path,
                )
            elif entry.action == "new":
                creates.setdefault(key, []).append(path)
        out = []
        for w in waves:
            agents = []
            for a in w.agents:
                for path in a.paths:
                    if path not in owned.get((w.number, a.label), set()):
                        others = [f"{k[1]} (wave {k[0]})" for k, v in owned.items() if path in v]
                        given = f"gives it to {', '.join(others)}" if others else "does not list it"
                        self._mismatch(
                            None,
                            f"{path}: agent {a.label} ({a.id}) lists it, but file_ownership "
                            f"{given}",
                            (a.id,),
                            path,
                            line=a.files_line or a.line,
                        )
                new = tuple(creates.get((w.number, a.label), ()))
                agents.append(a.model_copy(update={"creates": new}) if new else a)
            out.append(w.model_copy(update={"agents": tuple(agents)}))
        return tuple(out)

    def _mismatch(
        self,
        at: sc.Path | None,
        message: str,
        agents: tuple[str, ...],
        path: str | None,
        line: int | None = None,
    ) -> None:
        where = line if line is not None else self.line(at or ())
        self.findings.append(
            Finding("ownership-mismatch", "error", where, message, agents=agents, path=path)
        )


def _summary(task: str) -> str:
    """A task's first line of text, without Markdown heading marks, for titles and summaries."""
    for raw in task.split("\n"):
        text = re.sub(r"\*\*|__|`", "", raw.strip().lstrip("#")).strip()
        if text:
            return text if len(text) <= 80 else text[:79] + "…"
    return ""


def read_manifest(text: str, source: str = "") -> tuple[Plan, list[Finding]]:
    """A SAW YAML manifest as a plan and its findings; ``PlanError`` when it is not YAML, not a
    manifest at all, or holds no wave with an agent."""
    doc = load_yaml(text, source)
    if not isinstance(doc.data, dict):
        raise PlanError(
            "a Scout-and-Wave manifest is a YAML mapping (title, feature_slug, waves, …)",
            line=1,
            source=source,
        )
    manifest, problems = validate(doc.data)
    read = _Read(doc, manifest, source, text.count("\n") + 1)
    read.problems(problems)
    waves = read.ownership(read.waves())
    if not any(w.agents for w in waves):
        raise PlanError(
            "no waves with agents found in this Scout-and-Wave manifest (expected "
            "'waves: [{number: 1, agents: [{id: A, task: ..., files: [...]}]}]')",
            line=read.line(("waves",)),
            source=source,
        )
    conventions, found = manifest_conventions(manifest, read.line)
    read.findings += found
    gates = gates_of(
        manifest.quality_gates, manifest.test_command, manifest.lint_command, read.line
    )
    plan = Plan(
        title=manifest.title or manifest.feature_slug,
        source=source,
        waves=waves,
        test_commands=test_commands(gates),
        strategy=(manifest.suitability_assessment or manifest.feature or "").strip(),
        line_count=read.line_count,
        format="saw-yaml",
        gates=tuple(gates),
        conventions=tuple(sorted(read.conventions + conventions, key=lambda c: c.line)),
    )
    return plan, sorted(read.findings, key=lambda f: f.line)
