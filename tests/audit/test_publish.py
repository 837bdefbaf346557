"""Checkpoints published off the host, with consistency proofs: a third party holding only
the public key and what was published can tell a log that only grew from one cut short or
rewritten — on SQLite and PostgreSQL, to a file and to a real webhook."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from sqlalchemy import text

from hullcheck import api
from hullcheck.api import audit as audit_api
from hullcheck.audit import log as log_module
from hullcheck.audit import merkle
from hullcheck.audit.log import LogWriter, origin
from hullcheck.audit.note import Checkpoint, note_text
from hullcheck.audit.publish import Target
from hullcheck.audit.records import Record, from_event
from hullcheck.store import Store
from tests.infra.cli import hullcheck
from tests.infra.webhook import Hook

ENGINE = os.path.join(os.path.dirname(__file__), "..", "data", "engine")
HOST = "prod-1"


def _records(kind: str) -> list[Record]:
    with open(os.path.join(ENGINE, kind, "events.jsonl"), encoding="utf-8") as handle:
        return [from_event(HOST, json.loads(line)) for line in handle]


def _lines(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.mark.parametrize("store", ["sqlite", "postgres"], indirect=True)
def test_a_log_that_only_grew_is_witnessed_consistent_and_a_cut_one_caught(
    store: Store, tmp_path: str
) -> None:
    published = os.path.join(tmp_path, "published.jsonl")
    target = Target.parse(published)
    records = _records("docker26") + _records("podman5")
    for start in (0, 20, 26):  # three appends, a publication after each
        audit_api.record_events(store, HOST, records[start : {0: 20, 20: 26, 26: 49}[start]])
        assert audit_api.publish(store, [target]) == []
        assert audit_api.publish(store, [target]) == []  # nothing new: nothing sent
    lines = _lines(published)
    assert [line["size"] for line in lines] == [20, 26, 49]
    assert "consistency" not in lines[0]
    assert [line["consistency"]["from"] for line in lines[1:]] == [20, 26]
    assert os.stat(published).st_mode & 0o077 == 0

    key = audit_api.verifier_key()
    (found,) = audit_api.witness_file(published, key)
    assert (found.origin, found.checkpoints, found.size, found.problem) == (
        f"hullcheck.audit/{HOST}",
        3,
        49,
        None,
    )
    given = audit_api.Published()
    given.read(published)
    assert audit_api.verify_log(store, HOST, key, given).intact

    # the newest records and their checkpoints cut off in the store: the publication knows
    with store.audit.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_records WHERE seq >= 30"))
        connection.execute(text("DELETE FROM audit_checkpoints WHERE size > 26"))
    verdict = audit_api.verify_log(store, HOST, key, given)
    assert verdict.problem is not None
    assert "records 30 to 48 are missing" in verdict.problem.message


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_rewritten_log_is_caught_by_the_witness_without_a_single_record(
    store: Store, tmp_path: str
) -> None:
    """Someone holding the host — its database and its signing key — rewrites an exec's
    exit code in published history and re-signs everything. The publisher refuses to
    publish what no longer extends its last publication; with its memory wiped too, what it
    publishes carries no proof; a forged line with the old proof fails it."""
    published = os.path.join(tmp_path, "published.jsonl")
    target = Target.parse(published)
    records = _records("docker26")
    audit_api.record_events(store, HOST, records[:20])
    assert audit_api.publish(store, [target]) == []
    audit_api.record_events(store, HOST, records[20:])
    assert audit_api.publish(store, [target]) == []

    # the rewrite: record 5 edited, every leaf, the head and the checkpoints made anew
    signer = audit_api.signing_key()
    kept = [record for record, _ in store.audit.records(HOST)]
    kept[5] = kept[5].but({**kept[5].context, "rewritten": "yes"})
    writer = LogWriter(origin("hullcheck.audit", HOST), signer, merkle.Frontier())
    entries = writer.append(kept)
    with store.audit.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_records"))
        connection.execute(text("DELETE FROM audit_checkpoints"))
        connection.execute(text("DELETE FROM audit_heads"))
    store.audit.append(HOST, 0, entries, writer.frontier, [(26, writer.checkpoint())])
    audit_api.record_events(store, HOST, _records("podman5"))  # and the log goes on

    (refused,) = audit_api.publish(store, [target])
    assert "do not hash to its checkpoint" in refused
    memory = os.path.join(os.environ["HULLCHECK_HOME"], "data", "audit-published")
    for name in os.listdir(memory):
        os.remove(os.path.join(memory, name))
    assert audit_api.publish(store, [target]) == []
    key = audit_api.verifier_key()
    (found,) = audit_api.witness_file(published, key)
    assert found.problem is not None
    assert "no proof that the log of 49 records extends the one of 26" in found.problem

    # the forged line: the rewritten log's checkpoint of 26 in place of the published one
    lines = _lines(published)
    forged = {**lines[1], "checkpoint": store.audit.checkpoint_at_most(HOST, 26)[1]}  # type: ignore[index]
    with open(published, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(line) + "\n" for line in [lines[0], forged])
    (found,) = audit_api.witness_file(published, key)
    assert found.problem is not None
    assert "does not extend the one of 20" in found.problem


def test_checkpoints_reach_a_webhook_that_failed_first_and_prove_their_growth(
    webhook: tuple[str, type[Hook]], tmp_path: str
) -> None:
    url, hook = webhook
    db = f"sqlite:///{tmp_path}/hc.db"
    records = _records("docker26")
    with api.open_store(db) as store:
        audit_api.record_events(store, HOST, records[:20])
    first = hullcheck("audit", "publish", "--to", url, "--db", db)
    assert first.returncode == 0, first.stderr  # (after two 503s: retried)
    with api.open_store(db) as store:
        audit_api.record_events(store, HOST, records[20:])
    second = hullcheck("audit", "publish", "--to", url, "--db", db)
    assert second.returncode == 0, second.stderr
    assert [body["size"] for body in hook.received] == [20, 26]
    old, new = hook.received
    proof = [bytes.fromhex(h) for h in new["consistency"]["proof"]]
    roots = [Checkpoint.parse(note_text(body["checkpoint"])).root for body in (old, new)]
    assert merkle.verify_consistency(20, 26, proof, *roots)

    # what the webhook received, as a file: the witness agrees
    path = os.path.join(tmp_path, "received.jsonl")
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(body) + "\n" for body in hook.received)
    witnessed = hullcheck("audit", "witness", path)
    assert witnessed.returncode == 0, witnessed.stderr
    assert witnessed.stdout == (
        f"hullcheck.audit/{HOST}: consistent: 2 checkpoints, the newest of 26 records\n"
    )
    unreachable = hullcheck("audit", "publish", "--to", "http://127.0.0.1:9/x", "--db", db)
    assert unreachable.returncode == 1 and "publishing to http://127.0.0.1:9 failed" in (
        unreachable.stderr
    )


@pytest.mark.parametrize("store", ["sqlite", "postgres"], indirect=True)
def test_writes_between_seals_are_vouched_for_once_the_end_is_sealed(store: Store) -> None:
    """The collector seals its log's end at most every few seconds, not after every write:
    until then verify says which records no checkpoint covers yet, and sealing twice (or
    after another writer sealed) signs nothing more."""
    signer = audit_api.signing_key()
    records = _records("docker26")
    for start in (0, 10, 20):
        log_module.record(
            store.audit, "hullcheck.audit", HOST, records[start : start + 10], signer, seal=False
        )
    key = audit_api.verifier_key()
    verdict = audit_api.verify_log(store, HOST, key)
    assert verdict.problem is not None and "no checkpoint vouches" in verdict.problem.message
    log_module.seal(store.audit, "hullcheck.audit", HOST, signer)
    log_module.seal(store.audit, "hullcheck.audit", HOST, signer)
    assert len(store.audit.checkpoints(HOST)) == 1
    verdict = audit_api.verify_log(store, HOST, key)
    assert verdict.intact and (verdict.records, verdict.covered) == (26, 26)


def test_bad_targets_and_files_are_refused_in_one_line(tmp_path: str) -> None:
    nowhere = hullcheck("audit", "publish", "--to", f"{tmp_path}/missing/witness.jsonl")
    assert nowhere.returncode == 2 and "no directory" in nowhere.stderr
    assert "Traceback" not in nowhere.stderr
    hostless = hullcheck("audit", "publish", "--to", "https:///path")
    assert hostless.returncode == 2 and "not a URL" in hostless.stderr
    garbage = os.path.join(tmp_path, "garbage.jsonl")
    with open(garbage, "w", encoding="utf-8") as handle:
        handle.write("not json\n")
    hullcheck("audit", "key")  # (a key to check with)
    refused = hullcheck("audit", "witness", garbage)
    assert refused.returncode == 2 and "line 1 is not a published checkpoint" in refused.stderr
