"""The store as the rest of hullcheck sees it.

What a scan does — read and write the layer cache, "is this image stored?", keep an image's
SBOM — goes through the standard library's sqlite3 when the store is the embedded SQLite file
at the head revision (:mod:`hullcheck.store.embedded`, which also creates a new one), so a
scan never pays for importing SQLAlchemy (0.25-0.3 s). Everything else — migrations,
PostgreSQL, the vulnerability and fleet tables — goes through :class:`SqlStore`, opened when
first needed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from hullcheck.files import readable_by_others
from hullcheck.model import Sbom
from hullcheck.store import embedded

if TYPE_CHECKING:
    from hullcheck.store.actions import ActionRepository
    from hullcheck.store.audit import AuditRepository
    from hullcheck.store.database import SqlStore
    from hullcheck.store.findings import FindingRepository
    from hullcheck.store.fleet import FleetRepository
    from hullcheck.store.hosts import HostRepository
    from hullcheck.store.images import ImageRepository
    from hullcheck.store.samples import SampleRepository
    from hullcheck.store.vulns import VulnRepository

log = logging.getLogger("hullcheck.store")


class _Images(Protocol):
    """The layer cache and the images' SBOMs: what a scan reads and writes."""

    def get_layer(self, diff_id: str, scanner_key: str) -> bytes | None: ...

    def has_image(self, image_id: str, scanner_key: str) -> bool: ...

    def put_layer(self, diff_id: str, scanner_key: str, payload: bytes) -> None: ...

    def save_sbom(self, sbom: Sbom, scanner_key: str) -> None: ...


class Store:
    """The one store of hullcheck; implements the SBOM layer cache. Its lifetime is a
    ``with`` block: ``with api.open_store(url) as store: …``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._sql: SqlStore | None = None
        path = _sqlite_path(url)
        self.readonly = path is not None and embedded.read_only(path)
        """Whether the store can only be read here: then nothing is cached or kept."""
        fast = embedded.open_embedded(path) if path is not None else None
        if path is not None and readable_by_others(path):
            log.warning(
                "hullcheck: warning: %s: the store is readable by other users "
                "(chmod 600 it and its -wal and -shm files)",
                path,
            )
        # the layer cache and images: through sqlite3 for the embedded file at the head
        # revision, else through SQLAlchemy (migrated, or a server: opened, and its errors
        # raised, now) — chosen once, here
        self._embedded = embedded.EmbeddedImages(fast, path or url) if fast is not None else None
        self._images: _Images = self._embedded or self._open_sql()

    def _open_sql(self) -> SqlStore:
        if self._sql is None:
            from hullcheck.store.database import SqlStore

            self._sql = SqlStore(self.url)
        return self._sql

    def revision(self) -> str | None:
        return self._open_sql().revision()

    def get_layer(self, diff_id: str, scanner_key: str) -> bytes | None:
        return self._images.get_layer(diff_id, scanner_key)

    def has_image(self, image_id: str, scanner_key: str) -> bool:
        """Whether the SBOM of this image, by this scanner, is stored already."""
        return self._images.has_image(image_id, scanner_key)

    def put_layer(self, diff_id: str, scanner_key: str, payload: bytes) -> None:
        if not self.readonly:
            self._images.put_layer(diff_id, scanner_key, payload)

    def save_sbom(self, sbom: Sbom, scanner_key: str) -> None:
        if not self.readonly:
            self._images.save_sbom(sbom, scanner_key)

    def load_sbom(self, image_id: str) -> Sbom | None:
        return self._open_sql().load_sbom(image_id)

    @property
    def vulns(self) -> VulnRepository:
        """The vulnerability database: OSV records and their feeds."""
        from hullcheck.store.vulns import VulnRepository

        return VulnRepository(self._open_sql().engine)

    @property
    def findings(self) -> FindingRepository:
        """The findings of the last match, per image."""
        from hullcheck.store.findings import FindingRepository

        return FindingRepository(self._open_sql().engine)

    @property
    def samples(self) -> SampleRepository:
        """The resource samples the syncs took (written with the inventory)."""
        from hullcheck.store.samples import SampleRepository

        return SampleRepository(self._open_sql().engine)

    @property
    def images(self) -> ImageRepository:
        """Stored images, their layers and packages, as the fleet's questions read them."""
        from hullcheck.store.images import ImageRepository

        return ImageRepository(self._open_sql().engine)

    @property
    def hosts(self) -> HostRepository:
        """The hosts hullcheck watches."""
        from hullcheck.store.hosts import HostRepository

        return HostRepository(self._open_sql().engine)

    @property
    def audit(self) -> AuditRepository:
        """Each host's audit log: records, signed checkpoints, the head of its tree."""
        from hullcheck.store.audit import AuditRepository

        return AuditRepository(self._open_sql().engine)

    @property
    def actions(self) -> ActionRepository:
        """What hullcheck did to engines."""
        from hullcheck.store.actions import ActionRepository

        return ActionRepository(self._open_sql().engine)

    @property
    def fleet(self) -> FleetRepository:
        """The inventory of the hosts and their resource samples."""
        from hullcheck.store.fleet import FleetRepository

        return FleetRepository(self._open_sql().engine)

    def image_ids(self) -> list[str]:
        return self._open_sql().image_ids()

    def layer_count(self) -> int:
        return self._open_sql().layer_count()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._embedded is not None:
            self._embedded.close()
            self._embedded = None
        if self._sql is not None:
            self._sql.close()
            self._sql = None


def _sqlite_path(url: str) -> str | None:
    """The file of an embedded SQLite store URL (no options, not in memory), else ``None``."""
    if not url.startswith("sqlite:///") or "?" in url:
        return None
    return embedded.sqlite_file(url)
