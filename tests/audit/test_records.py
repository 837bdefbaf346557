"""Engine events become records in one vocabulary, on the events recorded from every engine
of the matrix (tests/data/engine/KIND/events.jsonl: the same scripted life on each)."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import pytest

from hullcheck.audit.records import Record, event_time, from_event
from tests.infra.engine import KINDS

ENGINE = os.path.join(os.path.dirname(__file__), "..", "data", "engine")


def _records(kind: str) -> list[Record]:
    with open(os.path.join(ENGINE, kind, "events.jsonl"), encoding="utf-8") as handle:
        events = [json.loads(line) for line in handle]
    return [from_event("h1", e, podman=KINDS[kind].program == "podman") for e in events]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_engines_container_life_reads_alike(kind: str) -> None:
    records = _records(kind)
    life = [r.action for r in records if r.kind == "container"]
    # what every engine says, in one vocabulary, in order
    core = ["create", "start", "exec_start", "exec_die", "pause", "unpause"]
    assert [a for a in life if a in core][: len(core)] == core
    assert life[-1] == "destroy" and {"stop", "kill", "die"} <= set(life)
    (execution,) = [r for r in records if r.action == "exec_die"]
    assert execution.context["exitCode"] == "3"  # the exec's own exit code, on every engine
    assert execution.name == "recorded" and execution.context["owner"] == "team-a"
    started = next(r for r in records if r.action == "exec_start")
    if kind == "podman5":  # Podman's exec event says neither the command nor the exec
        assert started.context["engine_action"] == "exec" and "command" not in started.context
    else:
        assert started.context["command"] == "sh -c exit 3" and "execID" in started.context
    assert [r.action for r in records if r.kind == "volume"] == ["create", "destroy"]
    assert [r.action for r in records if r.kind == "network" and r.name == "recorded-net"] == [
        "create",
        "destroy",
    ]
    assert {"load", "tag", "untag"} <= {r.action for r in records if r.kind == "image"}
    # RFC 3339 with nanoseconds; in arrival order, which is not time order on Podman (an
    # image's untag and delete arrive microseconds out of order)
    assert all(r.time.endswith("Z") and len(r.time) == 30 for r in records)


def test_a_record_is_its_canonical_json() -> None:
    (record, *_) = _records("docker26")
    leaf = record.leaf()
    assert leaf.startswith(b'{"action":"load","actor":null,"context":{}')
    assert Record.from_leaf(leaf) == record and b" " not in leaf
    assert set(json.loads(leaf)) == {f.name for f in dataclasses.fields(Record)}  # every one


def test_events_not_understood_are_kept_whole() -> None:
    with open(os.path.join(ENGINE, "docker26", "events.jsonl"), encoding="utf-8") as handle:
        real: dict[str, Any] = json.loads(handle.readline())
    unsaid = {k: v for k, v in real.items() if k not in ("Action", "status")}
    for odd in ({**real, "Type": "builder"}, unsaid):
        record = from_event("h1", odd)
        assert (record.kind, record.action, record.context) == ("unknown", "unknown", {"raw": odd})
        assert record.time == "2026-12-01T08:09:25.608443532Z" == event_time(real)
