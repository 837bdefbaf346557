"""Opening, migrating and using the store."""

from __future__ import annotations

import datetime
import json
import os
import zlib
from typing import Any

from sqlalchemy import Engine, create_engine, delete, event, insert, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from hullcheck.errors import StoreError
from hullcheck.files import private_file
from hullcheck.model import Sbom
from hullcheck.report.jsonfmt import from_document
from hullcheck.store import embedded
from hullcheck.store.embedded import image_values, layer_values, package_values
from hullcheck.store.models import (
    Base,
    ImageLayerRow,
    ImageRow,
    LayerScanRow,
    PackageRow,
)
from hullcheck.store.schema import SCHEMA_REVISION

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    embedded.set_pragmas(dbapi_connection)


class SqlStore:
    """The store through SQLAlchemy: every write, and every read on non-SQLite URLs."""

    def __init__(self, url: str) -> None:
        self.url = url
        path = embedded.sqlite_file(url)
        self.readonly = path is not None and embedded.read_only(path)
        try:
            if path is not None and self.readonly:
                self.engine: Engine = create_engine(
                    "sqlite://", creator=lambda: embedded.connect(path, readonly=True)
                )
            else:
                self.engine = create_engine(url, connect_args=_connect_args(url))
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StoreError(
                f"{_redact(url)}: cannot open the store ({exc})",
                hint="install hullcheck[postgres] for PostgreSQL URLs",
            ) from None
        event.listen(self.engine, "handle_error", self._said_plainly)
        if self.engine.dialect.name == "sqlite" and not self.readonly:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            _ensure_sqlite_dir(url)
        self._migrate()

    def _said_plainly(self, context: Any) -> None:
        """A damaged or read-only store is said as such, on every command and every query
        (SQLAlchemy's own message carries the statement and its parameters)."""
        original = context.original_exception
        where = embedded.sqlite_file(self.url) or _redact(self.url)
        problem = embedded.translated(original, where)
        if problem is None and str(getattr(original, "sqlstate", "")).startswith("XX"):
            # PostgreSQL's internal errors: data_corrupted, index_corrupted
            detail = str(original).splitlines()[0]
            problem = StoreError(f"{where}: the store is damaged ({detail})", hint=embedded.REBUILD)
        if problem is not None:
            raise problem

    def _migrate(self) -> None:
        try:
            with self.engine.connect() as connection:
                current = _revision(connection)
                if current == SCHEMA_REVISION:
                    return
                if self.readonly:
                    raise StoreError(
                        f"{self.url}: the store is read-only here and older than this "
                        "hullcheck; open it once where it can be written to migrate it"
                    )
                empty = current is None and not inspect(connection).get_table_names()
            with self.engine.begin() as connection:
                if empty:
                    _create(connection)
                else:
                    _upgrade(connection)
        except SQLAlchemyError as exc:
            raise StoreError(f"{_redact(self.url)}: cannot prepare the store ({exc})") from None

    def revision(self) -> str | None:
        with self.engine.connect() as connection:
            return _revision(connection)

    # -- layer cache ------------------------------------------------------------------------
    def get_layer(self, diff_id: str, scanner_key: str) -> bytes | None:
        with Session(self.engine) as session:
            row = session.get(LayerScanRow, (diff_id, scanner_key))
            return row.payload if row is not None else None

    def put_layer(self, diff_id: str, scanner_key: str, payload: bytes) -> None:
        now = datetime.datetime.now(datetime.UTC)
        with Session(self.engine) as session, session.begin():
            session.merge(
                LayerScanRow(
                    diff_id=diff_id, scanner_key=scanner_key, payload=payload, created_at=now
                )
            )

    def has_image(self, image_id: str, scanner_key: str) -> bool:
        with Session(self.engine) as session:
            row = session.get(ImageRow, image_id)
            return row is not None and row.scanner_key == scanner_key

    def layer_count(self) -> int:
        with Session(self.engine) as session:
            return len(session.scalars(select(LayerScanRow.diff_id)).all())

    # -- SBOMs ------------------------------------------------------------------------------
    def save_sbom(self, sbom: Sbom, scanner_key: str) -> None:
        """Keep the SBOM of an image (replacing an older one of the same image ID); the rows
        are the ones :mod:`hullcheck.store.embedded` writes."""
        image = image_values(sbom, scanner_key, datetime.datetime.now(datetime.UTC))
        if image is None:
            return
        with self.engine.begin() as connection:
            connection.execute(delete(PackageRow).where(PackageRow.image_id == image["id"]))
            connection.execute(delete(ImageLayerRow).where(ImageLayerRow.image_id == image["id"]))
            connection.execute(delete(ImageRow).where(ImageRow.id == image["id"]))
            connection.execute(insert(ImageRow), [image])
            for table, rows in (
                (ImageLayerRow, layer_values(sbom)),
                (PackageRow, package_values(sbom)),
            ):
                if rows:
                    connection.execute(insert(table), rows)

    def load_sbom(self, image_id: str) -> Sbom | None:
        """The stored SBOM of an image ID, if any."""
        with Session(self.engine) as session:
            row = session.get(ImageRow, image_id)
            if row is None:
                return None
            return from_document(json.loads(zlib.decompress(row.sbom)), f"store:{image_id}")

    def image_ids(self) -> list[str]:
        with Session(self.engine) as session:
            return list(session.scalars(select(ImageRow.id).order_by(ImageRow.id)))

    def close(self) -> None:
        self.engine.dispose()


def _revision(connection: Any) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    value = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return str(value) if value is not None else None


_ALEMBIC_VERSION = (
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
    "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
)


def _create(connection: Any) -> None:
    """A new store: the head schema from the models and Alembic's mark of it, the way
    Alembic's documentation creates a new database (running every migration from the first
    took half a second; a test keeps both schemas equal)."""
    Base.metadata.create_all(connection)
    connection.execute(text(_ALEMBIC_VERSION))
    connection.execute(
        text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": SCHEMA_REVISION}
    )


def sqlite_schema_script() -> str:
    """What ``sqlite_schema.sql`` holds: the DDL of the models compiled for SQLite, and
    Alembic's mark of the head revision (a test compares the file with this)."""
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    dialect = sqlite.dialect()
    statements = []
    for table in Base.metadata.sorted_tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        statements.extend(
            str(CreateIndex(index).compile(dialect=dialect)).strip()
            for index in sorted(table.indexes, key=lambda i: str(i.name))
        )
    statements.append(_ALEMBIC_VERSION)
    statements.append(f"INSERT INTO alembic_version (version_num) VALUES ('{SCHEMA_REVISION}')")
    header = (
        "-- A new embedded store at the head revision (hullcheck.store.embedded runs it).\n"
        "-- Generated from the models: python -m hullcheck.store.database > this file\n"
    )
    return header + "".join(f"{statement};\n" for statement in statements)


if __name__ == "__main__":
    print(sqlite_schema_script(), end="")


def _upgrade(connection: Any) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _connect_args(url: str) -> dict[str, Any]:
    return {"timeout": 30} if url.startswith("sqlite") else {}


def _ensure_sqlite_dir(url: str) -> None:
    """A new SQLite store file is created 0600 in a 0700 directory, before SQLite creates it
    world-readable."""
    path = embedded.sqlite_file(url)
    if path is not None:
        try:
            private_file(path)
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the store ({exc.strerror})") from None


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url
