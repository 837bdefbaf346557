"""What a sync keeps of the engine's documents, on recorded real documents."""

from __future__ import annotations

import datetime
import json
import os
from typing import Any

import pytest
from docker.utils import version_lt

from hullcheck.engine.client import MINIMUM_API_VERSION
from hullcheck.engine.documents import familiar, familiar_names, sample, summary
from hullcheck.fleet.hygiene import ROGUE_RULES, Settings
from hullcheck.redaction import redact_document
from hullcheck.times import parse_time
from tests.infra.engine import KINDS

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


RECORDED = sorted(name for name in os.listdir(ENGINE) if os.path.isdir(os.path.join(ENGINE, name)))
"""Engines of the matrix whose answers ``tests.infra.record`` recorded (README.md there)."""


def _recorded(kind: str, name: str) -> dict[str, Any]:
    with open(os.path.join(ENGINE, kind, name), encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document


def test_every_engine_of_the_matrix_is_recorded() -> None:
    assert sorted(KINDS) == RECORDED


@pytest.mark.parametrize("kind", RECORDED)
def test_every_engines_stats_become_the_same_sample(kind: str) -> None:
    stats = _recorded(kind, "stats-one-shot.json")
    got = sample("c1", stats)
    memory = stats["memory_stats"]
    # Docker's usage counts the page cache the kernel can drop, and says how much in `stats`;
    # Podman's leaves it out already and has no breakdown
    assert got.memory_bytes == memory["usage"] - (memory.get("stats") or {}).get("inactive_file", 0)
    assert got.memory_bytes is not None and 0 < got.memory_bytes < 64 * 1024 * 1024
    assert got.memory_limit == memory["limit"]
    assert got.cpu_ns == stats["cpu_stats"]["cpu_usage"]["total_usage"] and got.cpu_ns > 0
    assert got.net_rx == 0 and got.net_tx == 0  # --network none
    assert got.taken_at == parse_time(stats["read"])


@pytest.mark.parametrize("kind", RECORDED)
def test_every_engines_container_reads_the_same_to_reports(kind: str) -> None:
    """A `sleep infinity` container with an owner label and an environment variable, run
    the same way on each engine: the summary, the rules and the redaction agree."""
    document = _recorded(kind, "container-running.json")
    brief = summary("container", familiar_names("container", document))
    assert brief["State"]["Status"] == "running"
    assert brief["Config"]["Labels"] == {"owner": "team-a"}
    assert brief["HostConfig"]["NetworkMode"] == "none"
    assert "Privileged" not in brief["HostConfig"]
    settings = Settings()
    judged = {rule.name for rule in ROGUE_RULES if rule.check(brief, settings)}
    assert judged == {rule.name for rule in ROGUE_RULES if rule.check(document, settings)}
    assert "GREETING=hello" in json.dumps(document)  # the engine tells the value …
    redacted = json.dumps(redact_document(document))
    assert "GREETING" in redacted and "hello" not in redacted  # … hullcheck never keeps it


@pytest.mark.parametrize("kind", RECORDED)
def test_every_engine_answers_a_version_hullcheck_speaks(kind: str) -> None:
    version = _recorded(kind, "version.json")
    assert not version_lt(version["ApiVersion"], MINIMUM_API_VERSION)


def test_familiar_names_are_dockers() -> None:
    assert familiar("docker.io/library/nginx:1") == "nginx:1"
    assert familiar("docker.io/library/nginx@sha256:" + "a" * 64) == "nginx@sha256:" + "a" * 64
    assert familiar("docker.io/corp/api:2") == "corp/api:2"
    assert familiar("docker.io/library/team/tool:3") == "library/team/tool:3"
    assert familiar("index.docker.io/library/redis") == "redis"
    for kept in ("localhost/hc-test/python:1", "quay.io/podman/hello:latest", "nginx:1"):
        assert familiar(kept) == kept
