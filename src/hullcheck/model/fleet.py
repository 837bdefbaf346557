"""Docker hosts of a fleet and what a sync found on them."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, NamedTuple


@dataclass(frozen=True, slots=True)
class Host:
    """A Docker Engine hullcheck watches."""

    name: str
    """Short name the user gave (``prod-1``)."""
    url: str
    """Engine address: ``unix:///var/run/docker.sock``, ``tcp://10.0.0.5:2376``, ``ssh://…``."""
    tls_ca: str | None = None
    """CA certificate that signed the engine's certificate (tcp with TLS)."""
    tls_cert: str | None = None
    """Client certificate (tcp with TLS)."""
    tls_key: str | None = None
    """Client key (tcp with TLS)."""
    timeout: float = 30.0
    """Seconds one request to this engine may take."""


@dataclass(frozen=True, slots=True)
class HostSync:
    """What one host's sync did."""

    host: str
    """Host name."""
    ok: bool
    """Whether the engine answered and the inventory was stored."""
    containers: int = 0
    """Containers present (running or not)."""
    images: int = 0
    """Images present."""
    volumes: int = 0
    """Volumes present."""
    networks: int = 0
    """Networks present."""
    gone: int = 0
    """Objects seen before and now missing (marked gone, not deleted)."""
    samples: int = 0
    """Running containers whose resource counters were read."""
    scanned: int = 0
    """Images whose SBOM was made by this sync (each image ID once fleet-wide)."""
    error: str | None = None
    """Why the host failed, starting with the host."""
    seconds: float = 0.0
    """Seconds spent reading the host's engine."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One-shot resource counters of a running container (cumulative since it started)."""

    container_id: str
    taken_at: datetime.datetime
    """The engine's clock when it read the counters."""
    cpu_ns: int | None
    """CPU time used, nanoseconds."""
    memory_bytes: int | None
    """Memory in use, page cache that can be dropped left out (as ``docker stats`` shows)."""
    memory_limit: int | None
    """Limit the kernel enforces (the host's memory when the container has none)."""
    net_rx: int | None
    net_tx: int | None
    block_read: int | None
    block_write: int | None


@dataclass(frozen=True, slots=True)
class Action:
    """Something hullcheck did to an engine, as recorded."""

    at: datetime.datetime
    actor: str
    """``user@machine`` that ran the command."""
    command: str
    host: str
    kind: str
    object_id: str
    name: str | None
    reason: str
    outcome: str
    detail: str | None
    reclaim_bytes: int | None


@dataclass(frozen=True, slots=True)
class HostStatus:
    """A host with what its last sync left."""

    host: Host
    synced_at: datetime.datetime | None
    last_error: str | None
    counts: dict[str, int]
    """Objects present, by kind."""


class Seen(NamedTuple):
    """One object as a sync found it (a named tuple: reports read 100,000s of them)."""

    object_id: str
    name: str | None
    image_id: str | None
    state: str | None
    data: dict[str, Any]
    """The engine's inspect document, or its summary when read back for a report."""
    summary: dict[str, Any] | None = None
    """The fields reports read (``hullcheck.engine.documents.summary``), when writing."""


class Placement(NamedTuple):
    """Where an image is: a container running it, or the image itself on a host."""

    host: str
    kind: str
    """``container`` or ``image``."""
    name: str | None
    object_id: str
    state: str | None
    image_id: str


class Usage(NamedTuple):
    """A running container's resource use between two samples."""

    seconds: float
    """Time between the first and the last sample."""
    cpu_ns: int
    """CPU time used in that time."""
    network_bytes: int
    """Bytes received and sent in that time."""
    memory_bytes: int | None
    """Memory in use at the last sample."""


class StoredPackage(NamedTuple):
    """A package of a stored image."""

    image_id: str
    name: str
    version: str
    type: str
    distro: str | None


VersionKey = tuple[str, str, str, str | None]
"""(name, version, type, distro) of a package version."""
