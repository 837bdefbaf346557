"""What a sync keeps of the engine's documents, on recorded real documents."""

from __future__ import annotations

import datetime
import json
import os

from hullcheck.engine.documents import sample, summary
from hullcheck.fleet.hygiene import ROGUE_RULES, Settings
from hullcheck.times import parse_time

ENGINE = os.path.join(os.path.dirname(__file__), "..", "data", "engine")


def _load(name: str) -> dict[str, object]:
    with open(os.path.join(ENGINE, name), encoding="utf-8") as handle:
        document: dict[str, object] = json.load(handle)
    return document


def test_one_shot_stats_become_a_sample() -> None:
    stats = _load("stats-one-shot.json")
    got = sample("c1", stats)
    memory = stats["memory_stats"]
    assert isinstance(memory, dict)
    # cgroup v1: usage less the inactive page cache, as `docker stats` shows it
    assert got.memory_bytes == memory["usage"] - memory["stats"]["total_inactive_file"]
    assert got.memory_limit == memory["limit"]
    cpu = stats["cpu_stats"]
    assert isinstance(cpu, dict)
    assert got.cpu_ns == cpu["cpu_usage"]["total_usage"]
    assert got.net_rx == 0 and got.net_tx == 0  # --network none: no interfaces
    assert got.taken_at == parse_time(stats["read"])
    assert got.taken_at.tzinfo is not None


def test_summary_keeps_what_reports_read_and_is_small() -> None:
    running = _load("container-running.json")
    brief = summary("container", running)
    assert len(json.dumps(brief)) < len(json.dumps(running)) / 5
    assert brief["State"]["Status"] == "running"  # type: ignore[index]
    assert brief["HostConfig"]["NetworkMode"] == "none"  # type: ignore[index]
    assert set(brief["NetworkSettings"]["Networks"]) == {"none"}  # type: ignore[index]
    assert "Privileged" not in brief["HostConfig"]  # type: ignore[operator]  # false is left out
    stopped = summary("container", _load("container-stopped.json"))
    assert stopped["Mounts"] == [  # type: ignore[index]
        {
            "Destination": "/data",
            "Name": "bench-record-data",
            "RW": True,
            "Source": stopped["Mounts"][0]["Source"],  # type: ignore[index]
            "Type": "volume",
        }
    ]


def test_rules_read_a_summary_as_they_read_the_document() -> None:
    settings = Settings()
    for name in ("container-running.json", "container-stopped.json"):
        document = _load(name)
        brief = summary("container", document)
        for rule in ROGUE_RULES:
            assert rule.check(brief, settings) == rule.check(document, settings), rule.name


def test_engine_times() -> None:
    assert parse_time("2026-11-22T20:54:23.98950668Z") == datetime.datetime(
        2026, 11, 22, 20, 54, 23, 989506, tzinfo=datetime.UTC
    )
    assert parse_time("2026-11-22T21:54:23+01:00") == datetime.datetime(
        2026, 11, 22, 20, 54, 23, tzinfo=datetime.UTC
    )
    assert parse_time("0001-01-01T00:00:00Z") is None
    assert parse_time("yesterday") is None
