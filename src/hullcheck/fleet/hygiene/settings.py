"""What the hygiene report counts, and what it lists."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import NamedTuple


class Idle(NamedTuple):
    """Limits under which a running container counts as idle."""

    min_seconds: float
    """Samples at least this far apart."""
    cpu_cores: float
    """Average CPU use, in cores, at most."""
    network_bytes_per_second: float
    """Bytes received and sent per second, at most."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What the report counts as garbage or rogue."""

    older_than: datetime.timedelta = datetime.timedelta(days=7)
    """Exited containers finished longer ago than this are garbage."""
    allowed_registries: tuple[str, ...] = ()
    """Registries images may come from (``docker.io``, ``registry.example.com``); empty: any."""
    owner_label: str = "owner"
    """Label that names who owns a container."""
    containers_per_image: int = 1
    """More containers than this of one image on one host is sprawl."""
    image_versions: int = 1
    """More image IDs than this under one repository on one host is sprawl."""
    old_image: datetime.timedelta = datetime.timedelta(days=180)
    """Images built longer ago than this are listed as old."""
    idle_window: datetime.timedelta = datetime.timedelta(days=7)
    """Samples taken within this much of now judge idleness (first against last)."""
    min_idle_span: datetime.timedelta = datetime.timedelta(minutes=1)
    """A container needs samples at least this far apart to be judged idle."""
    idle_cpu: float = 0.001
    """At most this many cores busy on average (0.1 % of one) is no CPU."""
    idle_net: float = 1.0
    """At most this many bytes per second received and sent is no network."""
    memory_used_ratio: float = 0.1
    """Using less than this share of the memory limit or reservation is unused memory."""
    skip_rules: tuple[str, ...] = ()
    """Rogue rules (by name) the report does not apply."""
    now: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))


class Item(NamedTuple):
    """One object the report lists (a named tuple: a report makes 100,000s of them)."""

    section: str
    """``garbage``, ``sprawl``, ``rogue`` or ``idle``."""
    kind: str
    """``exited-container``, ``dangling-image``, ``privileged`` …"""
    host: str
    object: str
    """Container, image, volume or network name (or short ID)."""
    detail: str
    reclaim_bytes: int | None = None
    """What removing it would free (memory for idle containers), when the inventory tells."""
    object_id: str | None = None
    """Full ID (a volume's name) of the container, image, volume or network listed."""
