"""``fleet sync``: every host at once, each new image ID scanned once fleet-wide.

Engines are read concurrently (one worker per host, bounded); the store is written from the
calling thread, one transaction per host, so a host that fails mid-sync leaves what was
stored for it before untouched. Objects that vanished since the last sync are marked gone.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from hullcheck.engine import EngineClient, connect_host
from hullcheck.engine.address import without_secret
from hullcheck.engine.documents import familiar_names, sample, summary
from hullcheck.errors import HullcheckError
from hullcheck.fleet.inventory import FleetStore
from hullcheck.model import Host, HostSync, Sample, Seen
from hullcheck.redaction import redact_document
from hullcheck.sbom.catalogers.registry import default_selector

MAX_WORKERS = 16

Scanner = Callable[[str, EngineClient], None]
"""Makes and stores the SBOM (and findings) of one image ID, read through ``client``."""


@dataclass(frozen=True, slots=True)
class Inventory:
    """What one host's engine told a sync."""

    objects: dict[str, list[Seen]]
    """By kind: ``container``, ``image``, ``volume``, ``network``."""
    samples: list[Sample]
    """One per running container."""
    seconds: float
    """Time spent asking the engine."""


def _seen(kind: str, document: dict[str, Any]) -> Seen:
    document = familiar_names(kind, document)
    if kind in ("container", "image"):
        document = redact_document(document)  # environment values never reach the store
    brief = summary(kind, document)
    if kind == "container":
        return Seen(
            document["Id"],
            str(document.get("Name") or "").lstrip("/") or None,
            document.get("Image"),
            (document.get("State") or {}).get("Status"),
            document,
            brief,
        )
    if kind == "image":
        tags = document.get("RepoTags") or []
        return Seen(
            document["Id"], tags[0] if tags else None, document["Id"], None, document, brief
        )
    if kind == "volume":
        return Seen(document["Name"], document["Name"], None, None, document, brief)
    return Seen(document["Id"], document.get("Name"), None, None, document, brief)


def collect(host: Host, *, samples: bool = True, sizes: bool = False) -> Inventory:
    """One host's inventory, read from its engine, with a resource sample of every running
    container unless told not to; with ``sizes``, the bytes of every container's writable
    layer and of every volume (the engine walks them)."""
    started = time.perf_counter()
    client = connect_host(host)
    try:
        listed = client.list_containers(sizes=sizes)
        running = [c["Id"] for c in listed if c.get("State") == "running"] if samples else []
        with ThreadPoolExecutor(max_workers=1) as pool:
            # each stats answer waits for the engine's next collection tick: ask while the
            # inventory is read
            stats = pool.submit(client.stats, running)
            documents = client.containers(listed)
            volumes = client.volumes()
            if sizes:
                _add_sizes(documents, listed, volumes, client.volume_sizes())
            objects = {
                "container": [_seen("container", d) for d in documents],
                "image": [_seen("image", d) for d in client.images()],
                "volume": [_seen("volume", d) for d in volumes],
                "network": [_seen("network", d) for d in client.networks()],
            }
            read = [sample(s["id"], s) for s in stats.result()]
    finally:
        client.close()
    return Inventory(objects, read, time.perf_counter() - started)


def _add_sizes(
    containers: list[dict[str, Any]],
    listed: list[dict[str, Any]],
    volumes: list[dict[str, Any]],
    usage: dict[str, dict[str, Any]],
) -> None:
    """Put the measured sizes into the inspect documents, where the engine's own inspect
    with ``size=1`` would put them (``SizeRw``; a volume's ``UsageData``)."""
    written = {c["Id"]: c["SizeRw"] for c in listed if isinstance(c.get("SizeRw"), int)}
    for document in containers:
        if document["Id"] in written:
            document["SizeRw"] = written[document["Id"]]
    for volume in volumes:
        if volume.get("Name") in usage:
            volume["UsageData"] = usage[volume["Name"]]


def sync(
    store: FleetStore,
    hosts: Sequence[Host],
    *,
    scan: Scanner | None = None,
    samples: bool = True,
    sizes: bool = False,
) -> list[HostSync]:
    """Sync ``hosts``; with ``scan``, make the SBOM of every image ID not stored yet."""
    results: dict[str, HostSync] = {}
    inventories: dict[str, dict[str, list[Seen]]] = {}
    workers = max(1, min(MAX_WORKERS, len(hosts)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(collect, host, samples=samples, sizes=sizes): host for host in hosts}
        for future in as_completed(futures):
            host = futures[future]
            try:
                inventory = future.result()
            except HullcheckError as exc:
                error = without_secret(str(exc), host.url)
                store.hosts.record_failure(host.name, error)
                results[host.name] = HostSync(host.name, False, error=error)
                continue
            seen = inventory.objects
            gone = store.fleet.save_inventory(host.name, seen, inventory.samples)
            inventories[host.name] = seen
            results[host.name] = HostSync(
                host.name,
                True,
                containers=len(seen["container"]),
                images=len(seen["image"]),
                volumes=len(seen["volume"]),
                networks=len(seen["network"]),
                gone=gone,
                samples=len(inventory.samples),
                seconds=inventory.seconds,
            )
    if scan is not None:
        _scan_new_images(store, hosts, inventories, results, scan)
    return [results[h.name] for h in hosts]


def _scan_new_images(
    store: FleetStore,
    hosts: Sequence[Host],
    inventories: dict[str, dict[str, list[Seen]]],
    results: dict[str, HostSync],
    scan: Scanner,
) -> None:
    """Each image ID not stored yet is scanned once, on the first host that has it."""
    key = default_selector().key
    done: set[str] = set()
    by_name = {h.name: h for h in hosts}
    for name, seen in inventories.items():
        wanted = [
            s.object_id
            for s in seen["image"]
            if s.object_id not in done and not store.has_image(s.object_id, key)
        ]
        if not wanted:
            continue
        client = connect_host(by_name[name])
        try:
            for image_id in wanted:
                try:
                    scan(image_id, client)
                except HullcheckError as exc:
                    error = without_secret(f"{name}: {exc}", by_name[name].url)
                    store.hosts.record_failure(name, error)
                    continue
                done.add(image_id)
                results[name] = dataclasses.replace(
                    results[name], scanned=results[name].scanned + 1
                )
        finally:
            client.close()
