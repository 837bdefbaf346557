"""Rules on how a container runs: a container's inspect document, or a compose service made
into one (:mod:`hullcheck.policy.compose`)."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hullcheck.fleet.hygiene.rules import DOCKER_SOCKETS
from hullcheck.model.policy import Target
from hullcheck.model.vuln import Severity
from hullcheck.policy.interface import Hit, Rule, Settings, describer


@dataclass(frozen=True, slots=True)
class RunConfig:
    """One container's configuration as the runtime rules see it."""

    subject: str
    """``container web-1`` or ``compose.yaml service api``."""
    document: dict[str, Any]
    """Inspect-shaped: ``HostConfig``, ``Config``, ``Mounts``, ``AppArmorProfile``."""
    path: str | None = None
    """The compose file it was read from."""
    line: int | None = None
    """The service's line in it."""


def _host(run: RunConfig) -> dict[str, Any]:
    found: dict[str, Any] = run.document.get("HostConfig") or {}
    return found


def _hit(run: RunConfig, message: str) -> Hit:
    return Hit(message, run.line, run.path)


def _privileged(run: RunConfig, _: Settings) -> Iterator[Hit]:
    if _host(run).get("Privileged"):
        yield _hit(run, "runs privileged")


def _capabilities(run: RunConfig, _: Settings) -> Iterator[Hit]:
    added = [str(c) for c in _host(run).get("CapAdd") or []]
    if added:
        yield _hit(run, f"adds capabilities {', '.join(sorted(added))}")


def _namespace(key: str, what: str) -> Any:
    def check(run: RunConfig, _: Settings) -> Iterator[Hit]:
        if str(_host(run).get(key) or "") == "host":
            yield _hit(run, f"shares the host's {what} namespace")

    return check


def _mounts(run: RunConfig) -> list[dict[str, Any]]:
    return [m for m in run.document.get("Mounts") or [] if isinstance(m, dict)]


def _docker_socket(run: RunConfig, _: Settings) -> Iterator[Hit]:
    for mount in _mounts(run):
        source = str(mount.get("Source") or "")
        if source in DOCKER_SOCKETS or source.endswith(("/docker.sock", "/podman.sock")):
            yield _hit(run, f"mounts the engine's socket {source} (root on the host)")


def _sensitive(run: RunConfig, settings: Settings) -> Iterator[Hit]:
    for mount in _mounts(run):
        if mount.get("Type", "bind") != "bind":
            continue
        source = posixpath.normpath(str(mount.get("Source") or "/x"))
        if source in DOCKER_SOCKETS:
            continue  # the socket rule says it
        if source in settings.sensitive_paths:
            mode = "read-only" if mount.get("RW") is False else "writable"
            yield _hit(run, f"mounts the host's {source} ({mode}) at {mount.get('Destination')}")


def _limit(keys: tuple[str, ...], what: str) -> Any:
    def check(run: RunConfig, _: Settings) -> Iterator[Hit]:
        host = _host(run)
        if not any((host.get(k) or 0) > 0 for k in keys):
            yield _hit(run, f"no {what} limit")

    return check


def _read_only(run: RunConfig, _: Settings) -> Iterator[Hit]:
    if not _host(run).get("ReadonlyRootfs"):
        yield _hit(run, "its root filesystem is writable")


def _security_options(run: RunConfig) -> list[str]:
    return [str(o).replace(":", "=", 1) for o in _host(run).get("SecurityOpt") or []]


def _no_new_privileges(run: RunConfig, _: Settings) -> Iterator[Hit]:
    options = _security_options(run)
    if not any(o in ("no-new-privileges", "no-new-privileges=true") for o in options):
        yield _hit(run, "no-new-privileges is not set: setuid programs can raise privileges")


def _seccomp(run: RunConfig, _: Settings) -> Iterator[Hit]:
    if "seccomp=unconfined" in _security_options(run):
        yield _hit(run, "runs without a seccomp profile")


def _apparmor(run: RunConfig, _: Settings) -> Iterator[Hit]:
    options = _security_options(run)
    if "apparmor=unconfined" in options or run.document.get("AppArmorProfile") == "unconfined":
        yield _hit(run, "runs without an AppArmor profile")


def _ports(run: RunConfig, _: Settings) -> Iterator[Hit]:
    for port, bindings in sorted((_host(run).get("PortBindings") or {}).items()):
        for binding in bindings or []:
            address = str((binding or {}).get("HostIp") or "")
            if address in ("", "0.0.0.0", "::"):
                published = (binding or {}).get("HostPort") or "a random port"
                yield _hit(run, f"publishes {port} on every interface (host port {published})")


def _devices(run: RunConfig, _: Settings) -> Iterator[Hit]:
    for device in _host(run).get("Devices") or []:
        yield _hit(run, f"has the host's device {(device or {}).get('PathOnHost')}")


def _propagation(run: RunConfig, _: Settings) -> Iterator[Hit]:
    for mount in _mounts(run):
        if str(mount.get("Propagation") or "") in ("shared", "rshared"):
            yield _hit(run, f"mounts {mount.get('Destination')} with shared propagation")


_rule = describer("HC-RT", Target.RUNTIME)


def _cis(number: str, title: str) -> dict[str, str]:
    return {"cis": number, "cis_title": title}


RUNTIME_RULES: tuple[Rule[RunConfig], ...] = (
    Rule(
        _rule(
            1,
            "runtime-privileged",
            Severity.CRITICAL,
            "Privileged container",
            "--privileged gives every capability and every device: the container can take "
            "the host.",
            "Drop --privileged; add the one capability or device the service needs.",
            **_cis("5.5", "Ensure that privileged containers are not used"),
        ),
        _privileged,
    ),
    Rule(
        _rule(
            2,
            "runtime-added-capabilities",
            Severity.MEDIUM,
            "Capabilities added",
            "Each added capability is kernel surface a compromised process can use.",
            "Add only what the service needs; better, --cap-drop ALL and add back one.",
            **_cis("5.4", "Ensure that Linux kernel capabilities are restricted within containers"),
        ),
        _capabilities,
    ),
    Rule(
        _rule(
            3,
            "runtime-host-network",
            Severity.HIGH,
            "Host network namespace shared",
            "The container sees and binds every host interface, loopback services included.",
            "Use a bridge or user-defined network and publish the ports needed.",
            **_cis("5.10", "Ensure that the host's network namespace is not shared"),
        ),
        _namespace("NetworkMode", "network"),
    ),
    Rule(
        _rule(
            4,
            "runtime-host-pid",
            Severity.HIGH,
            "Host process namespace shared",
            "The container sees, and as root can signal or trace, every host process.",
            "Drop --pid=host.",
            **_cis("5.16", "Ensure that the host's process namespace is not shared"),
        ),
        _namespace("PidMode", "process"),
    ),
    Rule(
        _rule(
            5,
            "runtime-host-ipc",
            Severity.HIGH,
            "Host IPC namespace shared",
            "Shared memory and semaphores of host processes are open to the container.",
            "Drop --ipc=host.",
            **_cis("5.17", "Ensure that the host's IPC namespace is not shared"),
        ),
        _namespace("IpcMode", "IPC"),
    ),
    Rule(
        _rule(
            6,
            "runtime-host-uts",
            Severity.MEDIUM,
            "Host UTS namespace shared",
            "The container can change the host's hostname.",
            "Drop --uts=host.",
            **_cis("5.21", "Ensure that the host's UTS namespace is not shared"),
        ),
        _namespace("UTSMode", "UTS"),
    ),
    Rule(
        _rule(
            7,
            "runtime-docker-socket",
            Severity.CRITICAL,
            "The engine's socket mounted",
            "Whoever reaches the socket can start a privileged container: root on the host.",
            "Do not mount it; give tools that need the API a filtering proxy.",
            **_cis("5.32", "Ensure that the Docker socket is not mounted inside any containers"),
        ),
        _docker_socket,
    ),
    Rule(
        _rule(
            8,
            "runtime-sensitive-mount",
            Severity.HIGH,
            "A sensitive host directory mounted",
            "/etc, /proc, /sys, /dev … of the host in a container let it read secrets or "
            "change the host.",
            "Mount only the application's own directories, read-only where possible.",
            **_cis("5.6", "Ensure sensitive host system directories are not mounted on containers"),
        ),
        _sensitive,
    ),
    Rule(
        _rule(
            9,
            "runtime-no-memory-limit",
            Severity.MEDIUM,
            "No memory limit",
            "One container can starve the host and every neighbour.",
            "Set --memory (compose: mem_limit or deploy.resources.limits.memory).",
            **_cis("5.11", "Ensure that the memory usage for containers is limited"),
        ),
        _limit(("Memory",), "memory"),
    ),
    Rule(
        _rule(
            10,
            "runtime-no-cpu-limit",
            Severity.LOW,
            "No CPU limit or priority",
            "A busy container takes CPU from every neighbour.",
            "Set --cpus or --cpu-shares.",
            **_cis("5.12", "Ensure that CPU priority is set appropriately on containers"),
        ),
        _limit(("NanoCpus", "CpuQuota", "CpuShares"), "CPU"),
    ),
    Rule(
        _rule(
            11,
            "runtime-no-pids-limit",
            Severity.MEDIUM,
            "No process limit",
            "A fork bomb in one container exhausts the host's process table.",
            "Set --pids-limit.",
            **_cis("5.29", "Ensure that the PIDs cgroup limit is used"),
        ),
        _limit(("PidsLimit",), "process"),
    ),
    Rule(
        _rule(
            12,
            "runtime-writable-rootfs",
            Severity.LOW,
            "Writable root filesystem",
            "An intruder can change the application's own files and leave tools behind.",
            "Run with --read-only and mount a tmpfs or volume where it must write.",
            **_cis("5.13", "Ensure that the container's root filesystem is mounted as read only"),
        ),
        _read_only,
    ),
    Rule(
        _rule(
            13,
            "runtime-no-new-privileges",
            Severity.MEDIUM,
            "Processes may gain privileges",
            "Without no-new-privileges a setuid binary raises a process to root.",
            "Run with --security-opt no-new-privileges (or set it daemon-wide).",
            **_cis(
                "5.26",
                "Ensure that the container is restricted from acquiring additional privileges",
            ),
        ),
        _no_new_privileges,
    ),
    Rule(
        _rule(
            14,
            "runtime-seccomp-unconfined",
            Severity.HIGH,
            "seccomp turned off",
            "The default profile blocks system calls containers have no use for and exploits "
            "rely on.",
            "Drop seccomp=unconfined; write a profile that adds the one call needed.",
            **_cis("5.22", "Ensure the default seccomp profile is not Disabled"),
        ),
        _seccomp,
    ),
    Rule(
        _rule(
            15,
            "runtime-apparmor-unconfined",
            Severity.HIGH,
            "AppArmor turned off",
            "The default profile keeps a container from writing to /proc and /sys and "
            "mounting filesystems.",
            "Drop apparmor=unconfined.",
            **_cis("5.2", "Ensure that, if applicable, an AppArmor Profile is enabled"),
        ),
        _apparmor,
    ),
    Rule(
        _rule(
            16,
            "runtime-ports-on-all-interfaces",
            Severity.MEDIUM,
            "Ports published on every interface",
            "A port meant for a proxy on the host is open to the whole network (and Docker's "
            "rules bypass the host firewall).",
            "Publish on one address: -p 127.0.0.1:8080:80.",
            **_cis(
                "5.14",
                "Ensure that incoming container traffic is bound to a specific host interface",
            ),
        ),
        _ports,
    ),
    Rule(
        _rule(
            17,
            "runtime-host-devices",
            Severity.HIGH,
            "Host devices exposed",
            "A device node gives raw access to hardware the host owns.",
            "Expose no device the service does not need, read-only where possible.",
            **_cis("5.18", "Ensure that host devices are not directly exposed to containers"),
        ),
        _devices,
    ),
    Rule(
        _rule(
            18,
            "runtime-shared-propagation",
            Severity.MEDIUM,
            "A mount with shared propagation",
            "Mounts made in the container appear on the host.",
            "Use private (the default) or rslave propagation.",
            **_cis("5.20", "Ensure mount propagation mode is not set to shared"),
        ),
        _propagation,
    ),
    Rule(
        _rule(
            19,
            "runtime-host-userns",
            Severity.HIGH,
            "User namespace remapping turned off for the container",
            "--userns=host makes root in the container root on the host where the daemon "
            "remaps users.",
            "Drop --userns=host.",
            **_cis("5.31", "Ensure that the host's user namespaces are not shared"),
        ),
        _namespace("UsernsMode", "user"),
    ),
)
