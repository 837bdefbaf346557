"""Fakes of the fleet's ``FleetStore`` Protocols over the recorded engine documents of
``tests/data/engine``, summarised as a sync stores them: one host, ``h1``, with a running
container without owner or manager, a created one (``owner``, Compose labels) mounting a
named volume, their image, that volume and the ``none`` network. No engine, no database."""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from hullcheck.engine.documents import summary
from hullcheck.model import Action, Host, Placement, Sample, Seen, Usage

ENGINE = os.path.join(os.path.dirname(__file__), "..", "data", "engine")
LATER = datetime.datetime(2026, 12, 30, tzinfo=datetime.UTC)  # five weeks after recording


def document(name: str) -> dict[str, Any]:
    """A recorded engine document of ``tests/data/engine``."""
    with open(os.path.join(ENGINE, name), encoding="utf-8") as handle:
        found: dict[str, Any] = json.load(handle)
    return found


def _seen(kind: str, found: dict[str, Any]) -> Seen:
    if kind == "container":
        state = found["State"]["Status"]
        return Seen(found["Id"], found["Name"].lstrip("/"), found["Image"], state, {})
    if kind == "volume":
        return Seen(found["Name"], found["Name"], None, None, {})
    if kind == "network":
        return Seen(found["Id"], found["Name"], None, None, {})
    return Seen(found["Id"], None, None, None, {})


class RecordedInventory:
    """The ``Inventory`` Protocol over recorded documents, all on host ``h1``."""

    def __init__(self, documents: dict[str, list[dict[str, Any]]]) -> None:
        self.documents = documents

    def objects(
        self, kind: str, *, host: str | None = None, present: bool = True, full: bool = False
    ) -> list[tuple[str, Seen, datetime.datetime | None]]:
        return list(self.each(kind, host=host, present=present, full=full))

    def each(
        self, kind: str, *, host: str | None = None, present: bool = True, full: bool = False
    ) -> Iterator[tuple[str, Seen, datetime.datetime | None]]:
        for found in self.documents.get(kind, []):
            seen = _seen(kind, found)
            data = found if full else summary(kind, found)
            yield "h1", seen._replace(data=data), None

    def save_inventory(
        self, name: str, seen: dict[str, list[Seen]], samples: Sequence[Sample] = ()
    ) -> int:
        raise AssertionError("a report or a plan writes nothing")

    def placements(self, image_ids: Iterable[str]) -> list[Placement]:
        return []


class NoSamples:
    def usage(self, since: datetime.datetime) -> NoUsage:
        return NoUsage()


class NoUsage:
    def get(self, key: tuple[str, str]) -> Usage | None:
        return None  # no samples: nothing is judged idle


class OneHost:
    """The ``HostBook`` Protocol: host ``h1``, never reached."""

    def named(self, names: Sequence[str] = ()) -> list[Host]:
        return [Host("h1", "unix:///nonexistent/docker.sock")] if not names or "h1" in names else []

    def record_failure(self, name: str, error: str) -> None:
        raise AssertionError("nothing is reached")


class NoActions:
    def record(self, actions: Sequence[Action]) -> None:
        raise AssertionError("a plan removes nothing")


class RecordedStore:
    """The ``FleetStore`` Protocol: the recorded fleet; no stored SBOM or finding."""

    def __init__(self, documents: dict[str, list[dict[str, Any]]]) -> None:
        self.fleet = RecordedInventory(documents)
        self.samples = NoSamples()
        self.hosts = OneHost()
        self.actions = NoActions()
        self.images: Any = None
        self.findings: Any = None

    def has_image(self, image_id: str, scanner_key: str) -> bool:
        return False


def recorded_fleet(*, stopped: bool = True) -> RecordedStore:
    """Host ``h1``: the running container (and the created one, unless told), the image,
    the volume and the ``none`` network."""
    containers = [document("container-running.json")]
    if stopped:
        containers.append(document("container-stopped.json"))
    return RecordedStore(
        {
            "container": containers,
            "image": [document("image.json")],
            "volume": [document("volume.json")],
            "network": [document("network.json")],
        }
    )
