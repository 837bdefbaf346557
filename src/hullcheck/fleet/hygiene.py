"""``fleet report``: garbage, sprawl and rogue containers, computed from the stored inventory.

Nothing here asks an engine (so nothing blocks one the way ``docker system df`` can): the
answers come from the inspect documents of the last sync.

Rogue rules are an explicit list, each with a stable name and a version; a rule sees one
container's inspect document and the report's settings and returns a reason or ``None``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hullcheck.store import Store

DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
DEFAULT_NETWORKS = ("bridge", "host", "none")
KNOWN_MANAGERS = {
    "com.docker.compose.project": "compose",
    "com.docker.stack.namespace": "swarm stack",
    "io.kubernetes.pod.name": "kubernetes",
    "org.hullcheck.managed-by": "hullcheck",
}


@dataclass(frozen=True, slots=True)
class Settings:
    """What the report counts as garbage or rogue."""

    older_than: datetime.timedelta = datetime.timedelta(days=7)
    """Exited containers finished longer ago than this are garbage."""
    allowed_registries: tuple[str, ...] = ()
    """Registries images may come from (``docker.io``, ``registry.example.com``); empty: any."""
    owner_label: str = "owner"
    """Label that names who owns a container."""
    now: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))


@dataclass(frozen=True, slots=True)
class Item:
    """One object the report lists."""

    section: str
    """``garbage``, ``sprawl`` or ``rogue``."""
    kind: str
    """``exited-container``, ``dangling-image``, ``privileged`` …"""
    host: str
    object: str
    """Container, image, volume or network name (or short ID)."""
    detail: str
    reclaim_bytes: int | None = None
    """What removing it would free, when the inventory tells."""


@dataclass(frozen=True, slots=True)
class RogueRule:
    name: str
    version: str
    check: Callable[[dict[str, Any], Settings], str | None]


def _privileged(doc: dict[str, Any], _: Settings) -> str | None:
    return "runs privileged" if (doc.get("HostConfig") or {}).get("Privileged") else None


def _host_namespaces(doc: dict[str, Any], _: Settings) -> str | None:
    config = doc.get("HostConfig") or {}
    shared = [
        name
        for name, key in (("network", "NetworkMode"), ("pid", "PidMode"), ("ipc", "IpcMode"))
        if config.get(key) == "host"
    ]
    return f"shares the host's {', '.join(shared)} namespace" if shared else None


def _docker_socket(doc: dict[str, Any], _: Settings) -> str | None:
    for mount in doc.get("Mounts") or []:
        if mount.get("Source") in DOCKER_SOCKETS or str(mount.get("Source", "")).endswith(
            "/docker.sock"
        ):
            return f"mounts the Docker socket {mount.get('Source')} at {mount.get('Destination')}"
    return None


def _capabilities(doc: dict[str, Any], _: Settings) -> str | None:
    added = (doc.get("HostConfig") or {}).get("CapAdd") or []
    return f"adds capabilities {', '.join(sorted(added))}" if added else None


def _registry(doc: dict[str, Any], settings: Settings) -> str | None:
    if not settings.allowed_registries:
        return None
    reference = str((doc.get("Config") or {}).get("Image") or "")
    registry = image_registry(reference)
    if registry in settings.allowed_registries:
        return None
    return f"image {reference} comes from {registry}, not an allowed registry"


def _owner(doc: dict[str, Any], settings: Settings) -> str | None:
    labels = (doc.get("Config") or {}).get("Labels") or {}
    return None if labels.get(settings.owner_label) else f"no {settings.owner_label!r} label"


def _manager(doc: dict[str, Any], _: Settings) -> str | None:
    labels = (doc.get("Config") or {}).get("Labels") or {}
    if any(label in labels for label in KNOWN_MANAGERS):
        return None
    return "not created by a known manager (Compose, a swarm stack, Kubernetes)"


ROGUE_RULES: tuple[RogueRule, ...] = (
    RogueRule("privileged", "1", _privileged),
    RogueRule("host-namespace", "1", _host_namespaces),
    RogueRule("docker-socket", "1", _docker_socket),
    RogueRule("added-capabilities", "1", _capabilities),
    RogueRule("unapproved-registry", "1", _registry),
    RogueRule("no-owner", "1", _owner),
    RogueRule("unmanaged", "1", _manager),
)


def image_registry(reference: str) -> str:
    """``nginx:1`` → ``docker.io``; ``registry.example.com:5000/app:1`` → that host."""
    first, slash, _ = reference.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def report(store: Store, settings: Settings | None = None) -> list[Item]:
    """Garbage, sprawl and rogue containers of every host, from the last sync."""
    settings = settings or Settings()
    containers = store.fleet.objects("container")
    images = store.fleet.objects("image")
    items: list[Item] = []
    items += _garbage_containers(containers, settings)
    items += _garbage_images(containers, images)
    items += _garbage_volumes(containers, store.fleet.objects("volume"))
    items += _garbage_networks(containers, store.fleet.objects("network"))
    items += _sprawl(containers, images)
    for host, seen, _ in containers:
        for rule in ROGUE_RULES:
            reason = rule.check(seen.data, settings)
            if reason is not None:
                items.append(Item("rogue", rule.name, host, seen.name or seen.object_id, reason))
    return items


Objects = list[tuple[str, Any, datetime.datetime | None]]


def _time(text: Any) -> datetime.datetime | None:
    if not isinstance(text, str) or text.startswith("0001-"):
        return None
    try:
        return datetime.datetime.fromisoformat(text[:26].rstrip("Z") + "+00:00")
    except ValueError:
        return None


def _garbage_containers(containers: Objects, settings: Settings) -> list[Item]:
    items = []
    for host, seen, _ in containers:
        state = seen.data.get("State") or {}
        if state.get("Status") not in ("exited", "dead", "created"):
            continue
        finished = _time(state.get("FinishedAt")) or _time(seen.data.get("Created"))
        if finished is None or settings.now - finished < settings.older_than:
            continue
        age = (settings.now - finished).days
        detail = f"{state.get('Status')} for {age} days (exit code {state.get('ExitCode')})"
        items.append(
            Item("garbage", "stopped-container", host, seen.name or seen.object_id, detail)
        )
    return items


def _garbage_images(containers: Objects, images: Objects) -> list[Item]:
    used = {(host, seen.image_id) for host, seen, _ in containers}
    items = []
    for host, seen, _ in images:
        size = seen.data.get("Size")
        tags = seen.data.get("RepoTags") or []
        name = tags[0] if tags else seen.object_id[7:19]
        if not tags:
            items.append(Item("garbage", "dangling-image", host, name, "no tag", size))
        elif (host, seen.object_id) not in used:
            items.append(Item("garbage", "unused-image", host, name, "no container uses it", size))
    return items


def _garbage_volumes(containers: Objects, volumes: Objects) -> list[Item]:
    mounted = {
        (host, mount.get("Name"))
        for host, seen, _ in containers
        for mount in seen.data.get("Mounts") or []
        if mount.get("Type") == "volume"
    }
    return [
        Item("garbage", "unused-volume", host, seen.object_id, "no container mounts it")
        for host, seen, _ in volumes
        if (host, seen.object_id) not in mounted
    ]


def _garbage_networks(containers: Objects, networks: Objects) -> list[Item]:
    attached = {
        (host, network)
        for host, seen, _ in containers
        for network in ((seen.data.get("NetworkSettings") or {}).get("Networks") or {})
    }
    return [
        Item("garbage", "unused-network", host, seen.name or seen.object_id, "no container on it")
        for host, seen, _ in networks
        if seen.name not in DEFAULT_NETWORKS and (host, seen.name) not in attached
    ]


def _sprawl(containers: Objects, images: Objects) -> list[Item]:
    per_image: dict[tuple[str, str], int] = {}
    for host, seen, _ in containers:
        per_image[(host, seen.image_id)] = per_image.get((host, seen.image_id), 0) + 1
    names = {
        (h, s.object_id): (s.data.get("RepoTags") or [s.object_id[7:19]])[0] for h, s, _ in images
    }
    items = [
        Item(
            "sprawl",
            "containers-per-image",
            host,
            names.get((host, image), image[7:19]),
            f"{n} containers",
        )
        for (host, image), n in sorted(per_image.items())
        if n > 1
    ]
    repositories: dict[tuple[str, str], set[str]] = {}
    for host, seen, _ in images:
        for tag in seen.data.get("RepoTags") or []:
            repository = tag.rsplit(":", 1)[0]
            repositories.setdefault((host, repository), set()).add(seen.object_id)
    items += [
        Item("sprawl", "image-versions", host, repository, f"{len(ids)} image versions")
        for (host, repository), ids in sorted(repositories.items())
        if len(ids) > 1
    ]
    return items
