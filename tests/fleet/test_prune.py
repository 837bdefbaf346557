"""``prune``: the plan from recorded engine documents through fakes of the ``FleetStore``
Protocols (``tests/infra/fakes.py``); then plan, live re-check, removal and history on a real
engine of the shared fleet (``conftest.py``)."""

from __future__ import annotations

import contextlib
import datetime
import io
import subprocess
import sys
import uuid

import docker
import pytest

from hullcheck import api
from hullcheck.api import audit as audit_api
from hullcheck.api import fleet as fleet_api
from hullcheck.engine.documents import familiar
from hullcheck.errors import UsageError
from hullcheck.fleet import prune
from hullcheck.store import Store
from tests.infra.engine import PrivateEngine
from tests.infra.fakes import LATER, recorded_fleet
from tests.infra.fleet import add_hosts

STOPPED = "bench-record-stopped"  # the recorded created container: owner and Compose labels


def _plan(**filters: object) -> dict[tuple[str, str], str | None]:
    steps = prune.plan(recorded_fleet(), prune.Filters(now=LATER, **filters))  # type: ignore[arg-type]
    return {(s.kind, s.name): s.kept for s in steps}


def test_the_plan_removes_garbage_and_never_what_a_container_uses() -> None:
    # five weeks on, the never-started container is garbage; the volume it mounts, the image
    # both containers use and the default network are never planned
    assert _plan() == {("container", STOPPED): None}
    assert _plan(kinds=("volume", "image", "network")) == {}


def test_the_plan_narrows_by_host_age_and_labels() -> None:
    assert _plan(hosts=("h2",)) == {}
    assert _plan(older_than=datetime.timedelta(days=60)) == {}  # created 38 days before
    assert _plan(labels=("owner=team-a",)) == {("container", STOPPED): None}
    assert _plan(labels=("owner=team-b",)) == {}
    assert _plan(exclude_labels=("com.docker.compose.project",)) == {}


def test_a_protect_label_keeps_what_is_garbage_with_the_reason() -> None:
    assert _plan(protect_labels=("owner",)) == {
        ("container", STOPPED): "protected by the label owner"
    }


def test_a_bad_filter_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown kind 'pod'"):
        _plan(kinds=("pod",))
    with pytest.raises(UsageError, match="expected KEY or KEY=VALUE"):
        _plan(labels=("=x",))


@pytest.mark.docker
def test_prune_plans_applies_and_records_removals(
    store: Store, fleet: dict[str, PrivateEngine]
) -> None:
    """On b: garbage carrying this test's label is planned, protected objects are kept, the
    volume a stopped container mounts is never planned, a container started between plan and
    apply is refused by the live re-check, and every attempt is in ``prune --history``."""
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
        add_hosts(store, fleet)
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
        applied = fleet_api.prune_apply(store, steps, filters)
        outcomes = {(o.step.kind, o.step.name): o for o in applied}
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
        tags = {familiar(t) for i in client.images.list() for t in i.tags}  # Podman: docker.io/…
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
        # and each attempt is a record of host b's audit log, which verifies
        logged = [r for r, _ in store.audit.records("b")]
        assert {(r.kind, r.action, r.name, r.context["outcome"]) for r in logged} == {
            ("hullcheck", f"{o.step.kind}-remove", o.step.name, o.outcome) for o in applied
        }
        verdict = audit_api.verify_log(store, "b", audit_api.verifier_key())
        assert verdict.intact and verdict.covered == len(applied)
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
