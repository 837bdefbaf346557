"""``fleet report``: garbage, sprawl, rogue containers and idle waste, from the stored inventory.

Nothing here asks an engine (so nothing blocks one the way ``docker system df`` can): the
answers come from the summaries of the last sync's inspect documents and from the resource
samples syncs took (idleness needs two samples at least a minute apart).

The rogue rules are in ``rules.py``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from hullcheck._gc import paused
from hullcheck.fleet.hygiene.rules import RogueRule, rules
from hullcheck.fleet.hygiene.settings import Idle, Item, Settings
from hullcheck.fleet.inventory import FleetStore, UsageLookup
from hullcheck.model import Usage
from hullcheck.times import parse_time

DEFAULT_NETWORKS = ("bridge", "host", "none")


@paused()
def report(store: FleetStore, settings: Settings | None = None) -> list[Item]:
    """Garbage, sprawl, rogue containers and idle waste of every host, from the last sync."""
    settings = settings or Settings()
    checks = rules(settings)
    since = settings.now - settings.idle_window
    limits = Idle(settings.min_idle_span.total_seconds(), settings.idle_cpu, settings.idle_net)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # the database sums up every sampled container's use while this thread reads the
        # inventory (one query: idleness and memory in use are both judged from its answer)
        usage = pool.submit(store.samples.usage, since)
        # one container at a time: none of their summaries is kept
        census = _census(store.fleet.each("container"), settings, checks)
        idle, reserving = _waste(census.running, usage.result(), limits)
    images = store.fleet.objects("image")
    items = _garbage(store, census, images)
    items += _sprawl(census, images, settings)
    items += census.rogue
    items += idle
    items += _unused_memory(reserving, settings)
    return items


Objects = list[tuple[str, Any, datetime.datetime | None]]

_STOPPED = ("exited", "dead", "created")
_EMPTY: dict[str, Any] = {}


@dataclass(slots=True)
class _Census:
    """What one pass over every container tells the report's sections."""

    stopped: list[Item] = field(default_factory=list)
    """Garbage: containers stopped longer than ``older_than``."""
    per_image: dict[tuple[str, str], int] = field(default_factory=dict)
    """Containers per (host, image ID), stopped ones included: the images in use."""
    mounted: set[tuple[str, str | None]] = field(default_factory=set)
    """(host, volume) of every volume a container mounts."""
    attached: set[tuple[str, str]] = field(default_factory=set)
    """(host, network) of every network a container is on, the default ones left out."""
    rogue: list[Item] = field(default_factory=list)
    running: list[tuple[str, str, str, int]] = field(default_factory=list)
    """(host, name, ID, memory limit or reservation, 0 for none) of running containers."""


def _census(
    containers: Iterable[tuple[str, Any, Any]],
    settings: Settings,
    checks: tuple[RogueRule, ...] = (),
) -> _Census:
    """One pass over the containers (100,000s of them: every section's per-container work is
    done here, once, rather than in a loop of its own)."""
    census = _Census()
    per_image, mounted, attached = census.per_image, census.mounted, census.attached
    flag, running = census.rogue.append, census.running.append
    named = [(rule.name, rule.check) for rule in checks]
    for host, seen, _ in containers:
        data = seen.data
        key = (host, seen.image_id)
        per_image[key] = per_image.get(key, 0) + 1
        mounts = data.get("Mounts")
        if mounts:
            for mount in mounts:
                if mount.get("Type") == "volume":
                    mounted.add((host, mount.get("Name")))
        for network in (data.get("NetworkSettings") or _EMPTY).get("Networks") or _EMPTY:
            if network not in DEFAULT_NETWORKS:
                attached.add((host, network))
        status = seen.state
        if status == "running":
            config = data.get("HostConfig") or _EMPTY
            reserved = max(
                int(config.get("Memory") or 0), int(config.get("MemoryReservation") or 0)
            )
            running((host, seen.name or seen.object_id, seen.object_id, reserved))
        elif status in _STOPPED:
            item = _stopped(host, seen, settings)
            if item is not None:
                census.stopped.append(item)
        for name, check in named:
            reason = check(data, settings)
            if reason is not None:
                flag(
                    Item(
                        "rogue",
                        name,
                        host,
                        seen.name or seen.object_id,
                        reason,
                        None,
                        seen.object_id,
                    )
                )
    return census


def _waste(
    running: list[tuple[str, str, str, int]], usage: UsageLookup, limits: Idle
) -> tuple[list[Item], list[tuple[str, str, str, int, int]]]:
    """Idle running containers, and (host, name, ID, memory reserved, memory in use at the
    last sample) of sampled ones that reserve memory."""
    idle, reserving = [], []
    for host, name, object_id, reserved in running:
        used = usage.get((host, object_id))
        if used is None:
            continue
        if _idle(used, limits):
            idle.append(
                Item(
                    "idle",
                    "idle-container",
                    host,
                    name,
                    f"{used.cpu_ns / 1e6:.0f} ms CPU and {used.network_bytes} bytes of network "
                    f"in {_span(used.seconds)}",
                    used.memory_bytes,
                    object_id,
                )
            )
        if reserved and used.memory_bytes is not None:
            reserving.append((host, name, object_id, reserved, used.memory_bytes))
    return idle, reserving


def _idle(used: Usage, limits: Idle) -> bool:
    """No CPU and no network to speak of, over samples far enough apart."""
    return (
        used.seconds >= limits.min_seconds
        and used.cpu_ns <= used.seconds * limits.cpu_cores * 1e9
        and used.network_bytes <= used.seconds * limits.network_bytes_per_second
    )


def _stopped(host: str, seen: Any, settings: Settings) -> Item | None:
    """A stopped container as garbage, when it stopped (or, never started, was created) longer
    than ``older_than`` ago."""
    state = seen.data.get("State") or {}
    when = parse_time(state.get("FinishedAt")) or parse_time(seen.data.get("Created"))
    if when is None or settings.now - when < settings.older_than:
        return None
    age = (settings.now - when).days
    detail = f"{state.get('Status')} for {age} days (exit code {state.get('ExitCode', 0)})"
    return Item(
        "garbage",
        "stopped-container",
        host,
        seen.name or seen.object_id,
        detail,
        _measured(seen.data.get("SizeRw")),
        seen.object_id,
    )


def _measured(size: Any) -> int | None:
    """A size a sync with ``--sizes`` measured; ``None`` when it did not (or the engine could
    not: -1)."""
    return size if isinstance(size, int) and size >= 0 else None


def garbage(
    store: FleetStore,
    settings: Settings,
    containers: Objects | None = None,
    images: Objects | None = None,
    volumes: Objects | None = None,
    networks: Objects | None = None,
) -> list[Item]:
    """Stopped containers past ``older_than``, dangling and unused images, unused volumes and
    networks. A volume any container mounts, running or not, is never garbage; neither is an
    image any container runs."""
    fleet = store.fleet
    containers = fleet.objects("container") if containers is None else containers
    images = fleet.objects("image") if images is None else images
    return _garbage(store, _census(containers, settings), images, volumes, networks)


def _garbage(
    store: FleetStore,
    census: _Census,
    images: Objects,
    volumes: Objects | None = None,
    networks: Objects | None = None,
) -> list[Item]:
    fleet = store.fleet
    volumes = fleet.objects("volume") if volumes is None else volumes
    networks = fleet.objects("network") if networks is None else networks
    items = list(census.stopped)
    items += _garbage_images(census, images)
    items += [
        Item(
            "garbage",
            "unused-volume",
            host,
            seen.object_id,
            "no container mounts it",
            _measured((seen.data.get("UsageData") or _EMPTY).get("Size")),
            seen.object_id,
        )
        for host, seen, _ in volumes
        if (host, seen.object_id) not in census.mounted
    ]
    items += [
        Item(
            "garbage",
            "unused-network",
            host,
            seen.name or seen.object_id,
            "no container on it",
            object_id=seen.object_id,
        )
        for host, seen, _ in networks
        if seen.name not in DEFAULT_NETWORKS and (host, seen.name) not in census.attached
    ]
    return items


def _garbage_images(census: _Census, images: Objects) -> list[Item]:
    """Dangling and unused images, each with the bytes only it holds on its host."""
    used = census.per_image
    found = []
    for host, seen, _ in images:
        if not seen.data.get("RepoTags"):
            found.append((host, seen, "dangling-image", "no tag"))
        elif (host, seen.object_id) not in used:
            found.append((host, seen, "unused-image", "no container uses it"))
    unique = _unique_bytes(images, {(host, seen.object_id) for host, seen, _, _ in found})
    return [
        Item(
            "garbage",
            kind,
            host,
            _image_name(seen),
            detail,
            unique.get((host, seen.object_id)),
            seen.object_id,
        )
        for host, seen, kind, detail in found
    ]


def _layers(seen: Any) -> tuple[str, ...]:
    return tuple((seen.data.get("RootFS") or {}).get("Layers") or ())


def _unique_bytes(
    images: Objects, wanted: set[tuple[str, str]]
) -> dict[tuple[str, str], int | None]:
    """Per (host, image) of ``wanted``: what removing only that image frees.

    The engine reports each image's full size, shared layers included. An image whose layers
    another image on the host also starts with frees nothing; otherwise it frees its size less
    the size of the largest image on the host whose layers it starts with (its base).
    """
    sizes: dict[tuple[str, tuple[str, ...]], int] = {}
    counts: dict[tuple[str, tuple[str, ...]], int] = {}
    prefixes: set[tuple[str, tuple[str, ...]]] = set()
    hosts = {host for host, _ in wanted}  # only their images can share layers with one wanted
    for host, seen, _ in images:
        if host not in hosts:
            continue
        layers = _layers(seen)
        key = (host, layers)
        counts[key] = counts.get(key, 0) + 1
        size = seen.data.get("Size")
        if isinstance(size, int):
            sizes[key] = max(size, sizes.get(key, 0))
        for end in range(1, len(layers)):
            prefixes.add((host, layers[:end]))
    unique: dict[tuple[str, str], int | None] = {}
    for host, seen, _ in images:
        if (host, seen.object_id) not in wanted:
            continue
        layers = _layers(seen)
        size = seen.data.get("Size")
        if not isinstance(size, int) or not layers:
            unique[(host, seen.object_id)] = None
        elif (host, layers) in prefixes or counts[(host, layers)] > 1:
            unique[(host, seen.object_id)] = 0
        else:
            base = max(
                (sizes.get((host, layers[:end]), 0) for end in range(1, len(layers))), default=0
            )
            unique[(host, seen.object_id)] = max(0, size - base)
    return unique


def _image_name(seen: Any) -> str:
    return str((seen.data.get("RepoTags") or [seen.object_id[7:19]])[0])


def _sprawl(census: _Census, images: Objects, settings: Settings) -> list[Item]:
    per_image = census.per_image
    names = {(h, s.object_id): _image_name(s) for h, s, _ in images}
    items = [
        Item(
            "sprawl",
            "containers-per-image",
            host,
            names.get((host, image), image[7:19]),
            f"{n} containers",
        )
        for (host, image), n in sorted(per_image.items())
        if n > settings.containers_per_image
    ]
    repositories: dict[tuple[str, str], set[str]] = {}
    for host, seen, _ in images:
        for tag in seen.data.get("RepoTags") or []:
            repository = tag.rsplit(":", 1)[0]
            repositories.setdefault((host, repository), set()).add(seen.object_id)
    items += [
        Item("sprawl", "image-versions", host, repository, f"{len(ids)} image versions")
        for (host, repository), ids in sorted(repositories.items())
        if len(ids) > settings.image_versions
    ]
    for host, seen, _ in images:
        created = parse_time(seen.data.get("Created"))
        if created is not None and settings.now - created > settings.old_image:
            age = (settings.now - created).days
            items.append(
                Item(
                    "sprawl",
                    "old-image",
                    host,
                    _image_name(seen),
                    f"built {age} days ago",
                    object_id=seen.object_id,
                )
            )
    items += _near_duplicates(images)
    return items


def _near_duplicates(images: Objects) -> list[Item]:
    """Images with the very same layers under different IDs, fleet-wide: the same files
    rebuilt with another config (labels, build date, entrypoint)."""
    by_layers: dict[tuple[str, ...], dict[str, tuple[str, Any]]] = {}
    for host, seen, _ in images:
        layers = _layers(seen)
        if layers:
            by_layers.setdefault(layers, {}).setdefault(seen.object_id, (host, seen))
    items = []
    for group in by_layers.values():
        if len(group) < 2:
            continue
        ordered = sorted(group.values(), key=lambda hs: _image_name(hs[1]))
        for host, seen in ordered:
            others = ", ".join(_image_name(o) for _, o in ordered if o is not seen)
            items.append(
                Item(
                    "sprawl",
                    "near-duplicate",
                    host,
                    _image_name(seen),
                    f"same layers as {others} (only the image config differs)",
                    object_id=seen.object_id,
                )
            )
    return items


def _unused_memory(
    reserving: list[tuple[str, str, str, int, int]], settings: Settings
) -> list[Item]:
    """Running containers whose memory limit or reservation is far beyond what their last
    sample in the idle window used."""
    return [
        Item(
            "idle",
            "unused-memory",
            host,
            name,
            f"reserves {_mib(reserved)}, uses {_mib(in_use)}",
            reserved - in_use,
            object_id,
        )
        for host, name, object_id, reserved, in_use in reserving
        if in_use < reserved * settings.memory_used_ratio
    ]


def _span(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds:.0f} s"


def _mib(size: int) -> str:
    return f"{size / 1024**2:.0f} MiB"
