"""The embedded SQLite store through the standard library's sqlite3, for what a scan does.

A scan reads and writes four tables: the layer cache, and an image's row, layers and
packages. Through SQLAlchemy, importing it and its ORM took 0.25-0.3 s of every first scan —
half of it. Here the same rows are written with the same encodings SQLAlchemy gives them
(times as ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC, JSON lists as ``json.dumps`` text), and a
new store is created from ``sqlite_schema.sql``: the DDL SQLAlchemy compiles from the models,
with Alembic's mark of the head revision. Tests hold both to SQLAlchemy's own: the script to
the DDL compiled afresh, and the rows of one SBOM written both ways to each other.

Everything else — stores at an older revision (migrated), PostgreSQL, the vulnerability and
fleet tables — goes through SQLAlchemy.
"""

from __future__ import annotations

import datetime
import json
import os
import sqlite3
import urllib.parse
import zlib
from typing import Any

from hullcheck.errors import StoreError
from hullcheck.files import private_file
from hullcheck.model import Sbom
from hullcheck.report.jsonfmt import to_document
from hullcheck.store.schema import SCHEMA_REVISION

SCHEMA_SCRIPT = os.path.join(os.path.dirname(__file__), "sqlite_schema.sql")
"""The DDL of a new store at the head revision (``python -m hullcheck.store.database``)."""


DAMAGED = (11, 26)
"""SQLite's primary result codes of a damaged file: SQLITE_CORRUPT, SQLITE_NOTADB."""
READ_ONLY = 8
"""SQLITE_READONLY."""
REBUILD = (
    "restore it from a backup, or move it aside and rebuild: `hullcheck db update` and "
    "`hullcheck fleet sync` fill a new store, and SBOMs are read again from their images"
)


def open_embedded(path: str) -> sqlite3.Connection | None:
    """A connection to the SQLite store at ``path`` when it is at the head revision (a new
    file is created so); ``None`` when it needs SQLAlchemy (an older revision to migrate)."""
    readonly = read_only(path)
    try:
        created = False if readonly else private_file(path)  # before SQLite makes it 0644
        connection = connect(path, readonly=readonly)
        if created:
            _create(connection)
        if _revision(connection) == SCHEMA_REVISION:
            return connection
        connection.close()
    except sqlite3.Error as exc:
        problem = translated(exc, path)
        if problem is not None:
            raise problem from None
    except OSError:
        pass  # SQLAlchemy opens it and says what is wrong
    return None


def sqlite_file(url: str) -> str | None:
    """The file of an SQLite URL (options cut off; not in memory), else ``None``."""
    if not url.startswith("sqlite") or "///" not in url:
        return None
    path = url.split("///", 1)[1].split("?", 1)[0]
    return path if path and path != ":memory:" else None


def read_only(path: str) -> bool:
    """Whether the store at ``path`` exists and cannot be written here: a read-only mount, a
    backup not ours to write. Such a store is opened for reading only."""
    directory = os.path.dirname(os.path.abspath(path))
    return os.path.exists(path) and not (os.access(path, os.W_OK) and os.access(directory, os.W_OK))


def connect(path: str, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection to the store file; read-only ones change nothing, not even the journal
    mode (a store left without its ``-wal`` file is read as the file it is)."""
    if readonly:
        uri = f"file:{urllib.parse.quote(os.path.abspath(path))}?mode=ro"
        if not os.path.exists(f"{path}-wal"):
            uri += "&immutable=1"  # nothing to replay, and no -shm can be made beside it
        return sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    set_pragmas(connection)
    return connection


PRAGMAS = ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL")
"""How every connection to a SQLite store is set: this one's and SQLAlchemy's."""


def set_pragmas(connection: Any) -> None:
    """Set :data:`PRAGMAS` on a DB-API connection to SQLite."""
    cursor = connection.cursor()
    for pragma in PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def translated(exc: BaseException, where: str) -> StoreError | None:
    """What an SQLite error means to the user — a damaged store, a read-only one — or
    ``None`` for any other."""
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(exc, sqlite3.Error) or code is None:
        return None
    if code & 0xFF in DAMAGED:
        return StoreError(f"{where}: the store is damaged ({exc})", hint=REBUILD)
    if code & 0xFF == READ_ONLY:
        return StoreError(
            f"{where}: the store is read-only here; this command writes to it",
            hint="run it where the store can be written, or query a writable copy",
        )
    return None


def guarded(connection: sqlite3.Connection, where: str, call: Any, *args: Any) -> Any:
    """``call(connection, *args)``, its SQLite errors said as :func:`translated` says them."""
    try:
        return call(connection, *args)
    except sqlite3.Error as exc:
        problem = translated(exc, where)
        if problem is None:
            raise
        raise problem from None


def _create(connection: sqlite3.Connection) -> None:
    """The head schema, unless another process created the store first."""
    with open(SCHEMA_SCRIPT, encoding="utf-8") as handle:
        script = handle.read()
    connection.execute("BEGIN EXCLUSIVE")
    try:
        if _revision(connection) is None:
            for statement in script.split(";\n"):
                if statement.strip():
                    connection.execute(statement)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no such table: an empty file
        return None
    return str(row[0]) if row is not None else None


class EmbeddedImages:
    """The layer cache and images of the embedded file, through ``sqlite3``; what the
    :class:`~hullcheck.store.database.SqlStore` does for every other store (one of the two is
    chosen when the store opens)."""

    def __init__(self, connection: sqlite3.Connection, where: str) -> None:
        self.connection = connection
        self.where = where

    def get_layer(self, diff_id: str, scanner_key: str) -> bytes | None:
        found = guarded(self.connection, self.where, get_layer, diff_id, scanner_key)
        return found if isinstance(found, bytes) else None

    def has_image(self, image_id: str, scanner_key: str) -> bool:
        return bool(guarded(self.connection, self.where, has_image, image_id, scanner_key))

    def put_layer(self, diff_id: str, scanner_key: str, payload: bytes) -> None:
        guarded(self.connection, self.where, put_layer, diff_id, scanner_key, payload)

    def save_sbom(self, sbom: Sbom, scanner_key: str) -> None:
        guarded(self.connection, self.where, save_sbom, sbom, scanner_key)

    def close(self) -> None:
        self.connection.close()


def get_layer(connection: sqlite3.Connection, diff_id: str, scanner_key: str) -> bytes | None:
    row = connection.execute(
        "SELECT payload FROM layer_scans WHERE diff_id = ? AND scanner_key = ?",
        (diff_id, scanner_key),
    ).fetchone()
    return bytes(row[0]) if row is not None else None


def has_image(connection: sqlite3.Connection, image_id: str, scanner_key: str) -> bool:
    row = connection.execute(
        "SELECT 1 FROM images WHERE id = ? AND scanner_key = ?", (image_id, scanner_key)
    ).fetchone()
    return row is not None


def put_layer(
    connection: sqlite3.Connection, diff_id: str, scanner_key: str, payload: bytes
) -> None:
    connection.execute(
        "INSERT OR REPLACE INTO layer_scans (diff_id, scanner_key, payload, created_at) "
        "VALUES (?, ?, ?, ?)",
        (diff_id, scanner_key, payload, sqlite_time(utcnow())),
    )


def save_sbom(connection: sqlite3.Connection, sbom: Sbom, scanner_key: str) -> None:
    """Keep the SBOM of an image, replacing an older one of the same image ID (its findings
    go with it, as the foreign keys say)."""
    image = image_values(sbom, scanner_key, utcnow())
    if image is None:
        return
    image["repo_tags"] = json.dumps(image["repo_tags"])
    image["repo_digests"] = json.dumps(image["repo_digests"])
    image["scanned_at"] = sqlite_time(image["scanned_at"])
    connection.execute("BEGIN IMMEDIATE")
    try:
        for table in ("packages", "image_layers"):
            connection.execute(f"DELETE FROM {table} WHERE image_id = ?", (image["id"],))  # noqa: S608 - table names are constants
        connection.execute("DELETE FROM images WHERE id = ?", (image["id"],))
        _insert(connection, "images", [image])
        _insert(connection, "image_layers", layer_values(sbom))
        _insert(connection, "packages", package_values(sbom))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _insert(connection: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        columns = list(rows[0])
        connection.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - names from this module
            f"VALUES ({', '.join(':' + c for c in columns)})",
            rows,
        )


# -- the rows of an SBOM, written the same by both stores -------------------------------------
def image_values(
    sbom: Sbom, scanner_key: str, scanned_at: datetime.datetime
) -> dict[str, Any] | None:
    """The ``images`` row of an image's SBOM (``None`` for an SBOM of no image)."""
    image = sbom.image
    if image is None:
        return None
    return {
        "id": image.id,
        "repo_tags": list(image.repo_tags),
        "repo_digests": list(image.repo_digests),
        "os": image.os,
        "architecture": image.architecture,
        "created": image.created,
        "distro": sbom.distro.ecosystem if sbom.distro else None,
        "scanner_key": scanner_key,
        "scanned_at": scanned_at,
        "sbom": zlib.compress(json.dumps(to_document(sbom)).encode(), 6),
    }


def layer_values(sbom: Sbom) -> list[dict[str, Any]]:
    image = sbom.image
    if image is None:
        return []
    return [
        {
            "image_id": image.id,
            "idx": layer.index,
            "diff_id": layer.diff_id,
            "digest": layer.digest,
            "size": layer.size,
            "created_by": layer.created_by,
        }
        for layer in image.layers
    ]


def package_values(sbom: Sbom) -> list[dict[str, Any]]:
    image = sbom.image
    if image is None:
        return []
    return [
        {
            "image_id": image.id,
            "name": p.name,
            "version": p.version,
            "type": p.type.value,
            "purl": p.purl,
            "source_name": p.source_name,
            "distro": p.distro,
            "path": p.location.path,
            "layer": p.location.layer,
            "introduced_by": p.introduced_by,
        }
        for p in sbom.packages
    ]


def utcnow() -> datetime.datetime:
    """The store's clock: aware, in UTC (every table's times)."""
    return datetime.datetime.now(datetime.UTC)


def sqlite_time(moment: datetime.datetime) -> str:
    """A time as SQLAlchemy stores ``DateTime`` in SQLite: UTC, without the zone."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
