"""Fixtures of this folder (defined in ``sshkit``): ``sshd``, ``make_sshd``, ``aserver``, ``proxy``,
``repo``, ``host_clone``."""

from __future__ import annotations

from tests.unit.remote.sshkit import (
    aserver,
    fake_agent,
    host_clone,
    make_sshd,
    proxy,
    repo,
    sshd,
    user_dir,
)

__all__ = ["aserver", "fake_agent", "host_clone", "make_sshd", "proxy", "repo", "sshd", "user_dir"]
