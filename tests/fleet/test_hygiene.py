"""The hygiene report's judgement from recorded engine documents, through a fake of the
``FleetStore`` Protocol the fleet owns: no engine, no database (the real-engine path is
``test_sync.py``). The fleet: one host with the recordings of ``tests/data/engine`` — a
running container without owner or manager, a created one (``owner``, Compose labels)
mounting a named volume, their image, that volume and the ``none`` network."""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from hullcheck.engine.documents import summary
from hullcheck.fleet.hygiene import Settings, report
from hullcheck.model import Placement, Sample, Seen, Usage

ENGINE = os.path.join(os.path.dirname(__file__), "..", "data", "engine")
LATER = datetime.datetime(2026, 12, 30, tzinfo=datetime.UTC)  # five weeks after recording


def _document(name: str) -> dict[str, Any]:
    with open(os.path.join(ENGINE, name), encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document


def _seen(kind: str, document: dict[str, Any]) -> Seen:
    if kind == "container":
        state = document["State"]["Status"]
        return Seen(document["Id"], document["Name"].lstrip("/"), document["Image"], state, {})
    if kind == "volume":
        return Seen(document["Name"], document["Name"], None, None, {})
    if kind == "network":
        return Seen(document["Id"], document["Name"], None, None, {})
    return Seen(document["Id"], None, None, None, {})


class FakeInventory:
    """The ``Inventory`` Protocol over recorded documents, summarised as a sync stores them."""

    def __init__(self, documents: dict[str, list[dict[str, Any]]]) -> None:
        self.documents = documents

    def objects(
        self, kind: str, *, host: str | None = None, present: bool = True, full: bool = False
    ) -> list[tuple[str, Seen, datetime.datetime | None]]:
        return list(self.each(kind, host=host, present=present, full=full))

    def each(
        self, kind: str, *, host: str | None = None, present: bool = True, full: bool = False
    ) -> Iterator[tuple[str, Seen, datetime.datetime | None]]:
        for document in self.documents.get(kind, []):
            seen = _seen(kind, document)
            data = document if full else summary(kind, document)
            yield "h1", seen._replace(data=data), None

    def usage(self, since: datetime.datetime) -> FakeUsage:
        return FakeUsage()

    def save_inventory(
        self, name: str, seen: dict[str, list[Seen]], samples: Sequence[Sample] = ()
    ) -> int:
        raise AssertionError("a report writes nothing")

    def placements(self, image_ids: Iterable[str]) -> list[Placement]:
        return []


class FakeUsage:
    def get(self, key: tuple[str, str]) -> Usage | None:
        return None  # no samples: nothing is judged idle


class FakeStore:
    def __init__(self, documents: dict[str, list[dict[str, Any]]]) -> None:
        self.fleet = FakeInventory(documents)
        self.images: Any = None  # a report reads no stored SBOM, host list or action
        self.vulns: Any = None
        self.hosts: Any = None
        self.actions: Any = None

    def has_image(self, image_id: str, scanner_key: str) -> bool:
        return False


def _fleet(*, stopped: bool = True) -> FakeStore:
    containers = [_document("container-running.json")]
    if stopped:
        containers.append(_document("container-stopped.json"))
    return FakeStore(
        {
            "container": containers,
            "image": [_document("image.json")],
            "volume": [_document("volume.json")],
            "network": [_document("network.json")],
        }
    )


def _kinds(items: list[Any], section: str) -> set[tuple[str, str]]:
    return {(i.kind, i.object) for i in items if i.section == section}


def test_rogue_rules_judge_each_container_by_its_labels() -> None:
    items = report(_fleet(), Settings(now=LATER))  # type: ignore[arg-type]  # a fake store
    rogue = _kinds(items, "rogue")
    assert ("no-owner", "python-0") in rogue and ("unmanaged", "python-0") in rogue
    assert not {k for k, name in rogue if name == "bench-record-stopped"}  # owner + Compose
    skipped = report(_fleet(), Settings(now=LATER, skip_rules=("no-owner",)))  # type: ignore[arg-type]
    assert ("no-owner", "python-0") not in _kinds(skipped, "rogue")


def test_garbage_spares_what_a_container_uses() -> None:
    items = report(_fleet(), Settings(now=LATER))  # type: ignore[arg-type]
    # the never-started container, five weeks old, is garbage; the volume it mounts, the
    # image the containers use and the default network are not
    assert _kinds(items, "garbage") == {("stopped-container", "bench-record-stopped")}
    assert _kinds(items, "sprawl") == {("containers-per-image", "hc-test/python:fac857eee768")}
    # one day after recording nothing is old enough to be garbage yet
    early = report(_fleet(), Settings(now=datetime.datetime(2026, 11, 23, tzinfo=datetime.UTC)))  # type: ignore[arg-type]
    assert not any(name == "bench-record-stopped" for _, name in _kinds(early, "garbage"))


def test_a_volume_no_container_mounts_is_garbage() -> None:
    items = report(_fleet(stopped=False), Settings(now=LATER))  # type: ignore[arg-type]
    # the running container still uses the image
    assert _kinds(items, "garbage") == {("unused-volume", "bench-record-data")}
    assert not _kinds(items, "idle")  # no samples: nothing is judged idle
