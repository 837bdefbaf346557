"""The hygiene report's judgement from recorded engine documents, through fakes of the
``FleetStore`` Protocols (``tests/infra/fakes.py``: no engine, no database); then the same
report from a real sync of private engines (``fleet`` in ``conftest.py``)."""

from __future__ import annotations

import datetime
import io
import time
import uuid
from typing import Any

import pytest

from hullcheck import api
from hullcheck.fleet.hygiene import Settings, report
from hullcheck.store import Store
from tests.infra.engine import PrivateEngine, run_idle
from tests.infra.fakes import LATER, recorded_fleet
from tests.infra.fleet import add_hosts


def _kinds(items: list[Any], section: str) -> set[tuple[str, str]]:
    return {(i.kind, i.object) for i in items if i.section == section}


def test_rogue_rules_judge_each_container_by_its_labels() -> None:
    items = report(recorded_fleet(), Settings(now=LATER))  # type: ignore[arg-type]  # a fake store
    rogue = _kinds(items, "rogue")
    assert ("no-owner", "python-0") in rogue and ("unmanaged", "python-0") in rogue
    assert not {k for k, name in rogue if name == "bench-record-stopped"}  # owner + Compose
    skipped = report(recorded_fleet(), Settings(now=LATER, skip_rules=("no-owner",)))  # type: ignore[arg-type]
    assert ("no-owner", "python-0") not in _kinds(skipped, "rogue")


def test_garbage_spares_what_a_container_uses() -> None:
    items = report(recorded_fleet(), Settings(now=LATER))  # type: ignore[arg-type]
    # the never-started container, five weeks old, is garbage; the volume it mounts, the
    # image the containers use and the default network are not
    assert _kinds(items, "garbage") == {("stopped-container", "bench-record-stopped")}
    assert _kinds(items, "sprawl") == {("containers-per-image", "hc-test/python:fac857eee768")}
    # one day after recording nothing is old enough to be garbage yet
    early = report(
        recorded_fleet(), Settings(now=datetime.datetime(2026, 11, 23, tzinfo=datetime.UTC))
    )  # type: ignore[arg-type]
    assert not any(name == "bench-record-stopped" for _, name in _kinds(early, "garbage"))


def test_a_volume_no_container_mounts_is_garbage() -> None:
    items = report(recorded_fleet(stopped=False), Settings(now=LATER))  # type: ignore[arg-type]
    # the running container still uses the image
    assert _kinds(items, "garbage") == {("unused-volume", "bench-record-data")}
    assert not _kinds(items, "idle")  # no samples: nothing is judged idle


@pytest.mark.docker
def test_hygiene_report_from_the_inventory(store: Store, fleet: dict[str, PrivateEngine]) -> None:
    """Rogue containers, stopped ones, a dangling image, an unused volume and network on a."""
    tag = uuid.uuid4().hex[:8]
    client = fleet["a"].client()
    image = client.containers.get("python-0").image.id
    socket = fleet["a"].socket
    made = [
        client.containers.create(image, ["sleep", "1"], name=f"priv-{tag}", privileged=True),
        client.containers.create(image, ["sleep", "1"], name=f"hostnet-{tag}", network_mode="host"),
        client.containers.create(
            image,
            ["sleep", "1"],
            name=f"sock-{tag}",
            network_mode="none",
            volumes={socket: {"bind": "/var/run/docker.sock", "mode": "ro"}},
            cap_add=["NET_ADMIN"],
            labels={"owner": "team-a", "com.docker.compose.project": "shop"},
        ),
    ]
    exited = client.containers.run(
        image,
        ["sh", "-c", "head -c 100000 /dev/urandom > /tmp/blob"],
        name=f"done-{tag}",
        network_mode="none",
        detach=True,
    )
    exited.wait()
    made.append(exited)
    dangling = exited.commit()  # an image without a tag
    relabelled_tag = f"relabelled-{tag}:1"
    relabelled, _ = client.images.build(
        fileobj=io.BytesIO(f"FROM {image}\nLABEL org.example.rebuild={tag}\n".encode()),
        tag=relabelled_tag,
        network_mode="none",
        rm=True,
    )
    volume = client.volumes.create(f"unused-{tag}")
    client.containers.run(  # 50,000 bytes in the volume, then nothing mounts it
        image,
        ["sh", "-c", "head -c 50000 /dev/urandom > /v/blob"],
        volumes={volume.name: {"bind": "/v", "mode": "rw"}},
        network_mode="none",
        remove=True,
    )
    network = client.networks.create(f"unused-{tag}", driver="bridge")
    try:
        add_hosts(store, fleet)
        api.sync_fleet(store, ["a"], scan=False)
        items = report(store, Settings(older_than=datetime.timedelta(0)))
        found = {(i.kind, i.object) for i in items if i.host == "a"}
        assert ("privileged", f"priv-{tag}") in found
        assert ("host-namespace", f"hostnet-{tag}") in found
        assert ("docker-socket", f"sock-{tag}") in found
        assert ("added-capabilities", f"sock-{tag}") in found
        assert ("no-owner", f"sock-{tag}") not in found and (
            "unmanaged",
            f"sock-{tag}",
        ) not in found
        assert ("no-owner", "python-0") in found and ("unmanaged", "python-0") in found
        assert ("stopped-container", f"done-{tag}") in found
        assert ("stopped-container", "python-0") not in found  # running
        assert ("dangling-image", dangling.id[7:19]) in found
        assert ("unused-volume", f"unused-{tag}") in found
        assert ("unused-network", f"unused-{tag}") in found
        assert ("containers-per-image", next(iter(client.images.get(image).tags))) in found
        # the committed image shares every layer of python's but its own: only that is freed,
        # its size less that of the largest image of python's layers (Podman and the containerd
        # store count an image's config and manifest into its size: the relabelled one's is
        # larger by its label)
        base_size = max(client.images.get(i).attrs["Size"] for i in (image, relabelled.id))
        reclaim = next(i.reclaim_bytes for i in items if i.kind == "dangling-image")
        assert reclaim == client.images.get(dangling.id).attrs["Size"] - base_size
        assert 99_000 <= reclaim < 200_000  # the 100,000 bytes written, in a layer
        # a rebuild with another label has the very same layers: a near-duplicate, frees nothing
        near = {i.object: i for i in items if i.kind == "near-duplicate"}
        assert set(near) == {relabelled_tag, next(iter(client.images.get(image).tags))}
        unused = {i.object: i.reclaim_bytes for i in items if i.kind == "unused-image"}
        assert unused[relabelled_tag] == 0
        # a container's writable layer and a volume are measured only when asked (the engine
        # walks them): then the report gives what removing them frees
        bytes_of = {(i.kind, i.object): i.reclaim_bytes for i in items if i.host == "a"}
        assert bytes_of[("stopped-container", f"done-{tag}")] is None
        assert bytes_of[("unused-volume", f"unused-{tag}")] is None
        api.sync_fleet(store, ["a"], scan=False, sizes=True)
        measured = report(store, Settings(older_than=datetime.timedelta(0)))
        bytes_of = {(i.kind, i.object): i.reclaim_bytes for i in measured if i.host == "a"}
        assert 100_000 <= (bytes_of[("stopped-container", f"done-{tag}")] or 0) < 150_000
        assert 50_000 <= (bytes_of[("unused-volume", f"unused-{tag}")] or 0) < 100_000
        # a week's threshold leaves the fresh exited container alone
        recent = report(store, Settings(older_than=datetime.timedelta(days=7)))
        assert ("stopped-container", f"done-{tag}") not in {(i.kind, i.object) for i in recent}
        strict = report(store, Settings(allowed_registries=("registry.example.com",)))
        # an image loaded from an archive: Docker Hub's by Docker's naming, Podman's is local
        registry = "localhost" if fleet["a"].is_podman else "docker.io"
        assert any(i.kind == "unapproved-registry" and registry in i.detail for i in strict)
    finally:
        for container in made:
            container.remove(force=True)
        client.images.remove(dangling.id, force=True)
        client.images.remove(relabelled.id, force=True)
        volume.remove()
        network.remove()
        client.close()


@pytest.mark.docker
def test_idle_waste_from_two_syncs_of_resource_samples(
    store: Store, fleet: dict[str, PrivateEngine]
) -> None:
    """``sleep`` containers are idle between two syncs; a busy loop is not; a 256 MiB limit
    over a sleeping process is memory held for nothing."""
    tag = uuid.uuid4().hex[:8]
    client = fleet["a"].client()
    image = client.containers.get("python-0").image.id
    busy = client.containers.run(
        image,
        ["sh", "-c", "while :; do :; done"],
        name=f"busy-{tag}",
        network_mode="none",
        nano_cpus=100_000_000,  # a tenth of a core: busy, without starving the test machine
        detach=True,
    )
    reserved = run_idle(client, image, f"reserved-{tag}", mem_limit="256m")
    try:
        add_hosts(store, fleet)
        first = api.sync_fleet(store, ["a"], scan=False)
        assert first[0].samples == 4  # python-0, python-1, busy, reserved
        settings = Settings(min_idle_span=datetime.timedelta(seconds=1))
        # one sample per container: nothing can be judged idle yet
        assert not [i for i in report(store, settings) if i.kind == "idle-container"]
        time.sleep(3)
        api.sync_fleet(store, ["a"], scan=False)
        items = report(store, settings)
        idle = {i.object for i in items if i.kind == "idle-container"}
        assert idle == {"python-0", "python-1", f"reserved-{tag}"}
        memory = [i for i in items if i.kind == "unused-memory"]
        assert [i.object for i in memory] == [f"reserved-{tag}"]
        assert memory[0].reclaim_bytes is not None
        assert 200 * 1024**2 < memory[0].reclaim_bytes <= 256 * 1024**2
    finally:
        busy.remove(force=True)
        reserved.remove(force=True)
        client.close()
