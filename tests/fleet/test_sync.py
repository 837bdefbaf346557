"""``fleet sync`` across three real private engines with containers of several images."""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import docker
import pytest

from hullcheck import api
from hullcheck.store import Store
from tests.conftest import Images
from tests.infra.engine import PrivateEngine, kill_running, load_archive, run_idle
from tests.infra.vulndata import vuln_path

pytestmark = pytest.mark.docker

LABEL = "org.hullcheck.test"


@pytest.fixture(scope="module")
def fleet(images: Images) -> Iterator[dict[str, PrivateEngine]]:
    """Engines a, b, c: python on a and b, npm on b and c, and on c the layers image (built
    FROM python: it carries python's idna 3.4 in a base layer)."""
    archives = {name: images.archive(name) for name in ("python", "npm", "layers")}
    layout = {"a": ["python"], "b": ["python", "npm"], "c": ["npm", "layers"]}
    engines = {name: PrivateEngine(f"fleet-{name}") for name in layout}
    try:
        for name, engine in engines.items():
            engine.start()
            client = engine.client()
            for container in client.containers.list(all=True):
                container.remove(force=True)
            # what an earlier, interrupted run may have left: the engines start as laid out
            for volume in client.volumes.list():
                volume.remove(force=True)
            for network in client.networks.list():
                if network.name not in ("bridge", "host", "none"):
                    network.remove()
            wanted = set()
            for image in layout[name]:
                loaded = load_archive(client, archives[image])
                wanted.add(loaded.id)
                for index in range(2):
                    run_idle(client, loaded.id, f"{image}-{index}", labels={LABEL: name})
                client.containers.create(loaded.id, ["true"], name=f"{image}-stopped")
            for leftover in client.images.list(all=True):
                if leftover.id not in wanted:
                    client.images.remove(leftover.id, force=True)
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


def test_affected_lists_exactly_the_containers_with_the_vulnerable_package(
    store: Store, fleet: dict[str, PrivateEngine]
) -> None:
    """idna 3.4 (CVE-2024-3651) is in the python image (hosts a, b) and, through its base,
    in the layers image (host c); the npm image does not carry it."""
    api.import_vulnerabilities(store, vuln_path("feeds", "PyPI-all.zip"))
    _add(store, fleet)
    api.sync_fleet(store)
    rows = api.affected(store, "CVE-2024-3651")
    places = {(r.host, r.container, r.package, r.version, r.fixed_version) for r in rows}
    assert places == {
        (host, f"{image}-{suffix}", "idna", "3.4", "3.7")
        for host, image in (("a", "python"), ("b", "python"), ("c", "layers"))
        for suffix in ("0", "1", "stopped")
    }
    states = {(r.host, r.container): r.state for r in rows}
    assert states[("a", "python-0")] == "running" and states[("c", "layers-stopped")] == "created"
    layers = next(r for r in rows if r.host == "c")
    python = next(r for r in rows if r.host == "a")
    assert layers.base_image == python.image and python.base_image is None
    # the advisory id finds the same containers
    by_advisory = {(r.host, r.container) for r in api.affected(store, "PYSEC-2024-60")}
    assert by_advisory == {(h, c) for h, c, *_ in places}


def test_affected_by_package_range_and_package_spread(
    store: Store, fleet: dict[str, PrivateEngine]
) -> None:
    from hullcheck.errors import UsageError
    from hullcheck.fleet.queries import package_spread

    _add(store, fleet)
    api.sync_fleet(store)
    below = api.affected(store, package="idna", below="3.7", ecosystem="PyPI")
    assert {(r.host, r.image) for r in below} == {
        (r.host, r.image)
        for r in api.affected(store, package="idna", below="3.5", ecosystem="PyPI")
    }
    assert len(below) == 9 and not api.affected(
        store, package="idna", below="3.4", ecosystem="PyPI"
    )
    # Debian packages by source name, with dpkg rules: every image carries Debian 12's glibc
    libc = api.affected(store, package="glibc", below="2.36-9+deb12u99", ecosystem="Debian")
    assert {r.host for r in libc} == {"a", "b", "c"} and {r.package for r in libc} >= {"libc6"}
    assert not api.affected(store, package="glibc", below="2.36-9+deb12u99", ecosystem="Ubuntu")
    with pytest.raises(UsageError, match="unknown ecosystem"):
        api.affected(store, package="idna", below="3.7", ecosystem="Pip")
    with pytest.raises(UsageError, match="--below 3..7"):
        api.affected(store, package="idna", below="3..7", ecosystem="PyPI")
    spread = package_spread(store, "idna")
    assert [(s.version, s.images, s.containers, s.hosts) for s in spread] == [
        ("3.4", 2, 9, ("a", "b", "c"))
    ]


def test_hygiene_report_from_the_inventory(store: Store, fleet: dict[str, PrivateEngine]) -> None:
    """Rogue containers, stopped ones, a dangling image, an unused volume and network on a."""
    import datetime

    from hullcheck.fleet.hygiene import Settings, report

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
        _add(store, fleet)
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
        # the committed image shares every layer of python's but its own: only that is freed
        base_size = client.images.get(image).attrs["Size"]
        reclaim = next(i.reclaim_bytes for i in items if i.kind == "dangling-image")
        assert reclaim == client.images.get(dangling.id).attrs["Size"] - base_size
        assert 100_000 <= reclaim < 200_000
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
        assert any(i.kind == "unapproved-registry" and "docker.io" in i.detail for i in strict)
    finally:
        for container in made:
            container.remove(force=True)
        client.images.remove(dangling.id, force=True)
        client.images.remove(relabelled.id, force=True)
        volume.remove()
        network.remove()
        client.close()


def test_idle_waste_from_two_syncs_of_resource_samples(
    store: Store, fleet: dict[str, PrivateEngine]
) -> None:
    """``sleep`` containers are idle between two syncs; a busy loop is not; a 256 MiB limit
    over a sleeping process is memory held for nothing."""
    import datetime

    from hullcheck.fleet.hygiene import Settings, report

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
        _add(store, fleet)
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


def test_prune_plans_applies_and_records_removals(
    store: Store, fleet: dict[str, PrivateEngine]
) -> None:
    """On b: garbage carrying this test's label is planned, protected objects are kept, the
    volume a stopped container mounts is never planned, a container started between plan and
    apply is refused by the live re-check, and every attempt is in ``prune --history``."""
    from hullcheck.fleet import prune

    tag = uuid.uuid4().hex[:8]
    mine = {"org.hullcheck.test.prune": tag}
    client = fleet["b"].client()
    image = client.containers.get("python-0").image.id

    def build(name: str) -> str:
        built, _ = client.images.build(
            fileobj=io.BytesIO(
                f"FROM {image}\nLABEL org.hullcheck.test.prune={tag} name={name}\n".encode()
            ),
            tag=name,
            network_mode="none",
            rm=True,
        )
        return str(built.id)

    unused_image, kept_image = build(f"unused-{tag}:1"), build(f"kept-{tag}:1")
    create = client.containers.create
    old = create(image, ["true"], name=f"old-{tag}", labels=mine, network_mode="none")
    protected = create(
        image,
        ["true"],
        name=f"keep-{tag}",
        labels=mine | {prune.PROTECT_LABEL: "true"},
        network_mode="none",
    )
    volume = client.volumes.create(f"vol-{tag}", labels=mine)
    mounted = client.volumes.create(f"mounted-{tag}", labels=mine)
    holder = create(
        image,
        ["true"],
        name=f"holder-{tag}",
        labels=mine | {prune.PROTECT_LABEL: "yes"},
        network_mode="none",
        volumes={mounted.name: {"bind": "/data", "mode": "rw"}},
    )
    race = create(
        image, ["sleep", "infinity"], name=f"race-{tag}", labels=mine, network_mode="none"
    )
    network = client.networks.create(f"net-{tag}", driver="bridge", labels=mine)
    made = [old, protected, holder, race]
    try:
        _add(store, fleet)
        api.sync_fleet(store, ["b"], scan=False)
        filters = prune.Filters(
            hosts=("b",),
            older_than=datetime.timedelta(0),
            labels=(f"org.hullcheck.test.prune={tag}",),
            keep_images=("kept-*",),
        )
        steps = prune.plan(store, filters)
        planned = {(s.kind, s.name): s.kept for s in steps}
        assert planned == {
            ("container", f"old-{tag}"): None,
            ("container", f"race-{tag}"): None,
            ("container", f"keep-{tag}"): f"protected by the label {prune.PROTECT_LABEL}",
            ("container", f"holder-{tag}"): f"protected by the label {prune.PROTECT_LABEL}",
            ("image", f"unused-{tag}:1"): None,
            ("image", f"kept-{tag}:1"): f"kept-{tag}:1 matches the keep pattern kept-*",
            ("volume", f"vol-{tag}"): None,
            ("network", f"net-{tag}"): None,
        }
        # containers go first; nothing outside the label filter is planned
        assert [s.kind for s in steps][:4] == ["container"] * 4
        race.start()
        outcomes = {(o.step.kind, o.step.name): o for o in prune.apply(store, steps, filters)}
        assert {k: o.outcome for k, o in outcomes.items()} == {
            ("container", f"old-{tag}"): "removed",
            ("container", f"race-{tag}"): "refused",
            ("image", f"unused-{tag}:1"): "removed",
            ("volume", f"vol-{tag}"): "removed",
            ("network", f"net-{tag}"): "removed",
        }
        assert outcomes[("container", f"race-{tag}")].detail == "running now"
        # the engine agrees
        names = {c.name for c in client.containers.list(all=True)}
        assert f"old-{tag}" not in names
        assert {f"keep-{tag}", f"holder-{tag}", f"race-{tag}"} <= names
        volumes = {v.name for v in client.volumes.list()}
        assert f"vol-{tag}" not in volumes and f"mounted-{tag}" in volumes
        tags = {t for i in client.images.list() for t in i.tags}
        assert f"unused-{tag}:1" not in tags and f"kept-{tag}:1" in tags
        assert f"net-{tag}" not in {n.name for n in client.networks.list()}
        # recorded, and the inventory no longer lists what was removed
        history = store.actions.recent()
        assert {(a.name, a.outcome) for a in history} == {
            (f"old-{tag}", "removed"),
            (f"race-{tag}", "refused"),
            (f"unused-{tag}:1", "removed"),
            (f"vol-{tag}", "removed"),
            (f"net-{tag}", "removed"),
        }
        assert all(a.command == "prune" and "@" in a.actor for a in history)
        present = {s.name for _, s, _ in store.fleet.objects("container", host="b")}
        assert f"old-{tag}" not in present and f"race-{tag}" in present
        # the CLI shows the same history, and a bad kind is a usage error
        cli = subprocess.run(
            [sys.executable, "-m", "hullcheck", "prune", "--history", "--db", store.url],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert cli.returncode == 0 and f"old-{tag}" in cli.stdout and "refused" in cli.stdout
        bad = subprocess.run(
            [sys.executable, "-m", "hullcheck", "prune", "--kind", "pod", "--db", store.url],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert bad.returncode == 2 and "unknown kind 'pod'" in bad.stderr
    finally:
        for container in made:
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
        for leftover in (unused_image, kept_image):
            with contextlib.suppress(docker.errors.NotFound):
                client.images.remove(leftover, force=True)
        for name in (volume.name, mounted.name):
            with contextlib.suppress(docker.errors.NotFound):
                client.volumes.get(name).remove()
        with contextlib.suppress(docker.errors.NotFound):
            client.networks.get(network.id).remove()
        client.close()


MANY = 48


@pytest.fixture(scope="module")
def crowded(images: Images) -> Iterator[PrivateEngine]:
    """An engine running MANY containers."""
    engine = PrivateEngine("fleet-crowded")
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
        with contextlib.suppress(docker.errors.DockerException):
            client = engine.client()
            kill_running(client)
            client.close()
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
