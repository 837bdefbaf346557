"""Fleet-wide questions: who is affected by a vulnerability or a package version, and which
versions of a package run where.

Answers come from the store alone (inventory of the last sync, stored SBOMs and findings):
no engine is asked. Each affected package is attributed to its image's base image when one
is stored: the smallest stored image whose layers are a prefix of the image's layers and
include the layer that brought the package in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hullcheck._gc import paused
from hullcheck.errors import UsageError
from hullcheck.fleet.inventory import FleetStore
from hullcheck.model import StoredPackage
from hullcheck.vulndb import versions
from hullcheck.vulndb.ecosystems import ECOSYSTEMS, ecosystem_of, family


@dataclass(frozen=True, slots=True)
class Affected:
    """One container (or an image no container uses) carrying an affected package."""

    host: str
    container: str | None
    """Container name; ``None`` for an image present on the host without a container."""
    state: str | None
    """``running``, ``exited``, ``created`` …"""
    image_id: str
    image: str
    """The image's first tag, or its short ID."""
    package: str
    version: str
    fixed_version: str | None
    vulnerability: str | None
    """The finding's id, for queries by vulnerability."""
    severity: str | None
    base_image: str | None
    """The stored image the package came from, when it is a base of this one."""


@dataclass(frozen=True, slots=True)
class VersionSpread:
    """One version of a package and where it runs."""

    name: str
    version: str
    type: str
    distro: str | None
    images: int
    containers: int
    hosts: tuple[str, ...]


@paused()
def affected_by_vulnerability(store: FleetStore, vuln_id: str) -> list[Affected]:
    """Every container (and unused image) whose image has a finding about ``vuln_id``."""
    rows = store.findings.about(vuln_id)
    hits = [
        (r.image_id, r.package_name, r.package_version, r.fixed_version, r.vuln_id, r.severity)
        for r in rows
    ]
    return _placed(store, hits)


@paused()
def affected_by_range(
    store: FleetStore, package: str, below: str, ecosystem: str
) -> list[Affected]:
    """Containers whose images hold ``package`` (binary or source name) below ``below``."""
    known = family(ecosystem)
    if known is None:
        names = ", ".join(e.name for e in ECOSYSTEMS)
        raise UsageError(f"unknown ecosystem {ecosystem!r}", hint=f"one of: {names}")
    try:
        versions.parse(known.scheme, below)
    except versions.InvalidVersion as exc:
        raise UsageError(f"--below {below}: {exc}") from None
    hits: list[Hit] = []
    for row in store.images.packages_named(package):
        if not _in_ecosystem(row, known.name):
            continue
        try:
            if versions.compare(known.scheme, row.version, below) < 0:
                hits.append((row.image_id, row.name, row.version, below, None, None))
        except versions.InvalidVersion:
            continue
    return _placed(store, hits)


@paused()
def package_spread(store: FleetStore, name: str) -> list[VersionSpread]:
    """Every version of ``name`` (binary or source) in stored images, and where it runs
    (counted by the database: one row per version, one per version and host)."""
    images, per_host = store.images.version_spread(name)
    containers: dict[tuple[str, str, str, str | None], int] = {}
    hosts: dict[tuple[str, str, str, str | None], set[str]] = {}
    for key, host, count in per_host:
        containers[key] = containers.get(key, 0) + count
        hosts.setdefault(key, set()).add(host)
    return [
        VersionSpread(
            key[0],
            key[1],
            key[2],
            key[3],
            count,
            containers.get(key, 0),
            tuple(sorted(hosts.get(key, ()))),
        )
        for key, count in sorted(images.items(), key=lambda item: tuple(map(str, item[0])))
    ]


def _in_ecosystem(row: StoredPackage, ecosystem: str) -> bool:
    return ecosystem_of(row.distro, row.type) == ecosystem


def _where(
    store: FleetStore, image_ids: Iterable[str]
) -> tuple[dict[str, list[tuple[str, str, str | None]]], dict[str, set[str]]]:
    """Per image ID: its containers (host, name, state), and the hosts that hold the image."""
    containers: dict[str, list[tuple[str, str, str | None]]] = {}
    hosts: dict[str, set[str]] = {}
    for place in store.fleet.placements(image_ids):
        if place.kind == "container":
            name = place.name or place.object_id
            containers.setdefault(place.image_id, []).append((place.host, name, place.state))
        else:
            hosts.setdefault(place.image_id, set()).add(place.host)
    return containers, hosts


Hit = tuple[str, str, str, str | None, str | None, str | None]
"""(image ID, package, installed version, fixed version, vulnerability, severity)"""


def _placed(store: FleetStore, hits: Sequence[Hit]) -> list[Affected]:
    image_ids = {h[0] for h in hits}
    containers, hosts_with_image = _where(store, image_ids)
    names, bases = _image_names(store, hits)
    result = []
    for image_id, package, version, fixed, vuln, severity in hits:
        places = containers.get(image_id, [])
        used_on = {host for host, _, _ in places}
        rows: list[tuple[str, str | None, str | None]] = list(places)
        rows += [
            (host, None, None) for host in sorted(hosts_with_image.get(image_id, set()) - used_on)
        ]
        for host, container, state in rows:
            result.append(
                Affected(
                    host=host,
                    container=container,
                    state=state,
                    image_id=image_id,
                    image=names.get(image_id, image_id[7:19]),
                    package=package,
                    version=version,
                    fixed_version=fixed,
                    vulnerability=vuln,
                    severity=severity,
                    base_image=bases.get((image_id, package)),
                )
            )
    result.sort(key=lambda a: (a.host, a.container or "", a.image, a.package))
    return result


def _image_names(
    store: FleetStore, hits: Sequence[Hit]
) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """Tags of the hit images, and per (image, package) the stored base image it came from:
    the stored image with the fewest layers that are a prefix of the image's own layers and
    include the layer that brought the package in."""
    image_ids = sorted({h[0] for h in hits})
    packages = sorted({h[1] for h in hits})
    layers = store.images.layers()
    introduced = store.images.introduced(image_ids, packages)
    by_layers: dict[tuple[str, ...], str] = {}
    for other_id, other in sorted(layers.items()):
        by_layers.setdefault(tuple(other), other_id)
    bases: dict[tuple[str, str], str] = {}
    for image_id, package, layer in introduced:
        own = layers.get(image_id, [])
        if layer not in own:
            continue
        for end in range(own.index(layer) + 1, len(own)):
            base_id = by_layers.get(tuple(own[:end]))
            if base_id is not None:
                bases[(image_id, package)] = base_id
                break
    tags = store.images.tags(set(image_ids) | set(bases.values()))
    names = {i: (tags.get(i) or [i[7:19]])[0] for i in image_ids}
    return names, {key: (tags.get(b) or [b[7:19]])[0] for key, b in bases.items()}
