"""Proving a host's audit log intact, or naming the first record that is not.

A verifier holds the log's public key, the records (an export, or the store) and signed
checkpoints — the log's own, and any published off the host, which is what catches a log
cut short: a checkpoint only ever grows, so one signed at size N proves N records existed.

What is caught, and how it is named:

* a record deleted, inserted out of place or moved: the sequence numbers, from 0 with no gap;
* a record edited whose stored leaf hash was left alone: that record, by its hash;
* a record edited and its stored hash recomputed (anyone can): the first checkpoint whose root
  no longer matches, which names the records since the checkpoint before it — the log signs a
  checkpoint every few records, so that is a short range;
* records cut off the end: a checkpoint larger than the log;
* a checkpoint not signed by the key, or of another log: refused before anything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hullcheck.audit import merkle
from hullcheck.audit.note import Checkpoint, NoteError, VerifierKey, open_note
from hullcheck.audit.records import Record


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int | None
    """The first record at fault, where one can be named."""
    message: str


@dataclass(frozen=True, slots=True)
class Verdict:
    records: int
    checkpoints: int
    """Signed checkpoints checked against the records."""
    problem: Problem | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


def open_checkpoints(
    notes: Iterable[str], key: VerifierKey, origin: str
) -> tuple[list[Checkpoint], Problem | None]:
    """The checkpoints of ``origin`` that ``key`` signed, smallest first; the first note that
    is not one is the problem."""
    found: list[Checkpoint] = []
    for index, note in enumerate(notes):
        try:
            checkpoint = Checkpoint.parse(open_note(note, key))
        except NoteError as exc:
            return found, Problem(None, f"checkpoint {index + 1}: {exc}")
        if checkpoint.origin != origin:
            return found, Problem(
                None, f"checkpoint {index + 1} is of log {checkpoint.origin[:80]!r}, not {origin!r}"
            )
        found.append(checkpoint)
    return sorted(found, key=lambda c: c.size), None


def verify(
    entries: Iterable[tuple[Record, bytes | None]], checkpoints: Sequence[Checkpoint]
) -> Verdict:
    """``entries``: each record with the leaf hash stored beside it (``None`` if none was).

    Reads the records once, in order, holding only the tree's frontier: a million records
    verify in seconds."""
    pending = sorted(checkpoints, key=lambda c: c.size)
    frontier = merkle.Frontier()
    checked = 0
    while pending and pending[0].size == 0:  # the empty log's: the empty root
        if pending.pop(0).root != merkle.EMPTY_ROOT:
            return Verdict(0, 0, Problem(None, "the checkpoint of 0 records has a root"))
        checked += 1
    for position, (record, stored) in enumerate(entries):
        if record.seq != position:
            return Verdict(position, checked, _out_of_place(record.seq, position))
        leaf = merkle.leaf_hash(record.leaf())
        if stored is not None and stored != leaf:
            return Verdict(
                position,
                checked,
                Problem(position, f"record {position} was edited: it does not hash to its leaf"),
            )
        frontier.append(leaf)
        while pending and pending[0].size == frontier.size:
            checkpoint = pending.pop(0)
            if checkpoint.root != frontier.root():
                return Verdict(position + 1, checked, _diverged(checkpoint, checkpoints))
            checked += 1
    size = frontier.size
    if pending:
        largest = pending[-1].size
        return Verdict(
            size,
            checked,
            Problem(
                size,
                f"records {size} to {largest - 1} are missing: a signed checkpoint of "
                f"{largest} records exists (the log was cut short)",
            ),
        )
    return Verdict(size, checked)


def _out_of_place(seq: int, position: int) -> Problem:
    if seq < position:
        return Problem(
            position, f"record {seq} appears again at position {position} (inserted or moved)"
        )
    return Problem(
        position, f"record {position} is missing (deleted or moved): record {seq} is in its place"
    )


def _diverged(checkpoint: Checkpoint, checkpoints: Sequence[Checkpoint]) -> Problem:
    before = max((c.size for c in checkpoints if c.size < checkpoint.size), default=0)
    return Problem(
        before,
        f"records {before} to {checkpoint.size - 1} differ from what the checkpoint of "
        f"{checkpoint.size} records signed: one of them was edited, inserted or removed",
    )
