"""Checking a plan: one small function per finding code (``checks``), the counts a plan states,
the checks only other shapes need, and those that hold a plan against a repository.
"""
