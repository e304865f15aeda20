"""``wavedeck hosts check``: is each configured SSH host ready to run agents?

For each host in ``wavedeck.toml`` it checks, in order (a failure stops that host's checks):
reachability, the host key (verified against known_hosts, never added), authentication, the
clone (``workdir`` is a git work tree), and the tools the agents need on the host: the agent
command's ``argv[0]``, ``git``, ``setsid``, ``tail`` (GNU, for ``--pid``), and ``zstd`` and ``gzip``
(optional: a long log backlog comes compressed with either, else plain).
One connection attempt per host, no retries: this is a diagnosis, not a run.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any

from wavedeck.agents.config import Config, HostConfig
from wavedeck.agents.remote.commands import quote, sh_c, workdir_word
from wavedeck.agents.remote.transport import (
    AuthFailed,
    HostKeyChanged,
    HostKeyError,
    HostTransport,
    TransportError,
)

STEPS = ("reachable", "host key", "auth", "clone", "tools")
REQUIRED_TOOLS = ("git", "setsid", "tail", "sed", "cut")


@dataclass
class HostReport:
    """The outcome for one host: each step ``ok``, ``FAIL`` or ``-`` (not reached)."""

    host: str
    address: str
    steps: dict[str, str] = field(default_factory=lambda: dict.fromkeys(STEPS, "-"))
    problems: list[str] = field(default_factory=list)
    missing_tools: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def _tools_script(workdir: str, program: str) -> str:
    names = [program, *REQUIRED_TOOLS]
    checks = "".join(
        f"command -v {quote(n)} >/dev/null 2>&1 || echo missing {quote(n)}\n" for n in names
    )
    return (
        f"cd {workdir_word(workdir)} 2>/dev/null || {{ echo noworkdir; exit 0; }}\n"
        "git rev-parse --is-inside-work-tree >/dev/null 2>&1 || echo noclone\n"
        + checks
        + "tail --version 2>/dev/null | grep -q GNU || echo missing 'GNU tail'\n"
        + "command -v zstd >/dev/null 2>&1 || echo optional zstd\n"
        + "command -v gzip >/dev/null 2>&1 || echo optional gzip\n"
    )


async def check_host(name: str, cfg: HostConfig, program: str) -> HostReport:
    """Run every check for one host; never raises for host problems."""
    report = HostReport(name, f"{cfg.user + '@' if cfg.user else ''}{cfg.address}:{cfg.port}")
    quick = cfg.model_copy(update={"reconnect_attempts": 1})
    transport = HostTransport(name, quick)
    try:
        await transport.connect_once()
    except HostKeyError as exc:
        report.steps["reachable"] = "ok"
        report.steps["host key"] = "FAIL"
        kind = "changed" if isinstance(exc, HostKeyChanged) else "unknown"
        report.problems.append(f"host key {kind}: {exc}")
        return report
    except AuthFailed as exc:
        report.steps.update({"reachable": "ok", "host key": "ok", "auth": "FAIL"})
        report.problems.append(str(exc))
        return report
    except TransportError as exc:
        report.steps["reachable"] = "FAIL"
        report.problems.append(str(exc))
        return report
    finally:
        await transport.close()
    report.steps.update({"reachable": "ok", "host key": "ok", "auth": "ok"})
    transport = HostTransport(name, quick)
    try:
        res = await transport.run(sh_c(_tools_script(cfg.workdir, program)), timeout=30)
    except TransportError as exc:
        report.steps["clone"] = "FAIL"
        report.problems.append(str(exc))
        return report
    finally:
        await transport.close()
    lines = res.text.splitlines()
    if "noworkdir" in lines or "noclone" in lines:
        report.steps["clone"] = "FAIL"
        what = "does not exist" if "noworkdir" in lines else "is not a git work tree"
        report.problems.append(f"workdir {cfg.workdir} {what} (clone the repository there)")
        return report
    report.steps["clone"] = "ok"
    report.missing_tools = [ln.split(" ", 1)[1] for ln in lines if ln.startswith("missing ")]
    report.steps["tools"] = "FAIL" if report.missing_tools else "ok"
    if report.missing_tools:
        report.problems.append("missing on the host: " + ", ".join(report.missing_tools))
    return report


async def check_hosts(config: Config) -> list[HostReport]:
    """Check every host of ``config`` concurrently."""
    from wavedeck.agents.presets import agent_program

    program = agent_program(config)  # the preset's program, or the command's
    return list(
        await asyncio.gather(*(check_host(n, h, program) for n, h in sorted(config.hosts.items())))
    )
