"""Opening the control room from the command line (placeholder until the TUI is built)."""

from __future__ import annotations

import click


def open_control_room(plan: str | None = None, repo: str | None = None) -> int:
    """Open the Textual control room; returns the process exit code."""
    raise click.ClickException("the control room is not built yet")
