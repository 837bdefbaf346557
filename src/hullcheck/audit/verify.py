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

A log whose oldest records were removed by retention starts at an *anchor*: the signed
checkpoint of the records removed and the frontier of their tree (the roots of its perfect
subtrees, which hash to that checkpoint's root). The records kept are appended to that
frontier, so every checkpoint after the anchor still verifies; the removed records cannot be
examined any more, but nothing was slipped in among them without changing the anchor's root.
"""

from __future__ import annotations

import dataclasses
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
    """The log's size: records read, and those removed by retention before them."""
    checkpoints: int
    """Checkpoints compared with the records."""
    covered: int = 0
    """Records the largest signed checkpoint vouches for (those after it are not yet
    checkpointed)."""
    problem: Problem | None = None
    retained_from: int = 0
    """The first record kept (those before it were removed by retention, vouched for by the
    anchor's checkpoint)."""

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


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where a log starts after retention removed its oldest records."""

    frontier: merkle.Frontier
    note: str
    """The signed checkpoint of the records removed."""


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
    anchor: Anchor | None = None,
) -> Verdict:
    """``entries``: each record's sequence number, its canonical bytes (``Record.leaf()``,
    ``records.canonical``) and the leaf hash stored beside it (``None`` if none was); from
    the ``anchor``'s size on when retention removed the records before it.

    Reads the records once, in order, holding only the tree's frontier: a million records
    verify in seconds."""
    compared = 0
    matched: Claimed | None = None
    if anchor is not None:
        start = anchor.frontier.size
        claimed, problem = _anchored(anchor, checkpoints, key)
        if problem is not None:
            return Verdict(start, 0, 0, problem, start)
        # checkpoints of removed records cannot be compared with them any more
        pending = [c for c in checkpoints if c.checkpoint.size > start]
        frontier = merkle.Frontier(start, anchor.frontier.hashes)
        matched, compared = claimed, 1
        verdict = _walk(entries, pending, frontier, key, matched, compared)
        return dataclasses.replace(verdict, retained_from=start)
    pending = list(checkpoints)
    frontier = merkle.Frontier()
    while pending and pending[0].checkpoint.size == 0:  # the empty log's: the empty root
        claimed = pending.pop(0)
        if claimed.checkpoint.root != merkle.EMPTY_ROOT:
            forged = _unsigned(claimed, key)
            return Verdict(0, compared, 0, forged or Problem(0, "the empty log's root is wrong"))
        compared += 1
    return _walk(entries, pending, frontier, key, matched, compared)


def _walk(
    entries: Iterable[tuple[int, bytes, bytes | None]],
    pending: list[Claimed],
    frontier: merkle.Frontier,
    key: VerifierKey,
    matched: Claimed | None,
    compared: int,
) -> Verdict:
    """The records appended to ``frontier`` one by one, compared with each checkpoint as
    the tree reaches its size."""
    sha256 = hashlib.sha256
    checkpoints, first = list(pending), frontier.size
    for position, (seq, data, stored) in enumerate(entries, start=frontier.size):
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
                problem = _unsigned(claimed, key) or _diverged(
                    claimed.checkpoint, checkpoints, first
                )
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


def _anchored(
    anchor: Anchor, checkpoints: Sequence[Claimed], key: VerifierKey
) -> tuple[Claimed | None, Problem | None]:
    """The anchor's checkpoint, signed by ``key``, of the same log as the others and of the
    tree its frontier describes — or the problem."""
    size = anchor.frontier.size
    try:
        checkpoint = Checkpoint.parse(note_text(anchor.note))
        open_note(anchor.note, key)
    except NoteError as exc:
        return None, Problem(size, f"the retention anchor: {exc}")
    origins = {c.checkpoint.origin for c in checkpoints}
    if origins and origins != {checkpoint.origin}:
        return None, Problem(size, "the retention anchor is of another log")
    if checkpoint.size != size or checkpoint.root != anchor.frontier.root():
        return None, Problem(
            size,
            f"the retention anchor does not match its checkpoint: the records before {size} "
            "were not removed by retention as recorded",
        )
    return Claimed(checkpoint, anchor.note, 0), None


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


def _diverged(checkpoint: Checkpoint, checkpoints: Sequence[Claimed], first: int) -> Problem:
    sizes = (c.checkpoint.size for c in checkpoints)
    before = max((size for size in sizes if size < checkpoint.size), default=first)
    return Problem(
        before,
        f"records {before} to {checkpoint.size - 1} differ from what the checkpoint of "
        f"{checkpoint.size} records signed: one of them was edited, inserted or removed",
    )
