"""wavedeck's engine: runs a plan's agents, watches the workspace, gates waves, talks to git.

Speaks in events (``agents.events``). Never imports ``textual`` or ``tui``.
"""
