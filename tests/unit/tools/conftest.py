"""Fixtures of the tools' tests (the simulated agent, the demo): a repo folder, a runner, a token."""

from tests.unit.local.prockit import repo, runner, token

__all__ = ["repo", "runner", "token"]
