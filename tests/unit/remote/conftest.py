"""Fixtures of this folder (defined in ``sshkit`` and ``faultkit``): ``sshd``, ``make_sshd``,
``aserver``, ``proxy``, ``repo``, ``host_clone``."""

from __future__ import annotations

from tests.unit.remote.faultkit import aserver, proxy
from tests.unit.remote.sshkit import fake_agent, host_clone, make_sshd, repo, sshd, user_dir

__all__ = ["aserver", "fake_agent", "host_clone", "make_sshd", "proxy", "repo", "sshd", "user_dir"]
