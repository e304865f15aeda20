"""wavedeck: a terminal control room for running a wave plan of parallel coding agents.

The code lives in the three layers the design names, each a top-level folder of the repository
(``plan/``, ``agents/``, ``tui/``); this package is their one import name (``wavedeck.plan``,
``wavedeck.agents``, ``wavedeck.tui``), so that installing wavedeck adds no top-level name that
another distribution may own. The folders here are symbolic links to those layers.
"""

__version__ = "0.1.0"
