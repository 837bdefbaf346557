"""``affected`` from what a store holds, through a fake of the fleet's ``FleetStore``
Protocol: the recorded image (two layers) and containers of ``tests/data/engine``, the Debian
base the image was built on (its first layer), and a finding about the image's ``idna`` (the
python test image's CVE-2024-3651, fixed in 3.7)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

from hullcheck.fleet.queries import affected_by_vulnerability
from hullcheck.model import Placement, StoredFinding, StoredPackage, VersionKey

ENGINE = os.path.join(os.path.dirname(__file__), "..", "data", "engine")
BASE = "sha256:" + "b" * 64  # the stored SBOM of the Debian base: the image's first layer


def _document(name: str) -> dict[str, Any]:
    with open(os.path.join(ENGINE, name), encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document


IMAGE = _document("image.json")
LAYERS: list[str] = IMAGE["RootFS"]["Layers"]


class FakeCatalog:
    def __init__(self, introduced_in: str) -> None:
        self.introduced_in = introduced_in

    def layers(self) -> dict[str, list[str]]:
        return {IMAGE["Id"]: LAYERS, BASE: LAYERS[:1]}

    def introduced(
        self, image_ids: Sequence[str], packages: Sequence[str]
    ) -> list[tuple[str, str, str | None]]:
        return [(IMAGE["Id"], "idna", self.introduced_in)]

    def tags(self, image_ids: Iterable[str]) -> dict[str, list[str]]:
        known = {IMAGE["Id"]: IMAGE["RepoTags"], BASE: ["debian:12"]}
        return {i: known[i] for i in image_ids if i in known}

    def packages_named(self, name: str) -> list[StoredPackage]:
        return []

    def version_spread(
        self, name: str
    ) -> tuple[dict[VersionKey, int], list[tuple[VersionKey, str, int]]]:
        return {}, []


class FakeInventory:
    def placements(self, image_ids: Iterable[str]) -> list[Placement]:
        placed = []
        for name in ("container-running.json", "container-stopped.json"):
            document = _document(name)
            if document["Image"] in set(image_ids):
                placed.append(
                    Placement(
                        "h1",
                        "container",
                        document["Name"].lstrip("/"),
                        document["Id"],
                        document["State"]["Status"],
                        document["Image"],
                    )
                )
        placed.append(Placement("h2", "image", None, IMAGE["Id"], None, IMAGE["Id"]))
        return placed


class FakeFindings:
    def findings_of(self, vuln_id: str) -> list[StoredFinding]:
        if vuln_id != "CVE-2024-3651":
            return []
        return [StoredFinding(IMAGE["Id"], vuln_id, "idna", "3.6", "3.7", "high")]


class FakeStore:
    def __init__(self, introduced_in: str) -> None:
        self.fleet: Any = FakeInventory()
        self.images = FakeCatalog(introduced_in)
        self.vulns = FakeFindings()

    def has_image(self, image_id: str, scanner_key: str) -> bool:
        return True


def test_every_container_and_unused_copy_of_an_affected_image_is_named() -> None:
    rows = affected_by_vulnerability(FakeStore(LAYERS[1]), "CVE-2024-3651")  # type: ignore[arg-type]
    assert [(r.host, r.container, r.state) for r in rows] == [
        ("h1", "bench-record-stopped", "created"),
        ("h1", "python-0", "running"),
        ("h2", None, None),  # the image is on h2 with no container: still affected
    ]
    assert {(r.image, r.package, r.version, r.fixed_version) for r in rows} == {
        ("hc-test/python:fac857eee768", "idna", "3.6", "3.7")
    }
    # brought in by the image's own layer, not by the Debian base
    assert {r.base_image for r in rows} == {None}


def test_a_package_of_the_base_layer_is_attributed_to_the_base_image() -> None:
    rows = affected_by_vulnerability(FakeStore(LAYERS[0]), "CVE-2024-3651")  # type: ignore[arg-type]
    assert {r.base_image for r in rows} == {"debian:12"}
    assert affected_by_vulnerability(FakeStore(LAYERS[0]), "CVE-1999-0001") == []  # type: ignore[arg-type]
