"""The control room's screens: main, tests, checkpoint, diff review, violations, help, dialogs."""
