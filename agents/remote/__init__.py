"""Agents on SSH hosts: the runner, quoted commands, transport (keys, keepalives, pooling), syncing work in and out, host checks."""
