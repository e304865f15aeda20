"""wavedeck's engine: runs a plan's agents, watches the workspace, gates waves, talks to git.

Speaks in events (``wavedeck.agents.events``). Never imports ``textual`` or ``tui``.
"""
