"""Appending to a host's audit log: records numbered in order, hashed into the tree, and
checkpoints signed as the tree grows.

The writer holds only the tree's frontier (a few dozen hashes), which the store keeps beside
the records in the same transaction, so a log resumes where it stopped without re-reading it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from hullcheck.audit import merkle
from hullcheck.audit.note import Checkpoint, SignerKey
from hullcheck.audit.records import Record

CHECKPOINT_EVERY = 64
"""Records between signed checkpoints: an edit whose hash was recomputed is named within
this many records (docs/audit.md)."""


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
            numbered = dataclasses.replace(record, seq=self.frontier.size)
            leaf = merkle.leaf_hash(numbered.leaf())
            self.frontier.append(leaf)
            appended.append((numbered, leaf))
        return appended

    def checkpoint(self) -> str:
        """The signed checkpoint of the log as it is now."""
        head = Checkpoint(self.origin, self.frontier.size, self.frontier.root())
        return self.signer.sign(head.text())
