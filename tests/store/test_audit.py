"""The audit logs in the store, on SQLite and PostgreSQL: appended in transactions, read
back in order, verified — and rows edited, deleted or cut off by hand are caught."""

from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import delete, update

from hullcheck.audit.log import record
from hullcheck.audit.note import SignerKey
from hullcheck.audit.records import Record, from_event
from hullcheck.audit.verify import Verdict, read_checkpoints, verify
from hullcheck.errors import StoreError
from hullcheck.store import Store
from hullcheck.store.models import AuditCheckpointRow, AuditRecordRow

ENGINE = os.path.join(os.path.dirname(__file__), "..", "data", "engine")
LOG = "hullcheck.test"


def _events(kind: str) -> list[Record]:
    with open(os.path.join(ENGINE, kind, "events.jsonl"), encoding="utf-8") as handle:
        return [from_event("prod-1", json.loads(line), podman=kind == "podman5") for line in handle]


@pytest.fixture(scope="module")
def signer() -> SignerKey:
    return SignerKey.generate(LOG)


def _verify(store: Store, signer: SignerKey, published: tuple[str, ...] = ()) -> Verdict:
    notes = [*store.audit.checkpoints("prod-1"), *published]
    checkpoints, problem = read_checkpoints(notes, f"{LOG}/prod-1")
    assert problem is None
    return verify(store.audit.entries("prod-1"), checkpoints, signer.verifier())


def test_a_log_is_appended_read_back_and_verified(store: Store, signer: SignerKey) -> None:
    docker, podman = _events("docker26"), _events("podman5")
    assert record(store.audit, LOG, "prod-1", docker, signer) == 26
    assert record(store.audit, LOG, "prod-1", podman, signer) == 49
    assert record(store.audit, LOG, "prod-2", docker[:3], signer) == 3
    assert store.audit.hosts() == ["prod-1", "prod-2"]
    read = [r for r, _ in store.audit.records("prod-1")]
    assert [r.seq for r in read] == list(range(49))
    assert [(r.action, r.name, r.context) for r in read] == [
        (r.action, r.name, r.context) for r in docker + podman
    ]
    verdict = _verify(store, signer)
    assert verdict.intact and (verdict.records, verdict.covered, verdict.checkpoints) == (49, 49, 2)
    # a writer that read the head before another appended: refused, nothing written
    stale = store.audit.head("prod-1")
    record(store.audit, LOG, "prod-1", docker[:1], signer)
    with pytest.raises(StoreError, match="another writer appended first"):
        store.audit.append("prod-1", stale.size, [], stale, [])
    assert _verify(store, signer).records == 50


def test_rows_changed_by_hand_are_caught(store: Store, signer: SignerKey) -> None:
    record(store.audit, LOG, "prod-1", _events("docker26") + _events("podman5"), signer)
    published = store.audit.checkpoints("prod-1")[-1]  # copied off the host
    engine = store.audit.engine
    table = AuditRecordRow
    with engine.begin() as connection:  # someone hides an exec's failure
        connection.execute(
            update(table)
            .where(table.host == "prod-1", table.seq == 6)
            .values(context='{"exitCode":"0"}')
        )
    verdict = _verify(store, signer)
    assert verdict.problem is not None and verdict.problem.seq == 6
    assert verdict.problem.message.startswith("record 6 was edited")
    with engine.begin() as connection:  # … then removes it
        connection.execute(delete(table).where(table.host == "prod-1", table.seq == 6))
    verdict = _verify(store, signer)
    assert verdict.problem is not None and verdict.problem.message.startswith("record 6 is missing")
    with engine.begin() as connection:  # … then cuts the log and its checkpoints short
        connection.execute(delete(table).where(table.host == "prod-1", table.seq >= 6))
        connection.execute(delete(AuditCheckpointRow).where(AuditCheckpointRow.host == "prod-1"))
    assert not _verify(store, signer).covered  # nothing on the host vouches any more
    verdict = _verify(store, signer, (published,))
    assert verdict.problem is not None and verdict.problem.seq == 6
    assert "a signed checkpoint of 49 records exists" in verdict.problem.message
