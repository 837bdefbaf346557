"""The stored images as the fleet's questions read them: their packages (by name, with the
version counts where they run), their layers, the layer that brought a package in, and their
tags. The SQL that ``fleet.queries`` wrote itself lives here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Engine, func, or_, select

from hullcheck.model import StoredPackage, VersionKey
from hullcheck.store.chunks import chunked
from hullcheck.store.models import ImageLayerRow, ImageRow, InventoryRow, PackageRow
from hullcheck.vulndb.ecosystems import ecosystem_of

_CHUNK = 400


class ImageRepository:
    """Reader of the images, their layers and packages."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def packages_named(self, name: str) -> list[StoredPackage]:
        """Packages whose binary or source name is ``name``, in every stored image."""
        p = PackageRow
        query = select(p.image_id, p.name, p.version, p.type, p.distro).where(
            or_(p.name == name, p.source_name == name)
        )
        with self.engine.connect() as connection:
            return [StoredPackage(*row) for row in connection.execute(query)]

    def version_spread(
        self, name: str
    ) -> tuple[dict[VersionKey, int], list[tuple[VersionKey, str, int]]]:
        """Per version of ``name``: how many images hold it; and per version and host, how
        many present containers run an image holding it. Counted by the database: one row
        per version, one per version and host — never one per container."""
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
        with self.engine.connect() as connection:
            images = {_key(row): int(row[4]) for row in connection.execute(per_image)}
            hosts = [(_key(row), str(row[4]), int(row[5])) for row in connection.execute(per_host)]
        return images, hosts

    def ecosystems_in_use(self) -> list[str]:
        """OSV ecosystems of the packages in stored SBOMs (``Debian``, ``PyPI`` …)."""

        with self.engine.connect() as connection:
            rows = connection.execute(select(PackageRow.distro, PackageRow.type).distinct()).all()
        return sorted({e for distro, kind in rows if (e := ecosystem_of(distro, kind))})

    def layers(self) -> dict[str, list[str]]:
        """Every stored image's layer diffIDs, base first."""
        query = select(ImageLayerRow.image_id, ImageLayerRow.diff_id).order_by(
            ImageLayerRow.image_id, ImageLayerRow.idx
        )
        found: dict[str, list[str]] = {}
        with self.engine.connect() as connection:
            for image_id, diff_id in connection.execute(query):
                found.setdefault(image_id, []).append(diff_id)
        return found

    def introduced(
        self, image_ids: Sequence[str], packages: Sequence[str]
    ) -> list[tuple[str, str, str | None]]:
        """(image ID, package, diffID of the layer that brought it in) of those packages in
        those images."""
        found: list[tuple[str, str, str | None]] = []
        p = PackageRow
        with self.engine.connect() as connection:
            for chunk in chunked(image_ids, _CHUNK):
                query = select(p.image_id, p.name, p.introduced_by).where(
                    p.image_id.in_(chunk), p.name.in_(packages)
                )
                found += [(row[0], row[1], row[2]) for row in connection.execute(query)]
        return found

    def tags(self, image_ids: Iterable[str]) -> dict[str, list[str]]:
        """The tags of stored images."""
        found: dict[str, list[str]] = {}
        with self.engine.connect() as connection:
            for chunk in chunked(sorted(set(image_ids)), _CHUNK):
                query = select(ImageRow.id, ImageRow.repo_tags).where(ImageRow.id.in_(chunk))
                found.update((row[0], list(row[1] or [])) for row in connection.execute(query))
        return found


def _key(row: Sequence[object]) -> VersionKey:
    return (str(row[0]), str(row[1]), str(row[2]), None if row[3] is None else str(row[3]))
