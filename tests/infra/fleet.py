"""The real fleet of the fleet tests: three private engines with containers of the python,
npm and layers test images, laid out the same way on every run."""

from __future__ import annotations

from collections.abc import Iterator

from hullcheck import api
from hullcheck.store import Store
from tests.conftest import Images
from tests.infra.engine import PrivateEngine, load_archive, run_idle

LABEL = "org.hullcheck.test"
"""On every container the layout runs: the name of its engine."""


def engine_name(role: str, kind: str) -> str:
    """``fleet-a`` on Docker 20.10, ``fleet-a-podman5`` on Podman: the name shows in errors."""
    return f"fleet-{role}" if kind == "docker20" else f"fleet-{role}-{kind}"


def laid_out(images: Images, kind: str) -> Iterator[dict[str, PrivateEngine]]:
    """Engines a, b, c of one kind: python on a and b, npm on b and c, and on c the layers
    image (built FROM python: it carries python's idna 3.4 in a base layer)."""
    archives = {name: images.archive(name) for name in ("python", "npm", "layers")}
    layout = {"a": ["python"], "b": ["python", "npm"], "c": ["npm", "layers"]}
    engines = {name: PrivateEngine(engine_name(name, kind), kind=kind) for name in layout}
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
                if network.name not in engine.spec.networks:
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


def add_hosts(store: Store, fleet: dict[str, PrivateEngine]) -> None:
    """Register the fleet's engines in ``store`` by their names."""
    for name, engine in fleet.items():
        api.add_host(store, api.Host(name, engine.host, timeout=20))
