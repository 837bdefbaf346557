"""What a sync keeps of the engine's documents: the full inspect document, a summary of the
fields reports read, and resource samples parsed from ``/containers/{id}/stats``.

A summary is a projection of the inspect document (same keys, same nesting, fewer of them),
so code written against the engine's documents — hygiene rules among them — reads either.
Reports read summaries only: a fleet of 100,000 containers is summarised in megabytes, where
the inspect documents are gigabytes.
"""

from __future__ import annotations

import datetime
from typing import Any

from hullcheck.model import Sample
from hullcheck.times import parse_time

Spec = dict[str, Any]
"""``{key: True}`` keeps a value; ``{key: SIZE}`` keeps a number, zero too; ``{key: {…}}`` keeps
part of a mapping; ``{key: [{…}]}`` keeps part of every mapping of a list; ``{key: {"*": …}}``
keeps every key of a mapping."""

SIZE = "size"
"""A measured size: 0 is a fact (an empty volume), where other empty values are left out."""

_CONTAINER: Spec = {
    "Created": True,
    "SizeRw": SIZE,
    "RestartCount": True,
    "State": {
        "Status": True,
        "ExitCode": True,
        "StartedAt": True,
        "FinishedAt": True,
        "OOMKilled": True,
        "Health": {"Status": True},
    },
    "Config": {"Image": True, "Labels": True, "User": True},
    "HostConfig": {
        "Privileged": True,
        "NetworkMode": True,
        "PidMode": True,
        "IpcMode": True,
        "UsernsMode": True,
        "CapAdd": True,
        "Memory": True,
        "MemoryReservation": True,
        "NanoCpus": True,
        "CpuQuota": True,
        "RestartPolicy": {"Name": True},
        "ReadonlyRootfs": True,
    },
    "Mounts": [{"Type": True, "Name": True, "Source": True, "Destination": True, "RW": True}],
    "NetworkSettings": {"Networks": {"*": {}}},
}
_IMAGE: Spec = {
    "RepoTags": True,
    "RepoDigests": True,
    "Created": True,
    "Size": True,
    "RootFS": {"Layers": True},
    "Config": {"Labels": True},
}
_VOLUME: Spec = {
    "Driver": True,
    "UsageData": {"Size": SIZE},
    "Labels": True,
    "CreatedAt": True,
    "Scope": True,
    "Mountpoint": True,
}
_NETWORK: Spec = {
    "Driver": True,
    "Labels": True,
    "Created": True,
    "Scope": True,
    "Internal": True,
}
SPECS: dict[str, Spec] = {
    "container": _CONTAINER,
    "image": _IMAGE,
    "volume": _VOLUME,
    "network": _NETWORK,
}


_DOCKER_HUB = ("docker.io/", "index.docker.io/")


def familiar(reference: str) -> str:
    """An image reference as Docker names it: ``docker.io/library/nginx:1`` is ``nginx:1``
    and ``docker.io/corp/api:2`` is ``corp/api:2``; other registries, ``localhost/`` among
    them, stay. (Podman's Docker API answers fully qualified names where Docker's answers
    these; a fleet of both must show, match and keep-pattern one image by one name.)"""
    for prefix in _DOCKER_HUB:
        if reference.startswith(prefix):
            rest = reference[len(prefix) :]
            name = rest.split("@", 1)[0].split(":", 1)[0]
            if name.startswith("library/") and name.count("/") == 1:
                rest = rest[len("library/") :]
            return rest
    return reference


def familiar_names(kind: str, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with its image references (an image's tags and digests, a container's
    image) as Docker names them; the engine's own document is left unchanged."""
    if kind == "image":
        names = {
            key: [familiar(n) if isinstance(n, str) else n for n in document.get(key) or ()]
            for key in ("RepoTags", "RepoDigests")
            if document.get(key)
        }
        return {**document, **names} if names else document
    if kind == "container":
        config = document.get("Config")
        image = config.get("Image") if isinstance(config, dict) else None
        if isinstance(image, str) and familiar(image) != image:
            return {**document, "Config": {**config, "Image": familiar(image)}}  # type: ignore[dict-item]
    return document


def summary(kind: str, document: dict[str, Any]) -> dict[str, Any]:
    """The part of an inspect document that reports read.

    IDs and names are left out (the inventory row has them as columns), and so are empty
    values — ``None``, ``""``, ``0``, ``false``, empty lists and mappings — which readers take
    as their default: a summary is a few hundred bytes, so a report reads 100,000 of them in
    well under a second.
    """
    return _project(document, SPECS[kind])


def _project(value: dict[str, Any], spec: Spec) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    every = spec.get("*")
    for key, item in value.items():
        rule = spec.get(key, every)
        if rule is None:
            continue
        if rule is True:
            if item or item is True:
                kept[key] = item
        elif rule == SIZE:
            if isinstance(item, int) and not isinstance(item, bool):
                kept[key] = item
        elif isinstance(rule, dict) and isinstance(item, dict):
            inner = _project(item, rule)
            if inner or rule is every:  # keys of a ``*`` mapping are the facts (network names)
                kept[key] = inner
        elif isinstance(rule, list) and isinstance(item, list):
            entries = [_project(entry, rule[0]) for entry in item if isinstance(entry, dict)]
            if entries:
                kept[key] = entries
    return kept


def sample(container_id: str, stats: dict[str, Any]) -> Sample:
    """Counters of one ``stats?stream=false&one-shot=true`` answer (cgroup v1 or v2)."""
    cpu = (stats.get("cpu_stats") or {}).get("cpu_usage") or {}
    memory = stats.get("memory_stats") or {}
    usage = memory.get("usage")
    if isinstance(usage, int):
        # what `docker stats` shows: page cache the kernel can drop is not "in use"
        detail = memory.get("stats") or {}
        cache = detail.get("inactive_file", detail.get("total_inactive_file", 0))
        usage = max(0, usage - int(cache or 0))
    networks = (stats.get("networks") or {}).values()
    io = (stats.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []
    return Sample(
        container_id=container_id,
        taken_at=_engine_time(stats.get("read")),
        cpu_ns=_int(cpu.get("total_usage")),
        memory_bytes=usage if isinstance(usage, int) else None,
        memory_limit=_int(memory.get("limit")),
        net_rx=sum(int(n.get("rx_bytes") or 0) for n in networks),
        net_tx=sum(int(n.get("tx_bytes") or 0) for n in networks),
        block_read=sum(int(e.get("value") or 0) for e in io if _op(e) == "read"),
        block_write=sum(int(e.get("value") or 0) for e in io if _op(e) == "write"),
    )


def _op(entry: dict[str, Any]) -> str:
    return str(entry.get("op") or "").lower()


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def _engine_time(text: Any) -> datetime.datetime:
    parsed = parse_time(text)
    return parsed or datetime.datetime.now(datetime.UTC)
