"""Fixtures for the process-layer tests: a repo folder, a runner, a token that is cleaned up."""

from tests.unit.local.prockit import repo, runner, token

__all__ = ["repo", "runner", "token"]
