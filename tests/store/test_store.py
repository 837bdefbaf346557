"""The store: migrations, layer cache, SBOM round trip."""

from __future__ import annotations

import os

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from hullcheck.api import generate_sbom, open_store
from hullcheck.store import Store
from hullcheck.store.database import MIGRATIONS
from hullcheck.store.models import SCHEMA_REVISION
from tests.infra.layouts import oci_layout, tar_bytes

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "data", "fixtures")
ENGINE = os.path.join(os.path.dirname(__file__), "..", "data", "engine")


def test_schema_revision_is_the_alembic_head() -> None:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_new_store_has_the_schema_the_migrations_build(
    backend: str, request: pytest.FixtureRequest, tmp_path: os.PathLike[str]
) -> None:
    """New stores are created from the models (fast); older ones are migrated. Both must end
    with the same tables, columns, types, indexes and constraints."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine, inspect

    from hullcheck.store.models import Base

    def url(name: str) -> str:
        if backend == "postgres":
            return str(request.getfixturevalue("postgres").database())
        return f"sqlite:///{os.path.join(os.fspath(tmp_path), name)}"

    migrated = create_engine(url("migrated.db"))
    with migrated.begin() as connection:
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    created = open_store(url("created.db"))
    assert created.revision() == SCHEMA_REVISION
    engines = {"migrated": migrated, "created": created.vulns.engine}
    for label, engine in engines.items():
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == [], label
    shapes = {}
    for label, engine in engines.items():
        inspector = inspect(engine)
        shapes[label] = {
            table: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
                sorted((i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)),
                inspector.get_pk_constraint(table)["constrained_columns"],
                sorted(
                    (f["referred_table"], tuple(f["constrained_columns"]))
                    for f in inspector.get_foreign_keys(table)
                ),
            )
            for table in sorted(inspector.get_table_names())
        }
    assert shapes["created"] == shapes["migrated"]
    migrated.dispose()
    created.close()


def test_the_shipped_sqlite_schema_is_the_models_ddl() -> None:
    """New embedded stores are created from ``sqlite_schema.sql`` without SQLAlchemy: the file
    must be exactly what SQLAlchemy compiles from today's models."""
    from hullcheck.store.database import sqlite_schema_script
    from hullcheck.store.embedded import SCHEMA_SCRIPT

    with open(SCHEMA_SCRIPT, encoding="utf-8") as handle:
        shipped = handle.read()
    assert shipped == sqlite_schema_script(), (
        "regenerate: python -m hullcheck.store.database > src/hullcheck/store/sqlite_schema.sql"
    )


def test_an_sbom_is_stored_the_same_with_or_without_sqlalchemy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A scan writes its rows through sqlite3 (``embedded``); the vulnerability matcher, the
    fleet queries and PostgreSQL read and write them through SQLAlchemy. Every row of one
    SBOM, written both ways, is the same (times aside), and each store reads the other's."""
    import datetime
    import sqlite3

    from sqlalchemy import select

    from hullcheck.store import embedded
    from hullcheck.store.database import SqlStore
    from hullcheck.store.models import ImageRow, as_utc

    with open(os.path.join(FIXTURES, "apk", "alpine-3.16_lib_apk_db_installed"), "rb") as f:
        layer = tar_bytes(("file", "lib/apk/db/installed", f.read()))
    sbom = generate_sbom(f"oci-dir:{oci_layout(str(tmp_path / 'img'), [layer])}", store=None)
    assert sbom.image is not None and sbom.packages
    fast = embedded.open_embedded(str(tmp_path / "fast.db"))
    assert fast is not None
    embedded.save_sbom(fast, sbom, "key")
    embedded.put_layer(fast, "sha256:" + "a" * 64, "key", b"payload")
    fast.close()
    slow = SqlStore(f"sqlite:///{tmp_path / 'slow.db'}")
    slow.save_sbom(sbom, "key")
    slow.put_layer("sha256:" + "a" * 64, "key", b"payload")
    slow.close()
    times = {"images": "scanned_at", "layer_scans": "created_at"}
    rows = {}
    for name in ("fast", "slow"):
        connection = sqlite3.connect(tmp_path / f"{name}.db")
        rows[name] = {}
        for table in ("images", "image_layers", "packages", "layer_scans"):
            cursor = connection.execute(f"SELECT * FROM {table} ORDER BY 1, 2")  # noqa: S608
            columns = [d[0] for d in cursor.description]
            found = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
            for row in found:
                stamp = row.pop(times[table]) if table in times else None
                assert stamp is None or len(stamp) == len("2026-11-23 02:58:06.123456")
            rows[name][table] = found
        connection.close()
    assert rows["fast"] == rows["slow"]
    assert rows["fast"]["packages"] and rows["fast"]["image_layers"]
    for name in ("fast", "slow"):
        store = open_store(f"sqlite:///{tmp_path / name}.db")
        assert store.has_image(sbom.image.id, "key")
        assert store.get_layer("sha256:" + "a" * 64, "key") == b"payload"
        loaded = store.load_sbom(sbom.image.id)
        assert loaded is not None and loaded.packages == sbom.packages
        with store.vulns.engine.connect() as connection:  # SQLAlchemy's own decoding
            tags, scanned = connection.execute(
                select(ImageRow.repo_tags, ImageRow.scanned_at)
            ).one()
        assert tags == list(sbom.image.repo_tags)
        assert abs(as_utc(scanned) - datetime.datetime.now(datetime.UTC)).total_seconds() < 600
        store.close()


def test_new_store_is_migrated_in_the_data_dir(hc_home: str) -> None:
    store = open_store()
    assert store.revision() == SCHEMA_REVISION
    assert os.path.exists(os.path.join(hc_home, "data", "hullcheck.db"))
    store.close()


def test_sbom_and_layers_are_kept(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with open(os.path.join(FIXTURES, "apk", "alpine-3.16_lib_apk_db_installed"), "rb") as f:
        layer = tar_bytes(("file", "lib/apk/db/installed", f.read()))
    sbom = generate_sbom(f"oci-dir:{oci_layout(str(tmp_path / 'img'), [layer])}", store=store)
    assert sbom.image is not None
    assert store.layer_count() == 1
    loaded = store.load_sbom(sbom.image.id)
    assert loaded is not None and loaded.packages == sbom.packages
    reopened = open_store(store.url)
    assert reopened.image_ids() == [sbom.image.id]
    reopened.close()


def test_a_store_of_the_previous_release_is_upgraded_in_place(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A 0001 store (SBOMs only) gains the vulnerability tables and keeps its SBOMs."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    engine.dispose()
    with open(os.path.join(FIXTURES, "apk", "alpine-3.16_lib_apk_db_installed"), "rb") as f:
        layer = tar_bytes(("file", "lib/apk/db/installed", f.read()))
    image = oci_layout(str(tmp_path / "img"), [layer])
    from hullcheck.store.database import SqlStore

    old = SqlStore.__new__(SqlStore)  # the 0001 tables, written by today's SBOM code
    old.url, old.engine = url, create_engine(url)
    old.save_sbom(generate_sbom(f"oci-dir:{image}"), "k")
    old.close()
    store = open_store(url)
    assert store.revision() == SCHEMA_REVISION
    assert len(store.image_ids()) == 1
    assert store.vulns.snapshot().records == 0
    store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_fleet_store_of_revision_0003_is_upgraded_in_place(
    backend: str, request: pytest.FixtureRequest, tmp_path: os.PathLike[str]
) -> None:
    """Inventory rows keep their documents (moved to their own table) and are summarised by
    the migration (0006: readers no longer do it); record aliases become rows that
    ``affected`` looks up."""
    import datetime
    import json
    import zlib

    from alembic import command
    from sqlalchemy import create_engine, text

    from hullcheck.engine.documents import summary

    if backend == "postgres":
        url = request.getfixturevalue("postgres").database()
    else:
        url = f"sqlite:///{os.path.join(os.fspath(tmp_path), 'fleet.db')}"
    engine = create_engine(url)
    with open(os.path.join(ENGINE, "container-stopped.json"), encoding="utf-8") as handle:
        document = json.load(handle)
    now = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
        connection.execute(
            text(
                "INSERT INTO hosts (name, url, timeout, added_at) "
                "VALUES ('h', 'unix:///run/docker.sock', 30, :now)"
            ),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO inventory (host, kind, object_id, name, image_id, state, "
                "first_seen, last_seen, data) VALUES ('h', 'container', :id, 'web', :image, "
                "'created', :now, :now, :data)"
            ),
            {
                "id": document["Id"],
                "image": document["Image"],
                "now": now,
                "data": zlib.compress(json.dumps(document).encode()),
            },
        )
        connection.execute(
            text(
                "INSERT INTO vuln_records (id, source, aliases, upstream, related, severity, "
                "imported_at, document) VALUES ('GHSA-xxxx', 'file:x', :aliases, '[]', '[]', "
                "'high', :now, :doc)"
            ),
            {"aliases": '["CVE-2024-0001"]', "now": now, "doc": zlib.compress(b"{}")},
        )
    engine.dispose()
    store = open_store(url)
    try:
        assert store.revision() == SCHEMA_REVISION
        ((host, seen, gone),) = store.fleet.objects("container")
        assert (host, seen.name, seen.state, gone) == ("h", "web", "created", None)
        assert seen.data == summary("container", document)
        ((_, full, _),) = store.fleet.objects("container", full=True)
        assert full.data == document
        with store.vulns.engine.connect() as connection:
            aliases = connection.execute(text("SELECT record_id, alias FROM vuln_aliases")).all()
        assert [tuple(a) for a in aliases] == [("GHSA-xxxx", "CVE-2024-0001")]
    finally:
        store.close()
