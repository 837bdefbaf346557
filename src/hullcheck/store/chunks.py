"""Long lists in slices: keys for one ``IN (…)``, rows for one ``executemany``.

Keys in slices a database takes in one ``IN (…)`` (SQLite's bound-parameter
limit, PostgreSQL's plan size)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of ``size`` at most."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def batches(items: Iterable[Any], size: int, max_bytes: int | None = None) -> Iterator[list[Any]]:
    """Lists of ``size`` items at most; with ``max_bytes``, of (record, raw JSON) pairs
    whose JSON adds up to that much at most (a batch of large records would hold gigabytes)."""
    batch: list[Any] = []
    held = 0
    for item in items:
        batch.append(item)
        if max_bytes is not None:
            held += len(item[1])
        if len(batch) >= size or (max_bytes is not None and held >= max_bytes):
            yield batch
            batch, held = [], 0
    if batch:
        yield batch
