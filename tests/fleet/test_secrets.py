"""Secrets never stored (finding 2 of the security review): environment values of containers
and images, build arguments and ``ENV`` lines of the history are planted in a real image and
container, the fleet is synced and the image scanned, and every stored value — blobs
decompressed — is searched for them. The store and its directory are private."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import uuid
import zlib
from collections.abc import Iterator

import pytest

from hullcheck import api
from hullcheck.redaction import fingerprint
from tests.conftest import Images
from tests.infra.engine import PrivateEngine, run_idle

pytestmark = pytest.mark.docker


def _stored_text(path: str) -> Iterator[tuple[str, str]]:
    """(table.column, value) of every value of every table, zlib blobs decompressed."""
    with contextlib.closing(sqlite3.connect(path)) as connection:
        tables = [
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from sqlite_master
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, bytes):
                        with contextlib.suppress(zlib.error):
                            value = zlib.decompress(value)
                        value = value.decode("utf-8", "replace")
                    yield f"{table}.{column}", str(value)


def test_environment_and_build_secrets_never_reach_the_store(
    engine: PrivateEngine, images: Images, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    planted = {k: f"planted-{k}-{uuid.uuid4().hex}" for k in ("arg", "env", "run")}
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {images.on(engine, 'debian')}\nARG BUILD_TOKEN\nENV DB_PASSWORD={planted['env']}\n"
        "RUN echo built > /built\n"
    )
    client = engine.client()
    image, _ = client.images.build(
        path=str(context), buildargs={"BUILD_TOKEN": planted["arg"]}, rm=True, forcerm=True
    )
    container = run_idle(
        client,
        image.id,
        f"secrets-{uuid.uuid4().hex[:8]}",
        environment={"API_TOKEN": planted["run"]},
    )
    # the engine itself tells all three: they are in what hullcheck reads
    told = str(container.attrs) + str(image.attrs) + str(image.history())
    assert all(value in told for value in planted.values())
    path = os.path.join(str(tmp_path), "private", "hc.db")
    store = api.open_store(f"sqlite:///{path}")
    try:
        api.add_host(store, api.Host("main", engine.host, timeout=30))
        assert all(result.ok for result in api.sync_fleet(store))
        sbom = store.load_sbom(image.id)  # the sync scanned the new image
    finally:
        store.close()
        container.remove(force=True)
        client.images.remove(image.id, force=True)
        client.close()
    assert sbom is not None and sbom.image is not None
    assert not any(value in str(sbom.image) for value in planted.values())
    values = list(_stored_text(path))
    leaks = [(where, v) for where, v in values for p in planted.values() if p in v]
    assert leaks == []
    everything = "\n".join(v for _, v in values)
    # names stay, with a keyed hash of the value: a change is still visible
    assert f"API_TOKEN={fingerprint(planted['run'])}" in everything
    assert f"DB_PASSWORD={fingerprint(planted['env'])}" in everything
    assert f"BUILD_TOKEN={fingerprint(planted['arg'])}" in everything
    for name in os.listdir(os.path.dirname(path)):  # the store, its -wal and -shm
        with open(os.path.join(os.path.dirname(path), name), "rb") as handle:
            raw = handle.read()
        assert not any(p.encode() in raw for p in planted.values()), name
        assert stat.S_IMODE(os.stat(os.path.join(os.path.dirname(path), name)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
