"""``fleet sync`` across three real private engines with containers of several images."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from hullcheck import api
from hullcheck.store import Store
from tests.conftest import Images
from tests.infra.engine import PrivateEngine

pytestmark = pytest.mark.docker

LABEL = "org.hullcheck.test"


@pytest.fixture(scope="module")
def fleet(images: Images) -> Iterator[dict[str, PrivateEngine]]:
    """Engines a, b, c: a and b run the python image, b and c the npm image."""
    archives = {name: images.archive(name) for name in ("python", "npm")}
    layout = {"a": ["python"], "b": ["python", "npm"], "c": ["npm"]}
    engines = {name: PrivateEngine(f"fleet-{name}") for name in layout}
    try:
        for name, engine in engines.items():
            engine.start()
            client = engine.client()
            for container in client.containers.list(all=True):
                container.remove(force=True)
            for image in layout[name]:
                with open(archives[image], "rb") as handle:
                    (loaded,) = client.images.load(handle.read())
                for index in range(2):
                    client.containers.run(
                        loaded.id,
                        ["sleep", "infinity"],
                        detach=True,
                        network_mode="none",
                        name=f"{image}-{index}",
                        labels={LABEL: name},
                    )
                client.containers.create(loaded.id, ["true"], name=f"{image}-stopped")
            client.close()
        yield engines
    finally:
        for engine in engines.values():
            engine.stop()


def _add(store: Store, fleet: dict[str, PrivateEngine]) -> None:
    for name, engine in fleet.items():
        api.add_host(store, api.Host(name, engine.host, timeout=20))


def test_sync_inventories_every_host_and_scans_each_image_once(
    store: Store, fleet: dict[str, PrivateEngine], images: Images
) -> None:
    _add(store, fleet)
    results = {r.host: r for r in api.sync_fleet(store)}
    assert all(r.ok for r in results.values())
    assert {h: r.containers for h, r in results.items()} == {"a": 3, "b": 6, "c": 3}
    assert {h: r.images for h, r in results.items()} == {"a": 1, "b": 2, "c": 1}
    # two distinct image IDs in the fleet: each scanned once, wherever it was first found
    assert sum(r.scanned for r in results.values()) == 2
    assert len(store.image_ids()) == 2
    running = store.fleet.objects("container")
    states = sorted((host, seen.name, seen.state) for host, seen, _ in running)
    assert ("a", "python-0", "running") in states and ("c", "npm-stopped", "created") in states
    python_id = next(s.image_id for h, s, _ in running if h == "a")
    assert {h for h, s, _ in running if s.image_id == python_id} == {"a", "b"}
    # full inspect documents are kept
    doc = next(s.data for h, s, _ in running if s.name == "python-0")
    assert doc["Config"]["Labels"][LABEL] == "a" and doc["HostConfig"]["NetworkMode"] == "none"
    # a second sync scans nothing new
    again = api.sync_fleet(store)
    assert sum(r.scanned for r in again) == 0 and sum(r.gone for r in again) == 0


def test_vanished_container_is_marked_gone_not_deleted(
    store: Store, fleet: dict[str, PrivateEngine]
) -> None:
    _add(store, fleet)
    client = fleet["a"].client()
    image = client.containers.get("python-0").image.id
    victim = client.containers.create(image, ["true"], name=f"victim-{uuid.uuid4().hex[:8]}")
    (first,) = api.sync_fleet(store, ["a"], scan=False)
    assert first.containers == 4
    victim.remove()
    client.close()
    (result,) = api.sync_fleet(store, ["a"], scan=False)
    assert result.gone == 1 and result.containers == 3
    history = store.fleet.objects("container", host="a", present=False)
    gone = [(s.name, at) for _, s, at in history if at is not None]
    assert [name for name, _ in gone] == [victim.name]


def test_cli_reports_a_dead_host_and_syncs_the_others(
    fleet: dict[str, PrivateEngine], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    env_db = f"sqlite:///{tmp_path / 'cli.db'}"

    def hc(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hullcheck", *args, "--db", env_db],
            capture_output=True,
            text=True,
            timeout=600,
        )

    for name, engine in fleet.items():
        assert hc("hosts", "add", name, engine.host).returncode == 0
    assert hc("hosts", "add", "ghost", f"unix://{tmp_path}/nothing.sock").returncode == 0
    duplicate = hc("hosts", "add", "a", fleet["a"].host)
    assert duplicate.returncode == 2 and "a: a host of that name exists" in duplicate.stderr
    bad = hc("hosts", "add", "x", "ftp://nowhere")
    assert bad.returncode == 2 and "ftp://nowhere: not an engine address" in bad.stderr
    result = hc("fleet", "sync", "--no-scan")
    assert result.returncode == 2
    assert "ghost: failed" in result.stderr and "1 of 4 hosts failed: ghost" in result.stderr
    assert "a: 3 containers, 1 images, 0 volumes" in result.stdout
    listing = hc("hosts", "list").stdout
    assert "ghost" in listing and "never" in listing and "cannot reach" in listing


def test_a_host_that_dies_keeps_what_was_stored(
    store: Store, fleet: dict[str, PrivateEngine]
) -> None:
    """Runs last in this module: it stops engine c."""
    _add(store, fleet)
    api.sync_fleet(store, scan=False)
    before = store.fleet.objects("container", host="c")
    fleet["c"].stop()
    results = {r.host: r for r in api.sync_fleet(store, scan=False)}
    assert not results["c"].ok and results["c"].error and "fleet-c" in results["c"].error
    assert results["a"].ok and results["b"].ok
    after = store.fleet.objects("container", host="c")
    assert [s.object_id for _, s, _ in after] == [s.object_id for _, s, _ in before]
