"""`make bench`: the audit log's tamper evidence at a million records (issue 18).

Target: `verify` of 1,000,000 records under 10 s. The records are the events recorded from
the four engines of the matrix (tests/data/engine/KIND/events.jsonl), cycled with a new
object ID each round, turned into records (`from_event`), numbered, hashed into the tree and
checkpointed every 64 records (`LogWriter`, as the collector does), and exported as
`hullcheck audit export` writes (a record's leaf hash and canonical bytes per line, the
signed checkpoints after). The verify column reads that export back and checks every record
and checkpoint as `hullcheck audit verify --export` does for a third party holding only the
public key; the last column, as it does when something does not match and each record is
parsed to name the first bad one.

Ingest (targets: 20,000 records/s on SQLite, 10,000/s on PostgreSQL): the same events
through the collector's own loop (`Collector.run`: the stream read by a thread of its own;
each event parsed, a container's create and an exec's start enriched from the recorded
inspect documents of tests/data/engine/docker26, the health-check and drift bookkeeping;
then numbered, hashed, checkpointed and written in the store's transaction by the drainer,
a batch at a time while the next events are taken), with an engine that answers from those
recorded documents instead of a socket — what is measured is hullcheck's cost, from the
collector's start until the last record is in the store.
"""

from __future__ import annotations

import datetime
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator

import orjson
from tests.infra.postgres import PrivatePostgres

from bench.sbom import machine
from hullcheck.api import add_host, open_store
from hullcheck.api.audit import _exported, _sections, export_line, verify_export
from hullcheck.audit import merkle
from hullcheck.audit.collector import Collector
from hullcheck.audit.log import CHECKPOINT_EVERY, LogWriter, origin
from hullcheck.audit.note import SignerKey
from hullcheck.audit.records import Record, from_event
from hullcheck.audit.verify import read_checkpoints, verify
from hullcheck.engine.client import decode_event, event_lines
from hullcheck.model import Host

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
        header = {"log": origin("hullcheck.bench", "bench"), "key": str(signer.verifier())}
        out.write(orjson.dumps(header) + b"\n")

        def flush() -> None:
            nonlocal spent
            start = time.perf_counter()
            appended = writer.append(batch)
            notes.append(writer.checkpoint())
            spent += time.perf_counter() - start
            out.writelines(export_line(record, leaf) for record, leaf in appended)
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


def check(path: str, signer: SignerKey) -> tuple[float, float, int, int]:
    """Seconds to verify the export at ``path`` as ``hullcheck audit verify --export`` does
    (each record's bytes hashed as written), and as it does when something does not match
    (each record parsed, to name it); records and checkpoints checked."""
    start = time.perf_counter()
    (verdict,) = verify_export(path, signer.verifier()).values()
    seconds = time.perf_counter() - start
    assert verdict.intact, verdict.problem
    start = time.perf_counter()
    with open(path, "rb") as handle:
        notes = [
            orjson.loads(line)["checkpoint"] for line in handle if line.startswith(b'{"checkpoint"')
        ]
    checkpoints, problem = read_checkpoints(notes, origin("hullcheck.bench", "bench"))
    assert problem is None, problem
    parsed = verify(_exported(path, _sections(path)[0]), checkpoints, signer.verifier())
    assert parsed.intact, parsed.problem
    return seconds, time.perf_counter() - start, verdict.records, verdict.checkpoints


INGEST = 100_000


class RecordedEngine:
    """Answers the collector's questions from documents recorded from Docker 26; its event
    stream sends ``events`` (held as the bytes a socket would carry, decoded by the
    engine client's own code as they are read) as fast as they are read, then waits (as an
    idle engine's does) until the collector ends it."""

    host = "recorded"

    def __init__(self, events: list[dict[str, object]]) -> None:
        with open(os.path.join(ENGINE, "docker26", "container-running.json"), "rb") as handle:
            self.container = orjson.loads(handle.read())
        with open(os.path.join(ENGINE, "docker26", "exec-inspect.json"), "rb") as handle:
            self.exec = orjson.loads(handle.read())
        # as on the socket: dockerd writes (and flushes) each event as a line of JSON
        self.stream = [json.dumps(event).encode() + b"\n" for event in events]
        self.ended = threading.Event()

    def clock(self) -> int:
        return time.time_ns()

    def list_containers(self) -> list[dict[str, object]]:
        return []

    def image_listing(self) -> list[dict[str, object]]:
        return []

    def networks(self) -> list[dict[str, object]]:
        return []

    def volumes(self) -> list[dict[str, object]]:
        return []

    def events(self, since: str, until: str | None = None) -> Iterator[dict[str, object]]:
        return map(decode_event, self.event_lines(since, until))

    def event_lines(self, since: str, until: str | None = None) -> Iterator[bytes]:
        if until is not None:
            return  # the replay at connection: nothing before
        yield from event_lines(self.stream)  # as EngineClient.event_lines splits them
        self.ended.wait()

    def interrupt(self) -> None:
        self.ended.set()

    def inspect(self, kind: str, object_id: str) -> dict[str, object] | None:
        return self.container if kind == "container" else None

    def exec_inspect(self, exec_id: str) -> dict[str, object]:
        return self.exec

    def changes(self, container_id: str) -> list[dict[str, object]]:
        return []

    def top(self, container_id: str) -> None:
        return None


def _raw_events(count: int) -> Iterator[dict[str, object]]:
    """The recorded events, each round with new object IDs and every event a nanosecond
    after the one before (the collector skips what is not after its cursor)."""
    events = [e for e, podman in _events() if not podman]
    moment = 1_700_000_000_000_000_000
    produced = 0
    round_ = 0
    while produced < count:
        for event in events:
            if produced == count:
                return
            actor = dict(event.get("Actor") or {})  # type: ignore[call-overload]
            actor["ID"] = f"{actor.get('ID') or ''}-{round_}"
            attributes = dict(actor.get("Attributes") or {})
            if "execID" in attributes:
                attributes["execID"] = f"{attributes['execID']}-{round_}"
            actor["Attributes"] = attributes
            moment += 1
            yield {**event, "Actor": actor, "timeNano": moment}
            produced += 1
        round_ += 1


def ingest(url: str, signer: SignerKey) -> float:
    """Records per second into the store at ``url``, through the collector's own loop
    (``Collector.run``: the stream read by a thread of its own, each event taken, batches
    written by the drainer while the next are taken), until the last one is in the store."""
    with open_store(url) as store:
        engine = RecordedEngine(list(_raw_events(INGEST)))
        collector = Collector(engine, store.audit, "hullcheck.bench", "bench", signer)  # type: ignore[arg-type]
        stop = threading.Event()
        runner = threading.Thread(target=collector.run, kwargs={"stop": stop})
        gc.freeze()  # as `hullcheck audit watch` does once started
        start = time.perf_counter()
        runner.start()
        while collector.recorded < INGEST:  # (asking the store would slow the collector)
            time.sleep(0.05)
        spent = time.perf_counter() - start
        stop.set()
        runner.join()
        gc.unfreeze()
        size = store.audit.head("bench").size
    return size / spent


RATE = 100
"""Events per second the engine is made to send while the collector's CPU is measured."""
WINDOW = 30.0


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def collector_cpu() -> tuple[float, int, int]:
    """A real collector (``hullcheck audit watch`` in its own process) against a private
    Docker 20.10 engine sent ``RATE`` events a second (volumes created and removed) for
    ``WINDOW`` seconds: its CPU as a share of one core, events sent, events recorded."""
    from tests.infra.engine import PrivateEngine

    engine = PrivateEngine("bench-audit")
    engine.start()
    client = engine.client()
    with tempfile.TemporaryDirectory(prefix="hc-bench-collector-") as work:
        url = f"sqlite:///{os.path.join(work, 'hc.db')}"
        environment = {**os.environ, "HULLCHECK_HOME": work}
        with open_store(url) as store:
            add_host(store, Host("bench", engine.host, timeout=30))
        watcher = subprocess.Popen(
            [sys.executable, "-m", "hullcheck", "audit", "watch", "--db", url],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(5)  # started, first connection reconciled
            tag = uuid.uuid4().hex[:8]
            before = _cpu_seconds(watcher.pid)
            start = time.monotonic()
            sent = 0
            while time.monotonic() - start < WINDOW:
                client.volumes.create(f"bench-{tag}-{sent}").remove()
                sent += 2
                pause = start + sent / RATE - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            elapsed = time.monotonic() - start
            time.sleep(2)  # the last events written
            used = _cpu_seconds(watcher.pid) - before
        finally:
            watcher.terminate()
            watcher.wait(timeout=30)
            client.close()
            engine.stop()
        with open_store(url) as store:
            recorded = len(
                [r for r in store.audit.search(kinds=["volume"]) if tag in (r.name or "")]
            )
    return used / elapsed, sent, recorded


RUNS = 3
"""Ingest runs per store, each into a new database: the machines are shared and noisy, the
best and the median are shown."""


def main() -> int:
    signer = SignerKey.generate("hullcheck.bench")
    sqlite = []
    for run in range(RUNS):
        with tempfile.TemporaryDirectory(prefix="hc-bench-audit-") as work:
            sqlite.append(ingest(f"sqlite:///{os.path.join(work, f'hc-{run}.db')}", signer))
    server = PrivatePostgres()
    server.start()
    try:
        postgres = [ingest(server.database(), signer) for _ in range(RUNS)]
    finally:
        server.stop()
    rows = []
    with tempfile.TemporaryDirectory(prefix="hc-bench-audit-") as work:
        for count in SIZES:
            path = os.path.join(work, f"audit-{count}.jsonl")
            appended, notes = write(count, path, signer)
            seconds, parsed, records, checked = check(path, signer)
            size = os.path.getsize(path) / 1e6
            rows.append((count, appended, notes, size, seconds, parsed, records, checked))
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nAudit log benchmark · {now} · {machine()}\n")
    print(
        "| records | append s (records/s) | checkpoints compared of signed | export MB "
        "| verify s | target | verify s, each record parsed (naming a problem) |"
    )
    print("|---|---|---|---|---|---|---|")
    for count, appended, notes, size, seconds, parsed, records, checked in rows:
        target = "under 10 s" if count == 1_000_000 else ""
        print(
            f"| {records:,} | {appended:.1f} ({count / appended:,.0f}/s) | {checked:,} of "
            f"{notes:,} | {size:.0f} | {seconds:.1f} | {target} | {parsed:.1f} |"
        )
    print(
        f"\n| ingest of {INGEST:,} events through the collector | records/s, best of {RUNS} "
        "| median | target |"
    )
    print("|---|---|---|---|")
    for name, rates, target in (
        ("SQLite (embedded file)", sqlite, "20,000"),
        ("PostgreSQL 15 (private server, loopback)", postgres, "10,000"),
    ):
        print(f"| {name} | {max(rates):,.0f} | {statistics.median(rates):,.0f} | {target} |")
    share, sent, recorded = collector_cpu()
    print(
        f"\n| collector on a real engine, {RATE} events/s for {WINDOW:.0f} s | CPU of one core "
        "| events sent | recorded | target |"
    )
    print("|---|---|---|---|---|")
    print(f"| Docker 20.10, SQLite | {share:.1%} | {sent:,} | {recorded:,} | under 5%, none lost |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
