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

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hullcheck.audit import merkle
from hullcheck.audit.note import Checkpoint, NoteError, VerifierKey, note_text, open_note


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int | None
    """The first record at fault, where one can be named."""
    message: str


@dataclass(frozen=True, slots=True)
class Verdict:
    records: int
    checkpoints: int
    """Checkpoints compared with the records."""
    covered: int = 0
    """Records the largest signed checkpoint vouches for (those after it are not yet
    checkpointed)."""
    problem: Problem | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A checkpoint as a note claims it. Its signature is checked when the verdict rests on
    it: the largest checkpoint that matches (it vouches for every record before it), and any
    that does not match or claims more records than there are, before anything is blamed."""

    checkpoint: Checkpoint
    note: str
    number: int
    """Its place among the notes given, from 1 (for messages)."""


def read_checkpoints(notes: Iterable[str], origin: str) -> tuple[list[Claimed], Problem | None]:
    """The checkpoints the notes claim for the log ``origin``, smallest first; the first note
    that is not a checkpoint of that log is the problem."""
    found: list[Claimed] = []
    for index, note in enumerate(notes):
        try:
            checkpoint = Checkpoint.parse(note_text(note))
        except NoteError as exc:
            return found, Problem(None, f"checkpoint {index + 1}: {exc}")
        if checkpoint.origin != origin:
            return found, Problem(
                None, f"checkpoint {index + 1} is of log {checkpoint.origin[:80]!r}, not {origin!r}"
            )
        found.append(Claimed(checkpoint, note, index + 1))
    return sorted(found, key=lambda c: c.checkpoint.size), None


def verify(
    entries: Iterable[tuple[int, bytes, bytes | None]],
    checkpoints: Sequence[Claimed],
    key: VerifierKey,
) -> Verdict:
    """``entries``: each record's sequence number, its canonical bytes (``Record.leaf()``,
    ``records.canonical``) and the leaf hash stored beside it (``None`` if none was).

    Reads the records once, in order, holding only the tree's frontier: a million records
    verify in seconds."""
    pending = list(checkpoints)
    frontier = merkle.Frontier()
    compared = 0
    matched: Claimed | None = None
    sha256 = hashlib.sha256
    while pending and pending[0].checkpoint.size == 0:  # the empty log's: the empty root
        claimed = pending.pop(0)
        if claimed.checkpoint.root != merkle.EMPTY_ROOT:
            forged = _unsigned(claimed, key)
            return Verdict(0, compared, 0, forged or Problem(0, "the empty log's root is wrong"))
        compared += 1
    for position, (seq, data, stored) in enumerate(entries):
        if seq != position:
            return Verdict(position, compared, 0, _out_of_place(seq, position))
        leaf = sha256(b"\x00" + data).digest()  # merkle.leaf_hash, without the call
        if stored is not None and stored != leaf:
            problem = Problem(
                position, f"record {position} was edited: it does not hash to its leaf"
            )
            return Verdict(position, compared, 0, problem)
        frontier.append(leaf)
        while pending and pending[0].checkpoint.size == frontier.size:
            claimed = pending.pop(0)
            compared += 1
            if claimed.checkpoint.root != frontier.root():
                problem = _unsigned(claimed, key) or _diverged(claimed.checkpoint, checkpoints)
                return Verdict(position + 1, compared, 0, problem)
            matched = claimed
    return _conclude(frontier.size, compared, pending, matched, key)


def _conclude(
    size: int, compared: int, pending: list[Claimed], matched: Claimed | None, key: VerifierKey
) -> Verdict:
    """Every record read: checkpoints beyond the log mean it was cut short; the largest one
    that matched, if signed, vouches for the records up to it."""
    if pending:
        largest = pending[-1]
        problem = _unsigned(largest, key) or Problem(
            size,
            f"records {size} to {largest.checkpoint.size - 1} are missing: a signed checkpoint "
            f"of {largest.checkpoint.size} records exists (the log was cut short)",
        )
        return Verdict(size, compared, 0, problem)
    if matched is None:
        if size == 0:
            return Verdict(0, compared)
        return Verdict(size, compared, 0, Problem(None, "no checkpoint vouches for the records"))
    forged = _unsigned(matched, key)
    return Verdict(size, compared, 0 if forged else matched.checkpoint.size, forged)


def _unsigned(claimed: Claimed, key: VerifierKey) -> Problem | None:
    """``None`` when ``key`` signed the checkpoint, else the problem."""
    try:
        open_note(claimed.note, key)
    except NoteError as exc:
        return Problem(None, f"checkpoint {claimed.number}: {exc}")
    return None


def _out_of_place(seq: int, position: int) -> Problem:
    if seq < position:
        return Problem(
            position, f"record {seq} appears again at position {position} (inserted or moved)"
        )
    return Problem(
        position, f"record {position} is missing (deleted or moved): record {seq} is in its place"
    )


def _diverged(checkpoint: Checkpoint, checkpoints: Sequence[Claimed]) -> Problem:
    sizes = (c.checkpoint.size for c in checkpoints)
    before = max((size for size in sizes if size < checkpoint.size), default=0)
    return Problem(
        before,
        f"records {before} to {checkpoint.size - 1} differ from what the checkpoint of "
        f"{checkpoint.size} records signed: one of them was edited, inserted or removed",
    )
