"""A log built from the events recorded on a real engine, then tampered with every way
``verify`` must catch: each is caught, and the first bad record named."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable

import pytest

from hullcheck.audit import merkle
from hullcheck.audit.log import LogWriter, origin
from hullcheck.audit.note import SignerKey
from hullcheck.audit.records import Record, from_event
from hullcheck.audit.verify import Verdict, read_checkpoints, verify

ENGINE = os.path.join(os.path.dirname(__file__), "..", "data", "engine")
ORIGIN = origin("hullcheck.test", "prod-1")
EVERY = 5

Entries = list[tuple[Record, bytes | None]]


@pytest.fixture(scope="module")
def signer() -> SignerKey:
    return SignerKey.generate("hullcheck.test")


@pytest.fixture(scope="module")
def log(signer: SignerKey) -> tuple[Entries, list[str]]:
    """The recorded Docker 26 and Podman 5 event streams as one host's log (49 records),
    a checkpoint signed every five records and at the end."""
    events = []
    for kind in ("docker26", "podman5"):
        with open(os.path.join(ENGINE, kind, "events.jsonl"), encoding="utf-8") as handle:
            events += [from_event("prod-1", json.loads(line)) for line in handle]
    writer = LogWriter(ORIGIN, signer, merkle.Frontier())
    entries: Entries = []
    notes = []
    for start in range(0, len(events), EVERY):
        entries += writer.append(events[start : start + EVERY])
        notes.append(writer.checkpoint())
    return entries, notes


def _verify(entries: Entries, notes: list[str], key: SignerKey) -> Verdict:
    checkpoints, problem = read_checkpoints(notes, ORIGIN)
    assert problem is None
    return verify(((r.seq, r.leaf(), leaf) for r, leaf in entries), checkpoints, key.verifier())


def test_an_intact_log_verifies(log: tuple[Entries, list[str]], signer: SignerKey) -> None:
    entries, notes = log
    verdict = _verify(entries, notes, signer)
    assert verdict.intact and verdict.records == len(entries) == 49
    assert verdict.checkpoints == len(notes) == 10
    assert [r.seq for r, _ in entries] == list(range(49))


def _edited(entries: Entries, seq: int, rehash: bool) -> Entries:
    record, leaf = entries[seq]
    changed = dataclasses.replace(record, context={**record.context, "exitCode": "0"})
    new_leaf = merkle.leaf_hash(changed.leaf()) if rehash else leaf
    return [*entries[:seq], (changed, new_leaf), *entries[seq + 1 :]]


def _renumbered(entries: Entries) -> Entries:
    """What someone who rewrites the log does after removing a record: renumber, rehash."""
    renumbered = []
    for seq, (record, _) in enumerate(entries):
        record = dataclasses.replace(record, seq=seq)
        renumbered.append((record, merkle.leaf_hash(record.leaf())))
    return renumbered


CASES: dict[str, tuple[Callable[[Entries], Entries], int, str]] = {
    "edited": (lambda e: _edited(e, 17, rehash=False), 17, "record 17 was edited"),
    "edited-and-rehashed": (
        lambda e: _edited(e, 17, rehash=True),
        15,
        "records 15 to 19 differ from what the checkpoint of 20 records signed",
    ),
    "deleted": (lambda e: e[:30] + e[31:], 30, "record 30 is missing"),
    "deleted-and-renumbered": (
        lambda e: _renumbered(e[:30] + e[31:]),
        30,
        "records 30 to 34 differ from what the checkpoint of 35 records signed",
    ),
    "inserted": (lambda e: e[:12] + [e[3]] + e[12:], 12, "record 3 appears again at position 12"),
    "reordered": (lambda e: e[:8] + [e[9], e[8]] + e[10:], 8, "record 8 is missing"),
    "cut-short": (lambda e: e[:41], 41, "records 41 to 48 are missing"),
}


@pytest.mark.parametrize("case", CASES)
def test_tampering_is_caught_and_the_first_bad_record_named(
    log: tuple[Entries, list[str]], signer: SignerKey, case: str
) -> None:
    entries, notes = log
    tamper, seq, message = CASES[case]
    verdict = _verify(tamper(entries), notes, signer)
    assert not verdict.intact and verdict.problem is not None
    assert verdict.problem.seq == seq
    assert verdict.problem.message.startswith(message), verdict.problem.message


def test_cutting_the_log_and_its_checkpoints_is_caught_by_a_published_one(
    log: tuple[Entries, list[str]], signer: SignerKey
) -> None:
    """The host's own checkpoints can be cut with the records; one published elsewhere
    (a file, a webhook, the server) cannot."""
    entries, notes = log
    local = notes[:8]  # checkpoints up to 40 records, as left on the host
    assert _verify(entries[:40], local, signer).intact
    published = notes[-1]
    verdict = _verify(entries[:40], [*local, published], signer)
    assert verdict.problem is not None and verdict.problem.seq == 40
    assert "a signed checkpoint of 49 records exists" in verdict.problem.message


def test_checkpoints_of_another_key_or_log_are_refused(
    log: tuple[Entries, list[str]], signer: SignerKey
) -> None:
    entries, notes = log
    assert _verify(entries, notes, signer).covered == 49
    # a rewritten log, checkpointed with another key: its checkpoints match its records
    impostor = SignerKey.generate("hullcheck.test")
    edited = _edited(entries, 17, rehash=True)
    forged = LogWriter(ORIGIN, impostor, merkle.Frontier())
    forged.append(record for record, _ in edited)
    verdict = _verify(edited, [forged.checkpoint()], signer)
    assert verdict.problem is not None
    assert verdict.problem.message.startswith("checkpoint 1: note: not signed by")
    # the same, the log's own checkpoints beside it: the first that no longer matches
    verdict = _verify(edited, [*notes, forged.checkpoint()], signer)
    assert verdict.problem is not None and verdict.problem.seq == 15
    other = LogWriter(origin("hullcheck.test", "prod-2"), signer, merkle.Frontier())
    _, problem = read_checkpoints([other.checkpoint()], ORIGIN)
    assert problem is not None and "is of log 'hullcheck.test/prod-2'" in problem.message


def test_records_after_the_last_checkpoint_are_said_to_be_uncovered(
    log: tuple[Entries, list[str]], signer: SignerKey
) -> None:
    entries, notes = log
    verdict = _verify(entries, notes[:-1], signer)  # the last checkpoint not yet written
    assert verdict.intact and (verdict.records, verdict.covered) == (49, 45)
    verdict = _verify(entries, [], signer)
    assert verdict.problem is not None and "no checkpoint vouches" in verdict.problem.message
