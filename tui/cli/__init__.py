"""The ``wavedeck`` command: ``main`` builds the click group; one module per command family."""
