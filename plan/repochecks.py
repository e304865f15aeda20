"""Checks that need the repository (``plan check --repo``). Placeholder until built."""

from __future__ import annotations

from plan.checkapi import Check

REPO_CHECKS: list[Check] = []
