"""wavedeck's plan layer: the wave-plan model, its Markdown reader, checks and renderers.

Pure: no I/O beyond reading text handed to it. Never imports ``textual``, ``tui`` or ``agents``.
"""
