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

from sqlalchemy import func, or_, select

from hullcheck._gc import paused
from hullcheck.errors import UsageError
from hullcheck.store import Store
from hullcheck.store.chunks import chunked
from hullcheck.store.models import ImageLayerRow, ImageRow, InventoryRow, PackageRow
from hullcheck.vulndb import versions
from hullcheck.vulndb.ecosystems import ECOSYSTEMS, family


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
def affected_by_vulnerability(store: Store, vuln_id: str) -> list[Affected]:
    """Every container (and unused image) whose image has a finding about ``vuln_id``."""
    rows = store.vulns.findings_of(vuln_id)
    hits = [
        (r.image_id, r.package_name, r.package_version, r.fixed_version, r.vuln_id, r.severity)
        for r in rows
    ]
    return _placed(store, hits)


@paused()
def affected_by_range(store: Store, package: str, below: str, ecosystem: str) -> list[Affected]:
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
    for row in _package_rows(store, package):
        if not _in_ecosystem(row, known.name):
            continue
        try:
            if versions.compare(known.scheme, row.version, below) < 0:
                hits.append((row.image_id, row.name, row.version, below, None, None))
        except versions.InvalidVersion:
            continue
    return _placed(store, hits)


@paused()
def package_spread(store: Store, name: str) -> list[VersionSpread]:
    """Every version of ``name`` (binary or source) in stored images, and where it runs.

    Counted by the database: one row per version for the images, one per version and host
    for the containers — never one per container.
    """
    p, i = PackageRow, InventoryRow
    matching = (
        select(p.name, p.version, p.type, p.distro, p.image_id)
        .where(or_(p.name == name, p.source_name == name))
        .distinct()
        .subquery()
    )
    version = (matching.c.name, matching.c.version, matching.c.type, matching.c.distro)
    per_image = select(*version, func.count()).group_by(*version)
    per_host = (
        select(*version, i.host, func.count())
        .join(i, i.image_id == matching.c.image_id)
        .where(i.kind == "container", i.gone_at.is_(None))
        .group_by(*version, i.host)
    )
    with store.vulns.engine.connect() as connection:
        images = {tuple(row[:4]): int(row[4]) for row in connection.execute(per_image)}
        containers: dict[tuple[str, ...], int] = {}
        hosts: dict[tuple[str, ...], set[str]] = {}
        for row in connection.execute(per_host):
            key = tuple(row[:4])
            containers[key] = containers.get(key, 0) + int(row[5])
            hosts.setdefault(key, set()).add(row[4])
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


def _package_rows(store: Store, name: str) -> list[PackageRow]:
    engine = store.vulns.engine
    query = select(PackageRow).where(or_(PackageRow.name == name, PackageRow.source_name == name))
    with engine.connect() as connection:
        return list(connection.execute(query).all())  # type: ignore[arg-type]  # Row of PackageRow


def _in_ecosystem(row: PackageRow, ecosystem: str) -> bool:
    from hullcheck.vulndb.ecosystems import ecosystem_of

    return ecosystem_of(row.distro, row.type) == ecosystem


def _where(
    store: Store, image_ids: Iterable[str]
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


_CHUNK = 400
"""IDs per ``IN (…)`` list."""

Hit = tuple[str, str, str, str | None, str | None, str | None]
"""(image ID, package, installed version, fixed version, vulnerability, severity)"""


def _placed(store: Store, hits: Sequence[Hit]) -> list[Affected]:
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
    store: Store, hits: Sequence[Hit]
) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """Tags of the hit images, and per (image, package) the stored base image it came from:
    the stored image with the fewest layers that are a prefix of the image's own layers and
    include the layer that brought the package in."""
    image_ids = sorted({h[0] for h in hits})
    packages = sorted({h[1] for h in hits})
    engine = store.vulns.engine
    layers: dict[str, list[str]] = {}
    introduced: list[tuple[str, str, str | None]] = []
    with engine.connect() as connection:
        for image_id, _, diff_id in connection.execute(
            select(ImageLayerRow.image_id, ImageLayerRow.idx, ImageLayerRow.diff_id).order_by(
                ImageLayerRow.image_id, ImageLayerRow.idx
            )
        ):
            layers.setdefault(image_id, []).append(diff_id)
        for chunk in chunked(image_ids, _CHUNK):
            introduced += connection.execute(
                select(PackageRow.image_id, PackageRow.name, PackageRow.introduced_by).where(
                    PackageRow.image_id.in_(chunk), PackageRow.name.in_(packages)
                )
            ).all()
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
    tags = _tags(store, set(image_ids) | set(bases.values()))
    names = {i: (tags.get(i) or [i[7:19]])[0] for i in image_ids}
    return names, {key: (tags.get(b) or [b[7:19]])[0] for key, b in bases.items()}


def _tags(store: Store, image_ids: set[str]) -> dict[str, list[str]]:
    wanted = sorted(image_ids)
    tags: dict[str, list[str]] = {}
    with store.vulns.engine.connect() as connection:
        for chunk in chunked(wanted, _CHUNK):
            query = select(ImageRow.id, ImageRow.repo_tags).where(ImageRow.id.in_(chunk))
            tags.update((row[0], list(row[1] or [])) for row in connection.execute(query))
    return tags
