"""A container whose counters the engine cannot read costs its own sample, never the host's
inventory."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from hullcheck import api
from hullcheck.store import Store
from tests.conftest import Images
from tests.infra.engine import PrivateEngine

pytestmark = pytest.mark.docker

DOCKER_KEEPS_IT = (
    "dockerd reads a container's network counters from inside its namespace and keeps that "
    "namespace itself; only Podman's stats fail on a namespace whose mount is gone"
)


@pytest.mark.not_on("docker20", reason=DOCKER_KEEPS_IT)
@pytest.mark.not_on("docker26", reason=DOCKER_KEEPS_IT)
@pytest.mark.not_on("docker26-containerd", reason=DOCKER_KEEPS_IT)
def test_a_container_whose_stats_fail_is_left_out_of_the_samples_only(
    engine: PrivateEngine, images: Images, store: Store
) -> None:
    client = engine.client()
    lost_mount = ""
    try:
        image = images.on(engine, "debian")
        names = [f"samples-{uuid.uuid4().hex[:8]}" for _ in range(2)]
        # the default network: each container has a namespace mounted under /run/netns
        lost, kept = (
            client.containers.run(image, ["sleep", "infinity"], detach=True, name=name)
            for name in names
        )
        lost.reload()
        namespace = lost.attrs["NetworkSettings"]["SandboxKey"]
        # what a reboot does to a container Podman still believes running (its state survives
        # on disk, the namespace mount does not): the engine answers its stats with a 500
        mount = engine.seen_from_host(namespace)
        subprocess.run(["umount", "--lazy", mount], check=True)  # busy while Podman reads it
        lost_mount = mount
        with pytest.raises(Exception, match="500 Server Error"):
            client.api.stats(lost.id, stream=False, one_shot=True)
        api.add_host(store, api.Host("main", engine.host, timeout=30))
        (result,) = api.sync_fleet(store, scan=False)
        assert result.ok, result.error
        running = {c.id for c in client.containers.list()}
        assert {lost.id, kept.id} <= running
        assert result.samples == len(running) - 1
        stored = {seen.name for _, seen, _ in store.fleet.objects("container")}
        assert set(names) <= stored
    finally:
        if lost_mount:  # the namespace is back where it was, or Podman cannot remove it
            pid = lost.attrs["State"]["Pid"]
            subprocess.run(["mount", "--bind", f"/proc/{pid}/ns/net", lost_mount], check=True)
        for name in names:
            client.containers.get(name).remove(force=True)
        client.close()
