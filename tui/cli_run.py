"""wavedeck run commands (placeholder until built)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
