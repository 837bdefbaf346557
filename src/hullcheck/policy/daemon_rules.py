"""Rules on an engine: what its ``/info`` says and, where hullcheck can read it (the local
host), its configuration file. A rule whose evidence the engine does not give (Podman's
Docker API leaves most of it out) says nothing rather than guess."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hullcheck.model.policy import Target
from hullcheck.model.vuln import Severity
from hullcheck.policy.interface import Hit, Rule, Settings, describer

REMOTE_LOG_DRIVERS = frozenset(
    {"syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "gcplogs", "logentries"}
)


@dataclass(frozen=True, slots=True)
class EngineFacts:
    subject: str
    """``engine prod-1``."""
    address: str
    """How hullcheck reaches it (``tcp://…``, ``unix://…``)."""
    tls: bool
    """Whether hullcheck talks to it over TLS."""
    info: dict[str, Any]
    """Its ``/info``."""
    config: dict[str, Any] | None = None
    """Its ``daemon.json``, when readable."""
    config_path: str | None = None
    bridge: dict[str, Any] | None = None
    """The default bridge network's inspect, when it has one."""


def _config(engine: EngineFacts, key: str) -> Any:
    return (engine.config or {}).get(key)


def _hit(engine: EngineFacts, message: str) -> Hit:
    return Hit(message, None, engine.config_path)


def _live_restore(engine: EngineFacts, _: Settings) -> Iterator[Hit]:
    if engine.info.get("LiveRestoreEnabled") is False:
        yield _hit(engine, "live-restore is off: restarting the daemon stops every container")


def _userns(engine: EngineFacts, _: Settings) -> Iterator[Hit]:
    options = engine.info.get("SecurityOptions")
    if isinstance(options, list) and not any("name=userns" in str(o) for o in options):
        yield _hit(engine, "user namespace remapping is off: root in a container is root")


def _icc(engine: EngineFacts, _: Settings) -> Iterator[Hit]:
    """The default bridge's own setting where it exists; else the configuration file's
    (Docker's default is on)."""
    if engine.bridge is not None:
        options = engine.bridge.get("Options") or {}
        enabled = options.get("com.docker.network.bridge.enable_icc", "true") == "true"
    elif engine.config is not None:
        enabled = _config(engine, "icc") is not False
    else:
        return
    if enabled:
        yield _hit(engine, "containers on the default bridge talk to each other freely")


def _tcp_without_tls(engine: EngineFacts, _: Settings) -> Iterator[Hit]:
    if engine.address.startswith("tcp://") and not engine.tls:
        yield _hit(engine, f"the API is served on {engine.address} without TLS")
    for host in _config(engine, "hosts") or []:
        if str(host).startswith("tcp://") and not _config(engine, "tlsverify"):
            yield _hit(engine, f"daemon.json listens on {host} without tlsverify")


def _logging(engine: EngineFacts, _: Settings) -> Iterator[Hit]:
    driver = engine.info.get("LoggingDriver")
    if driver is None:
        return
    if driver == "none":
        yield _hit(engine, "containers' logs are not kept at all (log driver none)")
    elif driver not in REMOTE_LOG_DRIVERS:
        yield _hit(engine, f"containers' logs stay on the host (log driver {driver})")


def _authorization(engine: EngineFacts, _: Settings) -> Iterator[Hit]:
    plugins = engine.info.get("Plugins")
    if isinstance(plugins, dict) and "Authorization" in plugins and not plugins["Authorization"]:
        yield _hit(engine, "no authorization plugin: every API client may do anything")


def _ulimits(engine: EngineFacts, _: Settings) -> Iterator[Hit]:
    if engine.config is not None and not _config(engine, "default-ulimits"):
        yield _hit(engine, "no default-ulimits in daemon.json")


def _no_new_privileges(engine: EngineFacts, _: Settings) -> Iterator[Hit]:
    if engine.config is not None and not _config(engine, "no-new-privileges"):
        yield _hit(engine, "no-new-privileges is not the daemon's default")


def _insecure_registries(engine: EngineFacts, _: Settings) -> Iterator[Hit]:
    registries = (engine.info.get("RegistryConfig") or {}).get("IndexConfigs") or {}
    for name, index in sorted(registries.items()):
        if isinstance(index, dict) and index.get("Secure") is False:
            yield _hit(engine, f"registry {name} is reached without TLS verification")
    for cidr in (engine.info.get("RegistryConfig") or {}).get("InsecureRegistryCIDRs") or []:
        if not str(cidr).startswith(("127.", "::1")):
            yield _hit(engine, f"registries in {cidr} are reached without TLS verification")


def _experimental(engine: EngineFacts, _: Settings) -> Iterator[Hit]:
    if engine.info.get("ExperimentalBuild") is True:
        yield _hit(engine, "experimental features are on")


_rule = describer("HC-DM", Target.DAEMON)


DAEMON_RULES: tuple[Rule[EngineFacts], ...] = (
    Rule(
        _rule(
            1,
            "daemon-live-restore",
            Severity.LOW,
            "live-restore is off",
            "Every daemon upgrade or crash stops every container.",
            'Set "live-restore": true in daemon.json.',
            cis="2.16",
            cis_title="Ensure live restore is enabled",
        ),
        _live_restore,
    ),
    Rule(
        _rule(
            2,
            "daemon-userns-remap",
            Severity.MEDIUM,
            "User namespace remapping is off",
            "UID 0 in a container is UID 0 on the host: an escape is an escape as root.",
            'Set "userns-remap": "default" in daemon.json (test your volumes first).',
            cis="2.10",
            cis_title="Enable user namespace support",
        ),
        _userns,
    ),
    Rule(
        _rule(
            3,
            "daemon-icc",
            Severity.MEDIUM,
            "Containers on the default bridge talk freely",
            "Any container can reach every other one's ports on the default bridge.",
            'Set "icc": false and connect the containers that must talk on their own networks.',
            cis="2.2",
            cis_title="Ensure network traffic is restricted between containers on the default "
            "bridge",
        ),
        _icc,
    ),
    Rule(
        _rule(
            4,
            "daemon-tcp-without-tls",
            Severity.CRITICAL,
            "The API listens on TCP without TLS",
            "Anyone who reaches the port is root on the host.",
            "Serve tcp:// only with tlsverify and client certificates, or use ssh://.",
            cis="2.8",
            cis_title="Ensure TLS authentication for Docker daemon is configured",
        ),
        _tcp_without_tls,
    ),
    Rule(
        _rule(
            5,
            "daemon-local-logging",
            Severity.LOW,
            "Container logs are kept only on the host",
            "Logs on the host are lost with it and can be edited by whoever takes it.",
            "Ship logs to a central collector (syslog, journald forwarded, gelf, fluentd …).",
            cis="2.14",
            cis_title="Ensure centralized and remote logging is configured",
        ),
        _logging,
    ),
    Rule(
        _rule(
            6,
            "daemon-no-authorization",
            Severity.MEDIUM,
            "No authorization plugin",
            "Every client of the API may do everything: run privileged, mount /, exec as root.",
            "Install one (hullcheck audit authz) with a policy.",
            cis="2.13",
            cis_title="Ensure that authorization for Docker client commands is enabled",
        ),
        _authorization,
    ),
    Rule(
        _rule(
            7,
            "daemon-default-ulimits",
            Severity.LOW,
            "No default ulimits",
            "Containers that set none inherit the daemon's, often unlimited, limits.",
            'Set "default-ulimits" (nofile, nproc) in daemon.json.',
            cis="2.9",
            cis_title="Ensure the default ulimit is configured appropriately",
        ),
        _ulimits,
    ),
    Rule(
        _rule(
            8,
            "daemon-no-new-privileges",
            Severity.LOW,
            "no-new-privileges is not the default",
            "Every container that does not ask for it lets setuid programs raise privileges.",
            'Set "no-new-privileges": true in daemon.json.',
            cis="2.15",
            cis_title="Ensure containers are restricted from acquiring new privileges",
        ),
        _no_new_privileges,
    ),
    Rule(
        _rule(
            9,
            "daemon-insecure-registries",
            Severity.HIGH,
            "Registries reached without TLS verification",
            "An image pulled over an unverified connection can be swapped on the way.",
            "Give the registry a certificate and drop it from insecure-registries.",
            cis="2.5",
            cis_title="Ensure insecure registries are not used",
        ),
        _insecure_registries,
    ),
    Rule(
        _rule(
            10,
            "daemon-experimental",
            Severity.LOW,
            "Experimental features on",
            "Experimental code paths have not had the scrutiny of stable ones.",
            'Set "experimental": false in production.',
            cis="2.19",
            cis_title="Ensure that experimental features are not implemented in production",
        ),
        _experimental,
    ),
)
