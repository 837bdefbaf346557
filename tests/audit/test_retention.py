"""Retention by age: the oldest records go, the signed checkpoint of what went and its tree's
frontier stay, and the records kept still verify — on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
import os
import time

import pytest
from sqlalchemy import text

from hullcheck.api import audit as audit_api
from hullcheck.audit.records import Record, from_event
from hullcheck.store import Store

ENGINE = os.path.join(os.path.dirname(__file__), "..", "data", "engine")
HOST = "prod-1"


def _events(kind: str) -> tuple[list[Record], int]:
    """A recorded event stream as records, and the second of its last event."""
    with open(os.path.join(ENGINE, kind, "events.jsonl"), encoding="utf-8") as handle:
        events = [json.loads(line) for line in handle]
    return [from_event(HOST, event) for event in events], max(int(e["time"]) for e in events)


def _log(store: Store) -> int:
    """Docker's 26 records (checkpoints at 20 and 26), then Podman's 23, a minute apart or
    less: the age that removes Docker's records and keeps Podman's."""
    docker, last_docker = _events("docker26")
    podman, _ = _events("podman5")
    audit_api.record_events(store, HOST, docker[:20])
    audit_api.record_events(store, HOST, docker[20:])
    audit_api.record_events(store, HOST, podman)
    return int(time.time()) - last_docker - 1


@pytest.mark.parametrize("store", ["sqlite", "postgres"], indirect=True)
def test_old_records_go_and_the_rest_still_verifies(store: Store, tmp_path: str) -> None:
    age = _log(store)
    published = store.audit.checkpoints(HOST)[-1]  # copied off the host at 49 records
    key = audit_api.verifier_key()
    publications = os.path.join(tmp_path, "published.jsonl")
    target = audit_api.Target.parse(publications)
    assert audit_api.publish(store, [target]) == []

    (result,) = audit_api.retain(store, age, actor="ops@example")
    assert (result.removed, result.kept_from, result.error) == (26, 26, None)
    kept = [record for record, _ in store.audit.records(HOST)]
    assert [r.seq for r in kept] == list(range(26, 50))
    assert all(r.time >= "2026" for r in kept)
    done = kept[-1]  # the retention is itself a record of the log
    assert (done.kind, done.action, done.actor) == ("hullcheck", "audit-retain", "ops@example")
    assert done.context["removed"] == 26 and done.context["kept_from"] == 26

    verdict = audit_api.verify_log(store, HOST, key, [published])
    assert verdict.intact, verdict.problem
    assert (verdict.records, verdict.retained_from, verdict.covered) == (50, 26, 50)

    # an export carries the anchor: a third party verifies it, with the published checkpoint
    export = os.path.join(tmp_path, "export.jsonl")
    with open(export, "wb") as handle:
        handle.writelines(audit_api.export(store, HOST))
    (elsewhere,) = audit_api.verify_export(export, key, [published]).values()
    assert elsewhere.intact and elsewhere.retained_from == 26

    # published before and after: the log retention cut still provably extends the first
    assert audit_api.publish(store, [target]) == []
    (witnessed,) = audit_api.witness_file(publications, key)
    assert (witnessed.checkpoints, witnessed.size, witnessed.problem) == (2, 50, None)

    # again at the same age: nothing more is old enough
    (again,) = audit_api.retain(store, age)
    assert (again.removed, again.kept_from) == (0, 26)


@pytest.mark.parametrize("store", ["sqlite", "postgres"], indirect=True)
def test_an_export_since_a_moment_verifies_on_its_own_with_every_hosts_log(
    store: Store, tmp_path: str
) -> None:
    _log(store)
    docker, _ = _events("docker26")
    audit_api.record_events(
        store, "prod-2", [dataclasses.replace(r, host="prod-2") for r in docker]
    )
    since = store.audit.records(HOST, 26).__next__()[0].time  # Podman's first record
    published = store.audit.checkpoints(HOST)[-1]
    key = audit_api.verifier_key()
    export = os.path.join(tmp_path, "export.jsonl")
    with open(export, "wb") as handle:
        for host in (HOST, "prod-2"):
            handle.writelines(audit_api.export(store, host, since))
    with open(export, encoding="utf-8") as handle:
        lines = [json.loads(line) for line in handle]
    # prod-1 from its checkpoint at 26, before the first record since; prod-2 has none since:
    # its last checkpoint alone, which a later export extends
    seqs = [line["record"]["seq"] for line in lines if "record" in line]
    assert seqs == list(range(26, 49))
    assert [line["anchor"]["size"] for line in lines if "anchor" in line] == [26, 26]
    verdicts = audit_api.verify_export(export, key, [published])
    assert list(verdicts) == ["hullcheck.audit/prod-1", "hullcheck.audit/prod-2"]
    assert [(v.intact, v.records, v.retained_from) for v in verdicts.values()] == [
        (True, 49, 26),
        (True, 26, 26),
    ]

    # one record of the first log edited: that log names it, the other stays intact
    edited = next(line for line in lines if line.get("record", {}).get("seq") == 30)
    edited["record"]["actor"] = "someone else"
    with open(export, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(line) + "\n" for line in lines)
    first, second = audit_api.verify_export(export, key, [published]).values()
    assert first.problem is not None and first.problem.seq == 30
    assert "record 30 was edited" in first.problem.message
    assert second.intact


@pytest.mark.parametrize("store", ["sqlite", "postgres"], indirect=True)
def test_an_anchor_or_records_slipped_back_are_caught(store: Store) -> None:
    age = _log(store)
    audit_api.retain(store, age)
    key = audit_api.verifier_key()
    with store.audit.engine.begin() as connection:
        frontier = connection.execute(
            text("SELECT kept_frontier FROM audit_heads WHERE host = :h"), {"h": HOST}
        ).scalar_one()
        forged = bytes(frontier)[:-1] + bytes([frontier[-1] ^ 1])
        connection.execute(
            text("UPDATE audit_heads SET kept_frontier = :f WHERE host = :h"),
            {"f": forged, "h": HOST},
        )
    verdict = audit_api.verify_log(store, HOST, key)
    assert not verdict.intact and verdict.problem is not None
    assert "the retention anchor does not match its checkpoint" in verdict.problem.message
    with store.audit.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_heads SET kept_frontier = :f WHERE host = :h"),
            {"f": bytes(frontier), "h": HOST},
        )
        # a record put back before the anchor: out of place
        connection.execute(
            text(
                "INSERT INTO audit_records (host, seq, time, kind, action, object_id, name, "
                "actor, context, reconstructed, leaf) SELECT host, 25, time, kind, action, "
                "object_id, name, actor, context, reconstructed, leaf FROM audit_records "
                "WHERE host = :h AND seq = 26"
            ),
            {"h": HOST},
        )
    verdict = audit_api.verify_log(store, HOST, key)
    assert not verdict.intact and verdict.problem is not None
    assert verdict.problem.seq == 26 and "inserted or moved" in verdict.problem.message


@pytest.mark.parametrize("store", ["sqlite", "postgres"], indirect=True)
def test_a_log_that_does_not_verify_is_left_whole(store: Store) -> None:
    age = _log(store)
    with store.audit.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_records SET actor = 'someone' WHERE host = :h AND seq = 3"),
            {"h": HOST},
        )
    (result,) = audit_api.retain(store, age)
    assert result.removed == 0 and result.error is not None
    assert "record 3 was edited" in result.error and "nothing removed" in result.error
    assert len(list(store.audit.records(HOST))) == 49


@pytest.mark.parametrize("store", ["sqlite", "postgres"], indirect=True)
def test_search_takes_action_families_and_image_globs_on_both_stores(store: Store) -> None:
    _log(store)
    execs = store.audit.search(actions=["exec"], images=["localhost/hc-test/*"])
    assert [r.action for r in execs] == ["exec", "exec_died"]  # (Podman's words: read raw)
    assert [r.action for r in store.audit.search(actions=["exec"], limit=2)] == [
        "exec_create",
        "exec_start",
    ]
    assert store.audit.search(images=["nginx*"]) == []
    by_id = store.audit.search(images=["sha256:febf*"], limit=3)  # (Docker 26 ran it by ID)
    assert [r.action for r in by_id] == ["create", "start", "exec_create"]
