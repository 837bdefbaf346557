"""``fleet sync`` across real private engines: the shared fleet of three (``conftest.py``),
and an engine of many containers under a low descriptor limit."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator

import docker
import pytest

from hullcheck import api
from hullcheck.store import Store
from tests.conftest import Images
from tests.infra.engine import PrivateEngine, load_archive, run_idle
from tests.infra.fleet import LABEL, add_hosts, engine_name

pytestmark = pytest.mark.docker


def test_sync_inventories_every_host_and_scans_each_image_once(
    store: Store, fleet: dict[str, PrivateEngine], images: Images
) -> None:
    add_hosts(store, fleet)
    results = {r.host: r for r in api.sync_fleet(store)}
    assert all(r.ok for r in results.values())
    assert {h: r.containers for h, r in results.items()} == {"a": 3, "b": 6, "c": 6}
    assert {h: r.images for h, r in results.items()} == {"a": 1, "b": 2, "c": 2}
    # three distinct image IDs in the fleet: each scanned once, wherever it was first found
    assert sum(r.scanned for r in results.values()) == 3
    assert len(store.image_ids()) == 3
    running = store.fleet.objects("container")
    states = sorted((host, seen.name, seen.state) for host, seen, _ in running)
    assert ("a", "python-0", "running") in states and ("c", "npm-stopped", "created") in states
    python_id = next(s.image_id for h, s, _ in running if h == "a")
    assert {h for h, s, _ in running if s.image_id == python_id} == {"a", "b"}
    # full inspect documents are kept
    doc = next(s.data for h, s, _ in running if s.name == "python-0")
    assert doc["Config"]["Labels"][LABEL] == "a" and doc["HostConfig"]["NetworkMode"] == "none"
    # with every field the engine answered, those only this engine has too, kept raw
    kept = store.fleet.objects("container", host="a", full=True)
    full = next(s.data for _, s, _ in kept if s.name == "python-0")
    client = fleet["a"].client()
    assert full.keys() == client.api.inspect_container("python-0").keys()
    client.close()
    # a second sync scans nothing new
    again = api.sync_fleet(store)
    assert sum(r.scanned for r in again) == 0 and sum(r.gone for r in again) == 0


def test_vanished_container_is_marked_gone_not_deleted(
    store: Store, fleet: dict[str, PrivateEngine]
) -> None:
    add_hosts(store, fleet)
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
    assert "c: 6 containers, 2 images" in result.stdout
    hygiene = hc("fleet", "report")
    assert hygiene.returncode == 0 and "rogue: " in hygiene.stdout and "no-owner" in hygiene.stdout
    skipped = hc("fleet", "report", "--skip-rule", "no-owner", "-f", "json")
    kinds = {item["kind"] for item in json.loads(skipped.stdout)}
    assert skipped.returncode == 0 and "unmanaged" in kinds and "no-owner" not in kinds
    unknown = hc("fleet", "report", "--skip-rule", "no-label")
    assert unknown.returncode == 2 and "unknown rogue rule 'no-label'" in unknown.stderr
    bad_age = hc("fleet", "report", "--older-than", "a week")
    assert bad_age.returncode == 2 and "'a week' is not a duration" in bad_age.stderr
    listing = hc("hosts", "list").stdout
    assert "ghost" in listing and "never" in listing and "cannot reach" in listing


MANY = 48


@pytest.fixture(scope="module")
def crowded(images: Images, engine_kind: str) -> Iterator[PrivateEngine]:
    """An engine of the kind under test running MANY containers."""
    engine = PrivateEngine(engine_name("crowded", engine_kind), kind=engine_kind)
    engine.start()
    try:
        client = engine.client()
        loaded = load_archive(client, images.archive("python"))
        running = {c.name for c in client.containers.list()}
        for index in range(MANY):
            if f"crowded-{index}" not in running:
                with contextlib.suppress(docker.errors.NotFound):
                    client.containers.get(f"crowded-{index}").remove(force=True)
                run_idle(client, loaded.id, f"crowded-{index}")
        client.close()
        yield engine
    finally:
        engine.stop()


def test_sync_stays_within_a_low_open_files_limit(crowded: PrivateEngine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A service started with a small descriptor limit (systemd's soft default is 1024; here
    64, hard) samples a host of many running containers: the stats requests in flight are
    bounded by what the limit allows, not one socket per container at once."""
    import resource

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    db = f"sqlite:///{tmp_path / 'crowded.db'}"
    base = [sys.executable, "-m", "hullcheck"]
    added = subprocess.run(
        [*base, "hosts", "add", "crowded", crowded.host, "--db", db], capture_output=True
    )
    assert added.returncode == 0, added.stderr
    result = subprocess.run(
        [*base, "fleet", "sync", "--no-scan", "--db", db],
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=low_limit,
    )
    assert result.returncode == 0, result.stderr
    assert f"crowded: {MANY} containers" in result.stdout
    assert f"{MANY} sampled" in result.stdout


def test_a_host_that_dies_keeps_what_was_stored(
    store: Store, fleet: dict[str, PrivateEngine], crowded: PrivateEngine
) -> None:
    """Stops the crowded engine, then starts it again (its containers stay, stopped)."""
    add_hosts(store, {"a": fleet["a"], "b": fleet["b"], "crowded": crowded})
    api.sync_fleet(store, scan=False)
    before = store.fleet.objects("container", host="crowded")
    assert len(before) == MANY
    crowded.stop()
    try:
        results = {r.host: r for r in api.sync_fleet(store, scan=False)}
    finally:
        crowded.start()
    failed = results["crowded"]
    assert not failed.ok and failed.error and crowded.name in failed.error
    assert results["a"].ok and results["b"].ok
    after = store.fleet.objects("container", host="crowded")
    assert [s.object_id for _, s, _ in after] == [s.object_id for _, s, _ in before]
