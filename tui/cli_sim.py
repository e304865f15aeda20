"""wavedeck sim-agent (placeholder until built)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
