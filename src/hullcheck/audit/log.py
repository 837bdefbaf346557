"""Appending to a host's audit log: records numbered in order, hashed into the tree, and
checkpoints signed as the tree grows.

The writer holds only the tree's frontier (a few dozen hashes), which the store keeps beside
the records in the same transaction, so a log resumes where it stopped without re-reading it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from hullcheck.audit import merkle
from hullcheck.audit.note import Checkpoint, SignerKey
from hullcheck.audit.records import Record
from hullcheck.errors import AppendConflict

CONFLICTS = 50
"""Attempts at appending while other writers keep appending first."""
CHECKPOINT_EVERY = 64
"""Records between signed checkpoints: an edit whose hash was recomputed is named within
this many records (docs/audit.md)."""


class AuditBook(Protocol):
    """Where the logs are kept (the store implements it)."""

    def head(self, host: str) -> merkle.Frontier: ...

    def append(
        self,
        host: str,
        before: int,
        entries: Sequence[tuple[Record, bytes]],
        frontier: merkle.Frontier,
        notes: Sequence[tuple[int, str]],
        cursor: int | None = None,
    ) -> None: ...

    def cursor(self, host: str) -> int | None: ...

    def entries(self, host: str) -> Iterator[tuple[int, bytes, bytes]]: ...

    def records(self, host: str, start: int = 0) -> Iterator[tuple[Record, bytes]]: ...

    def search(
        self,
        *,
        hosts: Sequence[str] = (),
        actions: Sequence[str] = (),
        kinds: Sequence[str] = (),
        objects: Sequence[str] = (),
        since: str | None = None,
        limit: int | None = None,
        newest: int | None = None,
    ) -> list[Record]: ...

    def state(self, host: str) -> tuple[int, str, dict[str, Any]] | None: ...

    def save_state(self, host: str, seq: int, taken: str, state: dict[str, Any]) -> None: ...

    def checkpoints(self, host: str) -> list[str]: ...

    def checkpoint_at_most(self, host: str, size: int) -> tuple[int, str] | None: ...


def record(
    book: AuditBook,
    log_name: str,
    host: str,
    records: Iterable[Record],
    signer: SignerKey,
    cursor: int | None = None,
    *,
    seal: bool = True,
) -> int:
    """Append ``records`` to the host's log, with a checkpoint signed every
    ``CHECKPOINT_EVERY`` records and, with ``seal``, one after the last; the log's new size.
    Another writer of the same log (the authorization plugin beside the collector)
    appending first makes this one number its records again after it."""
    records = list(records)
    for _ in range(CONFLICTS - 1):
        try:
            return _append(book, log_name, host, records, signer, cursor, seal)
        except AppendConflict:
            continue
    return _append(book, log_name, host, records, signer, cursor, seal)


def _append(
    book: AuditBook,
    log_name: str,
    host: str,
    records: list[Record],
    signer: SignerKey,
    cursor: int | None,
    seal: bool,
) -> int:
    frontier = book.head(host)
    before = frontier.size
    writer = LogWriter(origin(log_name, host), signer, frontier)
    entries: list[tuple[Record, bytes]] = []
    notes: list[tuple[int, str]] = []
    for item in records:
        entries += writer.append((item,))
        if writer.size % CHECKPOINT_EVERY == 0:
            notes.append((writer.size, writer.checkpoint()))
    if entries and writer.size % CHECKPOINT_EVERY and seal:
        notes.append((writer.size, writer.checkpoint()))
    book.append(host, before, entries, writer.frontier, notes, cursor)
    return writer.size


def seal(book: AuditBook, log_name: str, host: str, signer: SignerKey) -> None:
    """Sign a checkpoint of the host's log as it stands, if its end has none yet."""
    for _ in range(CONFLICTS):
        frontier = book.head(host)
        last = book.checkpoint_at_most(host, frontier.size)
        if frontier.size == 0 or (last is not None and last[0] == frontier.size):
            return  # the empty log, or its end has a checkpoint already
        writer = LogWriter(origin(log_name, host), signer, frontier)
        try:
            book.append(host, frontier.size, [], frontier, [(frontier.size, writer.checkpoint())])
            return
        except AppendConflict:
            continue  # another writer appended (and sealed) meanwhile


def origin(log_name: str, host: str) -> str:
    """The checkpoint origin of one host's log: ``NAME/HOST`` (C2SP: a schema-less URL)."""
    return f"{log_name}/{host}"


class LogWriter:
    """One host's log: numbers, hashes and checkpoints what is appended to it."""

    def __init__(self, log_origin: str, signer: SignerKey, frontier: merkle.Frontier) -> None:
        self.origin = log_origin
        self.signer = signer
        self.frontier = frontier

    @property
    def size(self) -> int:
        return self.frontier.size

    def append(self, records: Iterable[Record]) -> list[tuple[Record, bytes]]:
        """``records`` numbered from the log's size on, each with its leaf hash."""
        appended = []
        for record in records:
            numbered = record.numbered(self.frontier.size)
            leaf = merkle.leaf_hash(numbered.leaf())
            self.frontier.append(leaf)
            appended.append((numbered, leaf))
        return appended

    def checkpoint(self) -> str:
        """The signed checkpoint of the log as it is now."""
        head = Checkpoint(self.origin, self.frontier.size, self.frontier.root())
        return self.signer.sign(head.text())
