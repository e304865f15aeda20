"""Fixtures of this folder (defined in ``sshkit``): ``sshd``, ``make_sshd``, ``aserver``, ``proxy``,
``repo``, ``host_clone``."""

from __future__ import annotations

from tests.unit.remote.sshkit import aserver, host_clone, make_sshd, proxy, repo, sshd

__all__ = ["aserver", "host_clone", "make_sshd", "proxy", "repo", "sshd"]
