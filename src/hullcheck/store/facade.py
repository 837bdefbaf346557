"""The store as the rest of hullcheck sees it.

Reads on the hot path of a warm scan (cached layers, "is this image stored?") go through the
standard library's sqlite3 when the store is the embedded SQLite file, so a rescan whose
layers are all cached never pays for importing SQLAlchemy. Everything else — writes,
migrations, PostgreSQL — goes through :class:`SqlStore`, which is opened in a thread of its
own as soon as it is known to be needed: importing SQLAlchemy and creating a new store's
schema then overlap the caller's work (a first scan reads its layers meanwhile, and asks a
store that did not exist for no cached layer).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import TYPE_CHECKING

from hullcheck.model import Sbom
from hullcheck.store.schema import SCHEMA_REVISION

if TYPE_CHECKING:
    from hullcheck.store.database import SqlStore
    from hullcheck.store.fleet import FleetRepository
    from hullcheck.store.vulns import VulnRepository


class Store:
    """The one store of hullcheck; implements the SBOM layer cache."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._sql: SqlStore | None = None
        self._opening: _Opening | None = None
        self._new = _new_file(url)
        """An SQLite file that does not exist yet: nothing is cached in it."""
        self._fast: sqlite3.Connection | None = None if self._new else _open_fast(url)
        if self._fast is None:
            self._opening = _Opening(url)

    def _open_sql(self) -> SqlStore:
        if self._sql is None:
            if self._opening is not None:
                opening, self._opening = self._opening, None
                self._sql = opening.result()
            else:
                from hullcheck.store.database import SqlStore

                self._sql = SqlStore(self.url)
            self._new = False
        return self._sql

    def revision(self) -> str | None:
        return self._open_sql().revision()

    def get_layer(self, diff_id: str, scanner_key: str) -> bytes | None:
        if self._new:
            return None
        if self._fast is not None:
            row = self._fast.execute(
                "SELECT payload FROM layer_scans WHERE diff_id = ? AND scanner_key = ?",
                (diff_id, scanner_key),
            ).fetchone()
            return bytes(row[0]) if row is not None else None
        return self._open_sql().get_layer(diff_id, scanner_key)

    def has_image(self, image_id: str, scanner_key: str) -> bool:
        """Whether the SBOM of this image, by this scanner, is stored already."""
        if self._new:
            return False
        if self._fast is not None:
            row = self._fast.execute(
                "SELECT 1 FROM images WHERE id = ? AND scanner_key = ?", (image_id, scanner_key)
            ).fetchone()
            return row is not None
        return self._open_sql().has_image(image_id, scanner_key)

    def put_layer(self, diff_id: str, scanner_key: str, payload: bytes) -> None:
        self._open_sql().put_layer(diff_id, scanner_key, payload)

    def save_sbom(self, sbom: Sbom, scanner_key: str) -> None:
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

    def close(self) -> None:
        if self._fast is not None:
            self._fast.close()
            self._fast = None
        if self._opening is not None:
            opening, self._opening = self._opening, None
            opening.discard()
        if self._sql is not None:
            self._sql.close()
            self._sql = None


class _Opening:
    """An :class:`SqlStore` being opened in a thread (errors are raised to whoever asks)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._store: SqlStore | None = None
        self._error: BaseException | None = None
        # not a daemon: a store being created is finished even when the caller fails first
        self._thread = threading.Thread(target=self._open, name="hullcheck-store-open")
        self._thread.start()

    def _open(self) -> None:
        try:
            from hullcheck.store.database import SqlStore

            self._store = SqlStore(self._url)
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that asks
            self._error = exc

    def result(self) -> SqlStore:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._store is not None
        return self._store

    def discard(self) -> None:
        """Wait for the thread and close what it opened (its error does not matter now)."""
        self._thread.join()
        if self._store is not None:
            self._store.close()


def _new_file(url: str) -> bool:
    path = _sqlite_path(url)
    return path is not None and not os.path.exists(path)


def _sqlite_path(url: str) -> str | None:
    """The file of an embedded SQLite store URL (no options, not in memory), else ``None``."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    path = url[len(prefix) :]
    return path if path and path != ":memory:" else None


def _open_fast(url: str) -> sqlite3.Connection | None:
    """A read connection to an SQLite store already at the expected schema, else ``None``."""
    path = _sqlite_path(url)
    if path is None or not os.path.exists(path):
        return None
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    if row is None or row[0] != SCHEMA_REVISION:
        connection.close()
        return None
    return connection
