"""``wavedeck.toml``'s settings as models: every section, key and documented default.

``Config`` is the whole file; reading it, with the ``WAVEDECK_`` environment variables laid over
it, is ``wavedeck.agents.configread.load_config``. ``substitute`` fills the placeholders of an
agent's command.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

PLACEHOLDERS = ("prompt_file", "agent_id", "wave", "package", "repo")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# The longest wait any setting may ask for: longer ones are mistakes, and a thread's wait past
# threading.TIMEOUT_MAX (or an infinite one) ends in an OverflowError traceback.
MAX_SECONDS = 30 * 24 * 3600.0


class _Section(BaseModel):
    # inf and nan are no durations: "Input should be a finite number" names the key.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*")
    @classmethod
    def _seconds_bounded(cls, value: object, info: ValidationInfo) -> object:
        name = info.field_name or ""
        if name.endswith("_s") and isinstance(value, float | int) and value > MAX_SECONDS:
            raise ValueError(f"must be at most {MAX_SECONDS:g} s (30 days), got {value:g}")
        return value


class RestartConfig(_Section):
    """``[agent.restart]``: relaunching an agent that failed (off by default: a failed agent
    waits for the operator)."""

    enabled: bool = Field(
        False, description="relaunch an agent that exits non-zero or is killed by a signal"
    )
    max_restarts: int = Field(
        3, ge=0, description="restarts in a row of runs shorter than min_run_s before giving up"
    )
    min_run_s: float = Field(
        10.0, ge=0, description="a run at least this long resets the backoff and the count"
    )
    backoff_initial_s: float = Field(1.0, ge=0, description="delay before the first restart")
    backoff_max_s: float = Field(30.0, ge=0, description="the delay doubles up to this")
    max_total_restarts: int = Field(
        10,
        ge=0,
        description="restarts of one agent in all, long runs included, before giving up (an "
        "agent that always fails after working a while is not relaunched for ever)",
    )

    @field_validator("backoff_max_s")
    @classmethod
    def _max_not_below_initial(cls, value: float, info: ValidationInfo) -> float:
        initial = info.data.get("backoff_initial_s")
        if isinstance(initial, float | int) and value < initial:
            raise ValueError(f"must be at least backoff_initial_s ({initial:g}), got {value:g}")
        return value


PresetName = Literal["claude", "codex", "gemini", "opencode", "aider", "qwen", "generic", "sim"]


class AgentConfig(_Section):
    """How each agent process is started."""

    preset: PresetName = Field(
        "generic",
        description="the agent CLI: its argv, prompt mode and output parser (agents/presets/); "
        "generic runs `command` and shows its output as it comes; sim is wavedeck's simulated "
        "agent (the demo, the tests): it runs only when named",
    )
    program: str | None = Field(
        None, description="the preset's executable (default: the preset's name on PATH)"
    )
    max_cost_usd: float | None = Field(
        None, gt=0, description="per agent: stop it once its reported cost exceeds this"
    )
    restrict_writes: bool = Field(
        True,
        description="presets that can (claude): allow file edits only on the agent's own files",
    )
    sandbox: Literal["landlock", "off"] = Field(
        "landlock",
        description="landlock: the kernel lets each agent write only its own files, a private "
        "TMPDIR, its CLI's state folders and /dev (Linux Landlock ABI >= 3; elsewhere wavedeck "
        "says so and the watcher alone judges); off: the watcher alone",
    )

    command: list[str] = Field(
        default_factory=list,
        description="argv of the agent; {prompt_file} {agent_id} {wave} {package} {repo} are "
        "substituted inside each argument. Never run by a shell. No default: without a preset "
        "or a command no agent is configured, and no wave starts",
    )
    prompt: Literal["stdin", "file", "both"] = Field(
        "file", description="how the prompt is given: on stdin, as {prompt_file}, or both"
    )
    prompt_template: str | None = Field(
        None, description="a file (relative to the repo) overriding the default prompt template"
    )
    env: dict[str, str] = Field(default_factory=dict, description="extra environment variables")
    stop_grace_s: float = Field(10.0, gt=0, description="seconds between SIGTERM and SIGKILL")
    extra_args: dict[str, list[str]] = Field(
        default_factory=dict,
        description="per-agent arguments appended to the command (placeholders substituted), "
        'e.g. {"w1-a2" = ["--touch-unowned", "x.py"]}',
    )
    restart: RestartConfig = Field(
        default_factory=RestartConfig, description="relaunching failed agents ([agent.restart])"
    )
    log_max_bytes: int = Field(
        64 * 1024 * 1024,
        ge=0,
        description="a local agent's log is rotated once it holds this many bytes (0: never)",
    )
    log_keep: int = Field(
        3, ge=1, description="rotated log files kept per local agent (older ones are deleted)"
    )
    log_min_free_bytes: int = Field(
        64 * 1024 * 1024,
        ge=0,
        description="a local agent's output is dropped (and the log says how much) while the "
        "disk has less free than this, so a flooding agent cannot fill it (0: write until full)",
    )

    @property
    def custom_command(self) -> bool:
        """``command`` is set: it replaces the preset's argv."""
        return "command" in self.model_fields_set

    @property
    def runs_command(self) -> bool:
        """``command`` is what runs: the generic preset, or ``command`` set explicitly (it then
        replaces the preset's argv, and with it the preset's sessions and follow-ups)."""
        return self.preset == "generic" or self.custom_command

    @property
    def chosen(self) -> bool:
        """An agent was chosen: a preset named (``sim`` included), or a ``command`` given.

        The generic preset without a command runs nothing: wavedeck never falls back to its
        simulated agent on a repository (the refusal ``no-agent``)."""
        return self.preset != "generic" or (self.custom_command and bool(self.command))

    @field_validator("command")
    @classmethod
    def _command_not_empty(cls, value: list[str]) -> list[str]:
        if not value or not value[0].strip():
            raise ValueError("the agent command needs at least a program name")
        return value

    @field_validator("extra_args")
    @classmethod
    def _extra_args_ids(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for agent in value:
            if not re.match(r"^w[1-9][0-9]*-a[1-9][0-9]*$", agent):
                raise ValueError(f"extra_args: {agent!r} is not an agent id like w1-a2")
        return value

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not ENV_NAME_RE.match(name):
                raise ValueError(f"invalid environment variable name {name!r}")
        return value


class NotifyConfig(_Section):
    """``[notify]``: how the control room calls you when an agent needs you, fails or is lost
    (never in headless runs)."""

    bell: bool = Field(True, description="ring the terminal bell")
    osc9: bool = Field(True, description="send an OSC 9 desktop notification escape")
    desktop: bool = Field(True, description="run notify-send when it is on PATH")


class TestsConfig(_Section):
    """Tests run between waves."""

    commands: list[str] | None = Field(
        None, description="shell commands run from the repo root; default: the plan's"
    )
    timeout_s: float = Field(1800.0, gt=0, description="a test command running longer fails")


class WatchConfig(_Section):
    """The workspace watcher."""

    ignore: list[str] = Field(
        default_factory=lambda: ["node_modules/**", "**/__pycache__/**", "*.pyc", "*.swp", "*~"],
        description="globs (repo-relative) the watcher ignores; .git/ and .wavedeck/ always are",
    )
    force_polling: bool = Field(False, description="poll instead of inotify")


class PolicyConfig(_Section):
    """What the ownership model accepts without asking."""

    accept: list[str] = Field(
        default_factory=list,
        description="globs of paths accepted automatically for any agent (tests, lockfiles); "
        "recorded in the checkpoint trailers",
    )
    accept_undeclared: bool = Field(
        False, description="accept paths attributable to exactly one agent of the wave"
    )


class FilterConfig(_Section):
    """``[git.filters.NAME]``: a git filter driver wavedeck's own git commands may run, with
    the programs written here (git's configuration for that name is never used: an agent can
    write it). Every other filter, textconv, diff or merge driver runs nothing."""

    clean: str = Field("", description="the clean command (git's filter.NAME.clean)")
    smudge: str = Field("", description="the smudge command (filter.NAME.smudge)")
    process: str = Field("", description="the long-running filter (filter.NAME.process)")
    required: bool = Field(False, description="a failing filter is an error (filter.NAME.required)")


class GitConfig(_Section):
    """How checkpoints are committed, and which programs wavedeck's git commands may run."""

    run_hooks: bool = Field(False, description="run the repo's commit hooks for checkpoints")
    hook_timeout_s: float = Field(60.0, gt=0)
    lock_wait_s: float = Field(10.0, ge=0, description="how long to wait for a held index.lock")
    sign: bool | None = Field(
        None,
        description="sign checkpoints; unset: as the repository's commit.gpgsign says (read "
        "when wavedeck starts)",
    )
    sign_program: str | None = Field(
        None,
        description="the program that signs checkpoints; unset: git's default for gpg.format "
        "(gpg, ssh-keygen, gpgsm). gpg.program in git's configuration is never used",
    )
    filters: dict[str, FilterConfig] = Field(
        default_factory=dict,
        description="filter drivers (git-lfs...) wavedeck's git commands may run, with their "
        "programs; every other driver a git configuration names runs nothing",
    )
    sign_timeout_s: float = Field(
        3.0,
        gt=0,
        description="how long signing a checkpoint may take before it is stopped and the "
        "checkpoint refused (a pinentry prompt nobody answers)",
    )
    write_wait_s: float = Field(
        5.0,
        ge=0,
        description="how long a checkpoint waits for a declared file still being written to "
        "settle before refusing it",
    )


class HostConfig(_Section):
    """An SSH host agents may run on."""

    address: str
    port: int = Field(22, ge=1, le=65535)
    user: str | None = None
    workdir: str = Field(description="the repository's clone on that host")
    known_hosts: str = "~/.ssh/known_hosts"
    client_keys: list[str] = Field(default_factory=list)
    agents: list[str] = Field(default_factory=list)
    packages: list[str] = Field(default_factory=list)
    connect_timeout_s: float = Field(10.0, gt=0)
    keepalive_interval_s: float = Field(5.0, gt=0)
    keepalive_count_max: int = Field(3, ge=1)
    # Added for remote agents (agents/remote/transport.py); all optional with defaults.
    login_timeout_s: float = Field(30.0, gt=0, description="seconds allowed for authentication")
    max_sessions_per_connection: int = Field(
        8,
        ge=1,
        le=64,
        description="channels per SSH connection before another is opened "
        "(OpenSSH MaxSessions defaults to 10)",
    )
    reconnect_base_s: float = Field(0.5, gt=0, description="first reconnect delay")
    reconnect_cap_s: float = Field(30.0, gt=0, description="longest reconnect delay")
    reconnect_attempts: int = Field(8, ge=1, description="connection attempts before unreachable")
    ssh_config: str | None = Field(
        None, description="ssh config file for aliases (default ~/.ssh/config; '' for none)"
    )


class ReviewConfig(_Section):
    """``[review]``: an optional reviewer agent: once a wave's agents have ended, one run per
    agent that changed files reads that agent's diff and issues and reports findings; it may
    read the repository, never write it (no writable path there under the kernel sandbox)."""

    preset: PresetName | None = Field(
        None, description="the reviewer's agent CLI (any preset); unset: no reviewer agent"
    )
    program: str | None = Field(
        None, description="its executable (default: [agent] program for the same preset)"
    )
    timeout_s: float = Field(900.0, gt=0, description="a reviewer running longer is stopped")
    max_cost_usd: float | None = Field(None, gt=0, description="per reviewer run (claude)")


class Config(BaseModel):
    """The whole ``wavedeck.toml`` (environment overrides are merged in by ``load_config``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    plan: str | None = Field(None, description="the plan file, relative to the repo")
    workspace: Literal["shared", "worktree"] = Field(
        "shared", description="agents share the working tree, or each gets a git worktree"
    )
    agent: AgentConfig = Field(default_factory=AgentConfig)
    tests: TestsConfig = Field(default_factory=TestsConfig)
    watch: WatchConfig = Field(default_factory=WatchConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    git: GitConfig = Field(default_factory=GitConfig)
    hosts: dict[str, HostConfig] = Field(default_factory=dict)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    keys: dict[str, str] = Field(
        default_factory=dict,
        description='the control room\'s keys, remapped: action name -> keys ([keys] start = "S"'
        "; several keys comma-separated). Checked against the action table when the control "
        "room opens (wavedeck.tui.keys)",
    )

    def login_of(self, host: str | None) -> str | None:
        """The ``[hosts.NAME]`` standing for ``host``'s login: the first name (sorted) with its
        address (any case), port and user, so that two names for one login share what is kept
        per login there (a CLI's state: its one-at-a-time starts). None (this machine) stays
        None. Two addresses of one machine (a name and its IP) cannot be told apart here."""
        if host is None or host not in self.hosts:
            return host
        cfg = self.hosts[host]
        login = (cfg.address.lower(), cfg.port, cfg.user)
        return min(
            name
            for name, other in self.hosts.items()
            if (other.address.lower(), other.port, other.user) == login
        )

    @field_validator("keys")
    @classmethod
    def _keys_given(cls, value: dict[str, str]) -> dict[str, str]:
        for action, keys in value.items():
            if not keys.strip():
                raise ValueError(f'{action}: no key given (write e.g. {action} = "S")')
        return value


def substitute(argv: list[str], values: dict[str, str]) -> list[str]:
    """Replace ``{name}`` placeholders inside each argument; other braces are left alone."""
    out = []
    for arg in argv:
        for name in PLACEHOLDERS:
            if name in values:
                arg = arg.replace("{" + name + "}", values[name])
        out.append(arg)
    return out
