"""The rogue rules: an explicit list, each with a stable name and a version. A rule sees one
container's inspect document (or its summary) and the report's settings and returns a reason,
or ``None``. The review gate's rules will follow the same shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hullcheck.errors import UsageError
from hullcheck.fleet.hygiene.settings import Settings

DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
KNOWN_MANAGERS = {
    "com.docker.compose.project": "compose",
    "com.docker.stack.namespace": "swarm stack",
    "io.kubernetes.pod.name": "kubernetes",
    "org.hullcheck.managed-by": "hullcheck",
}


@dataclass(frozen=True, slots=True)
class RogueRule:
    name: str
    version: str
    check: Callable[[dict[str, Any], Settings], str | None]


def _privileged(doc: dict[str, Any], _: Settings) -> str | None:
    return "runs privileged" if (doc.get("HostConfig") or {}).get("Privileged") else None


_NAMESPACES = (("network", "NetworkMode"), ("pid", "PidMode"), ("ipc", "IpcMode"))


def _host_namespaces(doc: dict[str, Any], _: Settings) -> str | None:
    config = doc.get("HostConfig") or {}
    if "host" not in (config.get("NetworkMode"), config.get("PidMode"), config.get("IpcMode")):
        return None
    shared = [name for name, key in _NAMESPACES if config.get(key) == "host"]
    return f"shares the host's {', '.join(shared)} namespace"


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
    if not labels.keys().isdisjoint(KNOWN_MANAGERS):
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


def rules(settings: Settings) -> tuple[RogueRule, ...]:
    """The rogue rules the settings leave on (the registry rule needs allowed registries)."""
    unknown = set(settings.skip_rules) - {rule.name for rule in ROGUE_RULES}
    if unknown:
        raise UsageError(
            f"unknown rogue rule {sorted(unknown)[0]!r}",
            hint="one of: " + ", ".join(rule.name for rule in ROGUE_RULES),
        )
    return tuple(
        rule
        for rule in ROGUE_RULES
        if rule.name not in settings.skip_rules
        and (rule.name != "unapproved-registry" or settings.allowed_registries)
    )
