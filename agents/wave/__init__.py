"""A wave's lifecycle: the supervisor and its parts (agents, watching, gates, tests, checkpoint, restarts), prompts and commit messages, headless runs."""
