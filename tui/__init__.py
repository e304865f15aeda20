"""wavedeck's user-facing layer: the ``wavedeck`` command and the Textual control room.

The only package that imports ``textual``. Modules import it lazily where start-up time matters
(``wavedeck sim-agent`` runs once per simulated agent).
"""
