"""Long lists of keys in slices a database takes in one ``IN (…)`` (SQLite's bound-parameter
limit, PostgreSQL's plan size)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of ``size`` at most."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
