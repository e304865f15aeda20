"""Watching the workspace: the watcher, its rules, and per-agent worktrees watched exactly."""
