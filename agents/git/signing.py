"""Commit signing for checkpoints: whether to sign, and the one program allowed to do it.

``git commit-tree`` ignores ``commit.gpgsign``; wavedeck decides when the ``GitRepo`` is created
(``[git] sign`` in ``wavedeck.toml``, else the repository's ``commit.gpgsign`` as read then),
passes ``-S`` itself, and pins every signer setting with ``-c``: the program is ``[git]
sign_program`` from ``wavedeck.toml``, else git's own default for the format (``gpg``,
``ssh-keygen``, ``gpgsm``), never a ``gpg.program`` from git's configuration, which an agent can
write. ``gpg.ssh.defaultKeyCommand`` (a program git runs to find an SSH key) is emptied.
"""

from __future__ import annotations

from dataclasses import dataclass

from wavedeck.agents.git.cmd import GitCmd

FORMATS = ("openpgp", "ssh", "x509")
# git's own default signer for each gpg.format.
DEFAULT_PROGRAMS = {"openpgp": "gpg", "ssh": "ssh-keygen", "x509": "gpgsm"}
_TRUE = ("true", "yes", "on", "1")


@dataclass(frozen=True)
class SigningPolicy:
    """How checkpoints are signed, fixed when the ``GitRepo`` is created.

    ``sign``: pass ``-S``; ``program``: the signer that may run (shown in errors);
    ``overrides``: the ``-c`` options pinning every signer setting.
    """

    sign: bool = False
    program: str = ""
    overrides: tuple[str, ...] = ()


def _get(cmd: GitCmd, key: str) -> str | None:
    result = cmd.run(["config", "--get", key], check=False)
    return result.text.strip() if result.rc == 0 else None


def read_signing(
    cmd: GitCmd, sign: bool | None = None, program: str | None = None
) -> SigningPolicy:
    """The ``SigningPolicy`` for ``[git] sign`` (None: the repository's ``commit.gpgsign``)
    and ``[git] sign_program`` (None: git's default for ``gpg.format``)."""
    if sign is None:
        sign = (_get(cmd, "commit.gpgsign") or "false").lower() in _TRUE
    fmt = (_get(cmd, "gpg.format") or "openpgp").lower()
    if fmt not in FORMATS:
        fmt = "openpgp"  # git refuses an unknown format itself when signing
    chosen = program or DEFAULT_PROGRAMS[fmt]
    pinned = {
        "gpg.format": fmt,
        "gpg.program": chosen if fmt == "openpgp" else DEFAULT_PROGRAMS["openpgp"],
        "gpg.openpgp.program": chosen if fmt == "openpgp" else DEFAULT_PROGRAMS["openpgp"],
        "gpg.ssh.program": chosen if fmt == "ssh" else DEFAULT_PROGRAMS["ssh"],
        "gpg.x509.program": chosen if fmt == "x509" else DEFAULT_PROGRAMS["x509"],
        "gpg.ssh.defaultKeyCommand": "",
    }
    overrides = tuple(arg for key, value in pinned.items() for arg in ("-c", f"{key}={value}"))
    return SigningPolicy(sign, chosen, overrides)
