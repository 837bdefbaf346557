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
import sqlite3
from typing import TYPE_CHECKING, Any

from hullcheck.files import readable_by_others
from hullcheck.model import Sbom
from hullcheck.store import embedded

if TYPE_CHECKING:
    from hullcheck.store.database import SqlStore
    from hullcheck.store.fleet import FleetRepository
    from hullcheck.store.vulns import VulnRepository

log = logging.getLogger("hullcheck.store")


class Store:
    """The one store of hullcheck; implements the SBOM layer cache. Its lifetime is a
    ``with`` block: ``with api.open_store(url) as store: …``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._sql: SqlStore | None = None
        path = _sqlite_path(url)
        self._fast: sqlite3.Connection | None = None
        self.readonly = path is not None and embedded.read_only(path)
        """Whether the store can only be read here: then nothing is cached or kept."""
        if path is not None:
            self._fast = embedded.open_embedded(path)
            if readable_by_others(path):
                log.warning(
                    "hullcheck: warning: %s: the store is readable by other users "
                    "(chmod 600 it and its -wal and -shm files)",
                    path,
                )
        if self._fast is None:
            self._open_sql()  # migrated, or a server: opened (and its errors raised) now

    def _open_sql(self) -> SqlStore:
        if self._sql is None:
            from hullcheck.store.database import SqlStore

            self._sql = SqlStore(self.url)
        return self._sql

    def revision(self) -> str | None:
        return self._open_sql().revision()

    def get_layer(self, diff_id: str, scanner_key: str) -> bytes | None:
        if self._fast is not None:
            found = self._guarded(embedded.get_layer, diff_id, scanner_key)
            return found if isinstance(found, bytes) else None
        return self._open_sql().get_layer(diff_id, scanner_key)

    def has_image(self, image_id: str, scanner_key: str) -> bool:
        """Whether the SBOM of this image, by this scanner, is stored already."""
        if self._fast is not None:
            return bool(self._guarded(embedded.has_image, image_id, scanner_key))
        return self._open_sql().has_image(image_id, scanner_key)

    def put_layer(self, diff_id: str, scanner_key: str, payload: bytes) -> None:
        if self.readonly:
            return
        if self._fast is not None:
            self._guarded(embedded.put_layer, diff_id, scanner_key, payload)
        else:
            self._open_sql().put_layer(diff_id, scanner_key, payload)

    def save_sbom(self, sbom: Sbom, scanner_key: str) -> None:
        if self.readonly:
            return
        if self._fast is not None:
            self._guarded(embedded.save_sbom, sbom, scanner_key)
        else:
            self._open_sql().save_sbom(sbom, scanner_key)

    def load_sbom(self, image_id: str) -> Sbom | None:
        return self._open_sql().load_sbom(image_id)

    @property
    def vulns(self) -> VulnRepository:
        """The vulnerability database and stored findings."""
        from hullcheck.store.vulns import VulnRepository

        return VulnRepository(self._open_sql().engine)

    @property
    def fleet(self) -> FleetRepository:
        """Hosts and their inventory."""
        from hullcheck.store.fleet import FleetRepository

        return FleetRepository(self._open_sql().engine)

    def image_ids(self) -> list[str]:
        return self._open_sql().image_ids()

    def layer_count(self) -> int:
        return self._open_sql().layer_count()

    def _guarded(self, call: Any, *args: Any) -> Any:
        assert self._fast is not None
        return embedded.guarded(self._fast, _sqlite_path(self.url) or self.url, call, *args)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._fast is not None:
            self._fast.close()
            self._fast = None
        if self._sql is not None:
            self._sql.close()
            self._sql = None


def _sqlite_path(url: str) -> str | None:
    """The file of an embedded SQLite store URL (no options, not in memory), else ``None``."""
    if not url.startswith("sqlite:///") or "?" in url:
        return None
    return embedded.sqlite_file(url)
