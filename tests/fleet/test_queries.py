"""``affected`` from what a store holds, through a fake of the fleet's ``FleetStore``
Protocol: the recorded image (two layers) and containers of ``tests/data/engine``, the Debian
base the image was built on (its first layer), and a finding about the image's ``idna`` (the
python test image's CVE-2024-3651, fixed in 3.7). Then the same questions over a real sync of
the shared fleet of private engines (``conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from hullcheck import api
from hullcheck.errors import UsageError
from hullcheck.fleet.queries import affected_by_vulnerability, package_spread
from hullcheck.model import Placement, StoredFinding, StoredPackage, VersionKey
from hullcheck.store import Store
from tests.infra.engine import PrivateEngine
from tests.infra.fakes import document
from tests.infra.fleet import add_hosts
from tests.infra.vulndata import vuln_path

BASE = "sha256:" + "b" * 64  # the stored SBOM of the Debian base: the image's first layer


IMAGE = document("image.json")
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
            found = document(name)
            if found["Image"] in set(image_ids):
                placed.append(
                    Placement(
                        "h1",
                        "container",
                        found["Name"].lstrip("/"),
                        found["Id"],
                        found["State"]["Status"],
                        found["Image"],
                    )
                )
        placed.append(Placement("h2", "image", None, IMAGE["Id"], None, IMAGE["Id"]))
        return placed


class FakeFindings:
    def about(self, vuln_id: str) -> list[StoredFinding]:
        if vuln_id != "CVE-2024-3651":
            return []
        return [StoredFinding(IMAGE["Id"], vuln_id, "idna", "3.6", "3.7", "high")]


class FakeStore:
    def __init__(self, introduced_in: str) -> None:
        self.fleet: Any = FakeInventory()
        self.images = FakeCatalog(introduced_in)
        self.findings = FakeFindings()

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


@pytest.mark.docker
def test_affected_lists_exactly_the_containers_with_the_vulnerable_package(
    store: Store, fleet: dict[str, PrivateEngine]
) -> None:
    """idna 3.4 (CVE-2024-3651) is in the python image (hosts a, b) and, through its base,
    in the layers image (host c); the npm image does not carry it."""
    api.import_vulnerabilities(store, vuln_path("feeds", "PyPI-all.zip"))
    add_hosts(store, fleet)
    api.sync_fleet(store)
    rows = api.affected(store, "CVE-2024-3651")
    places = {(r.host, r.container, r.package, r.version, r.fixed_version) for r in rows}
    assert places == {
        (host, f"{image}-{suffix}", "idna", "3.4", "3.7")
        for host, image in (("a", "python"), ("b", "python"), ("c", "layers"))
        for suffix in ("0", "1", "stopped")
    }
    states = {(r.host, r.container): r.state for r in rows}
    assert states[("a", "python-0")] == "running" and states[("c", "layers-stopped")] == "created"
    layers = next(r for r in rows if r.host == "c")
    python = next(r for r in rows if r.host == "a")
    assert layers.base_image == python.image and python.base_image is None
    # the advisory id finds the same containers
    by_advisory = {(r.host, r.container) for r in api.affected(store, "PYSEC-2024-60")}
    assert by_advisory == {(h, c) for h, c, *_ in places}


@pytest.mark.docker
def test_affected_by_package_range_and_package_spread(
    store: Store, fleet: dict[str, PrivateEngine]
) -> None:
    add_hosts(store, fleet)
    api.sync_fleet(store)
    below = api.affected(store, package="idna", below="3.7", ecosystem="PyPI")
    assert {(r.host, r.image) for r in below} == {
        (r.host, r.image)
        for r in api.affected(store, package="idna", below="3.5", ecosystem="PyPI")
    }
    assert len(below) == 9 and not api.affected(
        store, package="idna", below="3.4", ecosystem="PyPI"
    )
    # Debian packages by source name, with dpkg rules: every image carries Debian 12's glibc
    libc = api.affected(store, package="glibc", below="2.36-9+deb12u99", ecosystem="Debian")
    assert {r.host for r in libc} == {"a", "b", "c"} and {r.package for r in libc} >= {"libc6"}
    assert not api.affected(store, package="glibc", below="2.36-9+deb12u99", ecosystem="Ubuntu")
    with pytest.raises(UsageError, match="unknown ecosystem"):
        api.affected(store, package="idna", below="3.7", ecosystem="Pip")
    with pytest.raises(UsageError, match="--below 3..7"):
        api.affected(store, package="idna", below="3..7", ecosystem="PyPI")
    spread = package_spread(store, "idna")
    assert [(s.version, s.images, s.containers, s.hosts) for s in spread] == [
        ("3.4", 2, 9, ("a", "b", "c"))
    ]
