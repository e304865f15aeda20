"""Commit signing for checkpoints: the team's policy, with the signer pinned at start-up.

``git commit-tree`` ignores ``commit.gpgsign``; wavedeck reads it (and the signer settings) once,
when the ``GitRepo`` is created, passes ``-S`` itself, and pins every signer program with ``-c``
so a ``gpg.program`` an agent plants during a wave is never run by a checkpoint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wavedeck.agents.git.cmd import GitCmd

_SIGNING_KEYS = re.compile(
    r"^(commit\.gpgsign|gpg\.(program|format|openpgp\.program|ssh\.program|x509\.program))$"
)


@dataclass(frozen=True)
class SigningPolicy:
    """The repository's signing settings, read once when the ``GitRepo`` is created.

    ``commit-tree`` ignores ``commit.gpgsign``, so wavedeck passes ``-S`` itself when the team set
    it. The signer programs are pinned with ``-c`` to the values read at start-up (or git's
    defaults), so a ``gpg.program`` an agent plants during a wave is never run.
    """

    sign: bool = False
    overrides: tuple[str, ...] = ()


def read_signing(cmd: GitCmd) -> SigningPolicy:
    """The ``SigningPolicy`` configured now (all scopes, as git sees it)."""
    result = cmd.run(["config", "-z", "--get-regexp", r"^(commit\.gpgsign|gpg\..*)$"], check=False)
    values: dict[str, str] = {}
    openpgp = "gpg"
    for record in result.out.split(b"\0"):
        key, _, value = record.decode("utf-8", "surrogateescape").partition("\n")
        if not _SIGNING_KEYS.match(key):
            continue
        values[key] = value
        if key in ("gpg.program", "gpg.openpgp.program"):
            openpgp = value  # synonyms: the one read last wins, as in git
    sign = values.get("commit.gpgsign", "false").lower() in ("true", "yes", "on", "1")
    pinned = {
        "gpg.format": values.get("gpg.format", "openpgp"),
        "gpg.program": openpgp,
        "gpg.openpgp.program": openpgp,
        "gpg.ssh.program": values.get("gpg.ssh.program", "ssh-keygen"),
        "gpg.x509.program": values.get("gpg.x509.program", "gpgsm"),
    }
    overrides = tuple(arg for key, value in pinned.items() for arg in ("-c", f"{key}={value}"))
    return SigningPolicy(sign, overrides)
