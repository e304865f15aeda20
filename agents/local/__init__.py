"""Agents as detached local processes: the runner, the wrapper that records their end, log tailing, /proc facts."""
