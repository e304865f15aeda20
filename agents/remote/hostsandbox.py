"""Landlock on an SSH host: what confines a remote agent there, or why nothing can.

``HostSandbox`` uploads the helper the local wrapper loads (``wavedeck_landlock.py``) once per
host, to ``<workdir>/.wavedeck/bin/``, with the modules it loads beside itself
(``writepolicy.py``), and asks the host's kernel for its Landlock ABI once (the
answer is kept). A host with Python 3 and ABI >= 3 confines an agent with the prefix
``python3 -I <helper> --spec JSON --``; any other runs it unconfined, and the agent's
``SandboxStatus`` says why (the pane shows the host unsandboxed; the watcher judges its writes).
"""

from __future__ import annotations

from wavedeck.agents.events import SandboxStatus
from wavedeck.agents.remote.commands import RemotePaths, sh_c
from wavedeck.agents.remote.transport import HostTransport
from wavedeck.agents.runtypes import SandboxSpec

__all__ = ["MIN_SANDBOX_ABI", "SANDBOX_SCRIPT", "HostSandbox"]

SANDBOX_SCRIPT = "wavedeck_landlock.py"
MIN_SANDBOX_ABI = 3  # as agents/local/landlock.py's MIN_ABI (the runners are siblings)


def _put(name: str) -> str:
    """Shell lines writing stdin whole to ``$root/bin/NAME`` (a temporary file renamed over it),
    else ``exit 3``."""
    return (
        f'mkdir -p "$root/bin" && cat > "$root/bin/{name}.tmp" '
        f'&& mv -f "$root/bin/{name}.tmp" "$root/bin/{name}" || exit 3\n'
    )


class HostSandbox:
    """One host's Landlock: its ABI (-1: no python3 there), probed once, and how each agent
    launched there is confined."""

    def __init__(self, host: str, transport: HostTransport) -> None:
        self.host = host
        self.transport = transport
        self.abi: int | None = None

    async def confine(
        self, agent_id: str, sandbox: SandboxSpec, paths: RemotePaths, host_workdir: str
    ) -> tuple[list[str], SandboxStatus]:
        """The argv prefix that confines ``agent_id`` on the host (empty when the host cannot)
        and the status that says how it runs. ``host_workdir``: the host's workdir, absolute."""
        if self.abi is None:
            body = (
                paths.prelude()
                + "command -v python3 >/dev/null 2>&1 || { cat >/dev/null; echo nopython; exit 0; }\n"
                + _put(SANDBOX_SCRIPT)
                + f'python3 -I "$root/bin/{SANDBOX_SCRIPT}" --probe || echo 0\n'
            )
            res = await self.transport.run(
                sh_c(body), input=sandbox.script.read_bytes(), timeout=60
            )
            word = res.text.strip().split()[-1] if res.text.strip() else "0"
            self.abi = -1 if word == "nopython" else int(word) if word.isdigit() else 0
            # The modules the script loads beside itself (writepolicy.py), under their own names:
            # one the host did not get leaves it unable to confine, as a script it did not get.
            for module in sandbox.modules if self.abi >= MIN_SANDBOX_ABI else ():
                put = paths.prelude() + _put(module.name)
                res = await self.transport.run(sh_c(put), input=module.read_bytes(), timeout=60)
                self.abi = self.abi if res.returncode == 0 else 0
        abi = self.abi
        if abi < MIN_SANDBOX_ABI:
            reason = "no-python" if abi < 0 else "no-landlock" if abi == 0 else "abi-too-old"
            status = SandboxStatus(
                "unsandboxed",
                agent=agent_id,
                abi=max(abi, 0),
                reason=reason,
                detail=f"{self.host} cannot confine its agents ({reason}): the watcher judges",
                host=self.host,
            )
            return [], status
        script = f"{host_workdir}/.wavedeck/bin/{SANDBOX_SCRIPT}"
        status = SandboxStatus("landlock", agent=agent_id, abi=abi, host=self.host)
        return ["python3", "-I", script, "--spec", sandbox.spec, "--"], status
