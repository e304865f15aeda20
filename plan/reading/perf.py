"""Performance helpers for the plan layer's hot paths."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a block that allocates many acyclic objects.

    Reading a large plan allocates tens of thousands of small objects next to markdown-it-py's
    token list; each automatic collection would rescan all of it. Reference counting still frees
    everything; the collector is restored (if it was on) when the block ends, even on error.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
