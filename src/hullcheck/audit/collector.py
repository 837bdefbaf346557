"""Reading a host's engine events into its audit log, with what will soon be gone captured
on arrival: a new container's configuration (environment variable names, never their
values) and, on Docker, an exec's command, user and privileges.

A collector resumes after the last event its log holds (the log keeps the event's
``timeNano`` as its cursor), so one that was stopped or killed misses nothing the engine
still has: Docker keeps its recent events in memory (lost when dockerd restarts), Podman in
its events file. Gaps the engine cannot cover are not yet reconstructed (docs/audit.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from hullcheck.audit.log import AuditBook, record
from hullcheck.audit.note import SignerKey
from hullcheck.audit.records import Record, from_event
from hullcheck.engine import EngineClient
from hullcheck.redaction import redact_command

BATCH = 256
"""Events per append when the stream has them waiting (``until`` given)."""


def _since(cursor: int | None) -> str:
    if cursor is None:
        return "0"  # a first run takes everything the engine still holds
    seconds, nanos = divmod(cursor, 1_000_000_000)
    return f"{seconds}.{nanos:09d}"


def _nanos(event: dict[str, Any]) -> int:
    nanos = event.get("timeNano")
    if isinstance(nanos, int) and not isinstance(nanos, bool):
        return nanos
    seconds = event.get("time")
    valid = isinstance(seconds, int) and not isinstance(seconds, bool)
    return seconds * 1_000_000_000 if valid else 0  # type: ignore[operator]


def container_config(document: dict[str, Any]) -> dict[str, Any]:
    """What a container was created with, as the audit keeps it: image, command, user,
    privileges, capabilities, mounts, ports, labels and the *names* of its environment."""
    config = document.get("Config") or {}
    host = document.get("HostConfig") or {}
    command = " ".join(str(part) for part in [document.get("Path"), *(document.get("Args") or [])])
    env = [str(item).split("=", 1)[0] for item in config.get("Env") or []]
    mounts = [
        f"{m.get('Type')}:{m.get('Name') or m.get('Source')}:{m.get('Destination')}"
        + ("" if m.get("RW", True) else ":ro")
        for m in document.get("Mounts") or []
        if isinstance(m, dict)
    ]
    ports = sorted((host.get("PortBindings") or {}).keys())
    return {
        "image": document.get("Image"),
        "command": redact_command(command.strip()),
        "user": config.get("User") or "",
        "privileged": bool(host.get("Privileged")),
        "cap_add": list(host.get("CapAdd") or []),
        "network_mode": host.get("NetworkMode"),
        "mounts": mounts,
        "ports": ports,
        "env_names": env,
    }


def _exec_detail(document: dict[str, Any]) -> dict[str, Any]:
    process = document.get("ProcessConfig") or {}
    command = " ".join(
        [str(process.get("entrypoint") or ""), *map(str, process.get("arguments") or [])]
    )
    return {
        "command": redact_command(command.strip()),
        "user": process.get("user") or "",
        "privileged": bool(process.get("privileged")),
        "tty": bool(process.get("tty")),
    }


def enrich(client: EngineClient, item: Record) -> Record:
    """The record with what the engine can still tell about it, asked at once."""
    context = dict(item.context)
    if item.kind == "container" and item.action == "create":
        found = client.inspect("container", item.object_id)
        if found is not None:
            context["config"] = container_config(found)
    elif item.kind == "container" and item.action == "exec_start" and "execID" in context:
        found = client.exec_inspect(str(context["execID"]))
        if found is not None:
            context.update(_exec_detail(found))
    else:
        return item
    return Record(
        item.seq,
        item.time,
        item.host,
        item.kind,
        item.action,
        item.object_id,
        item.name,
        item.actor,
        context,
        item.reconstructed,
    )


def collect(
    client: EngineClient,
    book: AuditBook,
    log_name: str,
    host: str,
    signer: SignerKey,
    *,
    until: str | None = None,
    podman: bool = False,
    on_record: Callable[[int], None] | None = None,
) -> int:
    """Record the host's events from where its log stopped until ``until`` (or for ever);
    the number recorded. Without ``until`` each event is written as it arrives."""
    cursor = book.cursor(host)
    pending: list[Record] = []
    last = cursor
    recorded = 0
    batch = BATCH if until is not None else 1

    def flush() -> None:
        nonlocal recorded
        if pending:
            size = record(book, log_name, host, pending, signer, cursor=last)
            recorded += len(pending)
            pending.clear()
            if on_record is not None:
                on_record(size)

    for event in _events(client, cursor, until):
        nanos = _nanos(event)
        if cursor is not None and nanos <= cursor:
            continue  # already in the log: the engine replays from the second
        pending.append(enrich(client, from_event(host, event, podman=podman)))
        last = nanos if last is None else max(last, nanos)
        if len(pending) >= batch:
            flush()
    flush()
    return recorded


def _events(
    client: EngineClient, cursor: int | None, until: str | None
) -> Iterable[dict[str, Any]]:
    for event in client.events(_since(cursor), until):
        if isinstance(event, dict):
            yield event
