"""Compose files made into what the runtime rules read: each service as the inspect document
its container would have (only the settings the rules look at), with the service's line."""

from __future__ import annotations

import re
from typing import Any

import yaml

from hullcheck.errors import PolicyError
from hullcheck.policy.runtime_rules import RunConfig

MAX_BYTES = 4 * 1024 * 1024
_SIZE = re.compile(r"\s*([0-9.]+)\s*([bkmgt]?)b?\s*$", re.IGNORECASE)
_NAMESPACES = {
    "network_mode": "NetworkMode",
    "pid": "PidMode",
    "ipc": "IpcMode",
    "uts": "UTSMode",
    "userns_mode": "UsernsMode",
}


def read(path: str) -> list[RunConfig]:
    """Every service of the compose file at ``path``."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the compose file ({exc.strerror})") from None
    if len(data) > MAX_BYTES:
        raise PolicyError(f"{path}: too large for a compose file")
    return parse(data, path)


def parse(data: bytes, path: str) -> list[RunConfig]:
    try:
        node = yaml.compose(data, Loader=yaml.SafeLoader)
        document = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or "not YAML"
        raise PolicyError(f"{path}: {where}{problem}") from None
    if not isinstance(document, dict) or not isinstance(document.get("services"), dict):
        raise PolicyError(f"{path}: no services mapping; not a compose file")
    lines = _service_lines(node)
    found = []
    for name, service in document["services"].items():
        if not isinstance(service, dict):
            raise PolicyError(
                f"{path}: line {lines.get(str(name), 0)}: service {name} is not a mapping"
            )
        line = lines.get(str(name))
        try:
            document = _document(service)
        except (ValueError, TypeError, AttributeError) as exc:
            raise PolicyError(f"{path}: line {line}: service {name}: {exc}") from None
        found.append(RunConfig(f"{path} service {name}", document, path, line))
    return found


def _service_lines(node: Any) -> dict[str, int]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    for key, value in node.value:
        if getattr(key, "value", None) == "services" and isinstance(value, yaml.MappingNode):
            return {str(k.value): k.start_mark.line + 1 for k, _ in value.value}
    return {}


def _document(service: dict[str, Any]) -> dict[str, Any]:
    limits = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    host: dict[str, Any] = {
        "Privileged": bool(service.get("privileged")),
        "CapAdd": list(service.get("cap_add") or []),
        "ReadonlyRootfs": bool(service.get("read_only")),
        "SecurityOpt": [str(o) for o in service.get("security_opt") or []],
        "Memory": _bytes(service.get("mem_limit") or limits.get("memory")),
        "NanoCpus": int(float(service.get("cpus") or limits.get("cpus") or 0) * 1e9),
        "CpuShares": int(service.get("cpu_shares") or 0),
        "PidsLimit": int(service.get("pids_limit") or limits.get("pids") or 0),
        "PortBindings": _ports(service.get("ports") or []),
        "Devices": [{"PathOnHost": _device(d)} for d in service.get("devices") or []],
    }
    for key, field in _NAMESPACES.items():
        host[field] = str(service.get(key) or "")
    return {
        "HostConfig": host,
        "Config": {
            "Image": str(service.get("image") or ""),
            "User": str(service.get("user") or ""),
        },
        "Mounts": [mount_of(v) for v in service.get("volumes") or []],
    }


def _bytes(value: Any) -> int:
    if isinstance(value, int):
        return value
    found = _SIZE.match(str(value or ""))
    if found is None:
        return 0
    scale = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    return int(float(found.group(1)) * scale[found.group(2).lower()])


def _device(device: Any) -> str:
    if isinstance(device, dict):
        return str(device.get("source") or "")
    return str(device).split(":", 1)[0]


def mount_of(volume: Any) -> dict[str, Any]:
    """A volume of the compose file (short ``src:dst:opts`` or long syntax), or a bind of an
    API create request (``src:dst:opts``), as an inspect document's mount."""
    if isinstance(volume, dict):
        source = str(volume.get("source") or "")
        kind = str(volume.get("type") or "volume")
        propagation = str((volume.get("bind") or {}).get("propagation") or "")
        return {
            "Type": kind,
            "Source": source,
            "Destination": str(volume.get("target") or ""),
            "RW": not volume.get("read_only"),
            "Propagation": propagation,
        }
    parts = str(volume).split(":")
    source = parts[0] if len(parts) > 1 else ""
    options = parts[2].split(",") if len(parts) > 2 else []
    bind = source.startswith(("/", ".", "~"))
    return {
        "Type": "bind" if bind else "volume",
        "Source": source,
        "Destination": parts[1] if len(parts) > 1 else parts[0],
        "RW": "ro" not in options,
        "Propagation": next((o for o in options if o in ("shared", "rshared", "slave")), ""),
    }


def _ports(ports: list[Any]) -> dict[str, list[dict[str, str]]]:
    bindings: dict[str, list[dict[str, str]]] = {}
    for port in ports:
        if isinstance(port, dict):
            target = f"{port.get('target')}/{port.get('protocol') or 'tcp'}"
            address, published = str(port.get("host_ip") or ""), str(port.get("published") or "")
        else:
            text, _, protocol = str(port).partition("/")
            parts = text.rsplit(":", 2)
            target = f"{parts[-1]}/{protocol or 'tcp'}"
            published = parts[-2] if len(parts) >= 2 else ""
            address = parts[0].strip("[]") if len(parts) == 3 else ""
        bindings.setdefault(target, []).append({"HostIp": address, "HostPort": published})
    return bindings
