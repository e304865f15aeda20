"""The git layer: one safe command runner, checkpoints, diffs, path checks, signing, tamper evidence."""
