"""Pausing Python's cyclic garbage collector while a query builds many objects.

Reading 100,000 inventory rows makes millions of small dicts, tuples and dataclasses, none of
them in a reference cycle. Each batch of new objects triggers a collection that walks every
object still alive, so the collector's cost grows with the answer: half of a fleet report's
time went there. Reference counting frees everything as usual; only the cycle search waits
until the block ends.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside the block (re-entrant; restores the previous state)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
