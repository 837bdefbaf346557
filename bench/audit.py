"""`make bench`: the audit log's tamper evidence at a million records (issue 18).

Target: `verify` of 1,000,000 records under 10 s. The records are the events recorded from
the four engines of the matrix (tests/data/engine/KIND/events.jsonl), cycled with a new
object ID each round, turned into records (`from_event`), numbered, hashed into the tree and
checkpointed every 64 records (`LogWriter`, as the collector will), and exported as JSON
lines (a record and its leaf hash per line, the signed checkpoints after). The verify
column reads that export back and checks every record and checkpoint, as a third party
holding only the public key would.

Ingest (targets: 20,000 records/s on SQLite, 10,000/s on PostgreSQL): the same events
through parse, number, hash, checkpoint and the store's transaction, 1,000 at a time as a
collector batches them — without the enrichment from inspect, which the collector does not
do yet.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator

import orjson
from tests.infra.postgres import PrivatePostgres

from bench.sbom import machine
from hullcheck.api import open_store
from hullcheck.audit import merkle
from hullcheck.audit.log import CHECKPOINT_EVERY, LogWriter, origin, record
from hullcheck.audit.note import SignerKey
from hullcheck.audit.records import Record, canonical, from_event
from hullcheck.audit.verify import read_checkpoints, verify

ENGINE = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "engine")
KINDS = ("docker20", "docker26", "docker26-containerd", "podman5")
SIZES = (100_000, 1_000_000)


def _events() -> list[tuple[dict[str, object], bool]]:
    found = []
    for kind in KINDS:
        with open(os.path.join(ENGINE, kind, "events.jsonl"), encoding="utf-8") as handle:
            found += [(json.loads(line), kind == "podman5") for line in handle]
    return found


def _stream(count: int) -> Iterator[Record]:
    events = _events()
    produced = 0
    round_ = 0
    while produced < count:
        for event, podman in events:
            if produced == count:
                return
            actor = dict(event.get("Actor") or {})  # type: ignore[call-overload]
            actor["ID"] = f"{actor.get('ID') or ''}-{round_}"
            yield from_event("bench", {**event, "Actor": actor}, podman=podman)
            produced += 1
        round_ += 1


def write(count: int, path: str, signer: SignerKey) -> tuple[float, int]:
    """Records appended and exported; seconds spent appending (parse, hash, tree, sign)."""
    writer = LogWriter(origin("hullcheck.bench", "bench"), signer, merkle.Frontier())
    notes = []
    spent = 0.0
    batch: list[Record] = []
    with open(path, "wb") as out:

        def flush() -> None:
            nonlocal spent
            start = time.perf_counter()
            appended = writer.append(batch)
            notes.append(writer.checkpoint())
            spent += time.perf_counter() - start
            for record, leaf in appended:
                out.write(orjson.dumps({"leaf": leaf.hex(), "record": record.as_dict()}))
                out.write(b"\n")
            batch.clear()

        for record in _stream(count):
            batch.append(record)
            if len(batch) == CHECKPOINT_EVERY:
                flush()
        if batch:
            flush()
        for note in notes:
            out.write(orjson.dumps({"checkpoint": note}) + b"\n")
    return spent, len(notes)


def check(path: str, signer: SignerKey) -> tuple[float, int, int]:
    """Seconds to verify the export at ``path``: records and checkpoints checked."""
    start = time.perf_counter()
    with open(path, "rb") as handle:
        notes = [
            orjson.loads(line)["checkpoint"] for line in handle if line.startswith(b'{"checkpoint"')
        ]
    checkpoints, problem = read_checkpoints(notes, origin("hullcheck.bench", "bench"))
    assert problem is None, problem

    def entries() -> Iterator[tuple[int, bytes, bytes]]:
        with open(path, "rb") as handle:
            for line in handle:
                if line.startswith(b'{"leaf"'):
                    item = orjson.loads(line)
                    record = item["record"]
                    yield record["seq"], canonical(record), bytes.fromhex(item["leaf"])

    verdict = verify(entries(), checkpoints, signer.verifier())
    assert verdict.intact, verdict.problem
    return time.perf_counter() - start, verdict.records, verdict.checkpoints


INGEST = 100_000
BATCH = 1_000


def ingest(url: str, signer: SignerKey) -> float:
    """Records per second into the store at ``url``."""
    with open_store(url) as store:
        records = list(_stream(INGEST))
        start = time.perf_counter()
        for first in range(0, INGEST, BATCH):
            record(store.audit, "hullcheck.bench", "bench", records[first : first + BATCH], signer)
        spent = time.perf_counter() - start
        assert store.audit.head("bench").size == INGEST
    return INGEST / spent


def main() -> int:
    signer = SignerKey.generate("hullcheck.bench")
    with tempfile.TemporaryDirectory(prefix="hc-bench-audit-") as work:
        sqlite = ingest(f"sqlite:///{os.path.join(work, 'hc.db')}", signer)
    server = PrivatePostgres()
    server.start()
    try:
        postgres = ingest(server.database(), signer)
    finally:
        server.stop()
    rows = []
    with tempfile.TemporaryDirectory(prefix="hc-bench-audit-") as work:
        for count in SIZES:
            path = os.path.join(work, f"audit-{count}.jsonl")
            appended, notes = write(count, path, signer)
            seconds, records, checked = check(path, signer)
            size = os.path.getsize(path) / 1e6
            rows.append((count, appended, notes, size, seconds, records, checked))
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nAudit log benchmark · {now} · {machine()}\n")
    print(
        "| records | append s (records/s) | checkpoints compared of signed | export MB "
        "| verify s | target |"
    )
    print("|---|---|---|---|---|---|")
    for count, appended, notes, size, seconds, records, checked in rows:
        target = "under 10 s" if count == 1_000_000 else ""
        print(
            f"| {records:,} | {appended:.1f} ({count / appended:,.0f}/s) | {checked:,} of "
            f"{notes:,} | {size:.0f} | {seconds:.1f} | {target} |"
        )
    print(f"\n| ingest of {INGEST:,} records, {BATCH:,} per append | records/s | target |")
    print("|---|---|---|")
    print(f"| SQLite (embedded file) | {sqlite:,.0f} | 20,000 |")
    print(f"| PostgreSQL 15 (private server, loopback) | {postgres:,.0f} | 10,000 |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
