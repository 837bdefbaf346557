"""Hosts and their inventory: what each sync saw, with first/last seen and gone times."""

from __future__ import annotations

import datetime
import json
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from hullcheck.errors import UsageError
from hullcheck.model import Host
from hullcheck.store.models import HostRow, InventoryRow

KINDS = ("container", "image", "volume", "network")
_CHUNK = 400


@dataclass(frozen=True, slots=True)
class Seen:
    """One object as a sync found it."""

    object_id: str
    name: str | None
    image_id: str | None
    state: str | None
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an image is: a container running it, or the image itself on a host."""

    host: str
    kind: str
    """``container`` or ``image``."""
    name: str | None
    object_id: str
    state: str | None
    image_id: str


@dataclass(frozen=True, slots=True)
class HostStatus:
    """A host with what its last sync left."""

    host: Host
    synced_at: datetime.datetime | None
    last_error: str | None
    counts: dict[str, int]
    """Objects present, by kind."""


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class FleetRepository:
    """Reader and writer of the fleet tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- hosts ------------------------------------------------------------------------------
    def add_host(self, host: Host) -> None:
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(HostRow),
                    [
                        {
                            "name": host.name,
                            "url": host.url,
                            "tls_ca": host.tls_ca,
                            "tls_cert": host.tls_cert,
                            "tls_key": host.tls_key,
                            "timeout": host.timeout,
                            "added_at": _now(),
                        }
                    ],
                )
        except IntegrityError:
            raise UsageError(
                f"{host.name}: a host of that name exists",
                hint=f"hullcheck hosts remove {host.name} first",
            ) from None

    def remove_host(self, name: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(InventoryRow).where(InventoryRow.host == name))
            gone = connection.execute(delete(HostRow).where(HostRow.name == name)).rowcount
        if not gone:
            raise UsageError(f"{name}: no such host", hint="hullcheck hosts list")

    def hosts(self, names: Sequence[str] = ()) -> list[Host]:
        query = select(HostRow).order_by(HostRow.name)
        if names:
            query = query.where(HostRow.name.in_(names))
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        found = [_host(row) for row in rows]
        missing = set(names) - {h.name for h in found}
        if missing:
            raise UsageError(f"{sorted(missing)[0]}: no such host", hint="hullcheck hosts list")
        return found

    def status(self) -> list[HostStatus]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(HostRow).order_by(HostRow.name)).all()
            counts = connection.execute(
                select(InventoryRow.host, InventoryRow.kind, func.count())
                .where(InventoryRow.gone_at.is_(None))
                .group_by(InventoryRow.host, InventoryRow.kind)
            ).all()
        by_host: dict[str, dict[str, int]] = {}
        for host, kind, count in counts:
            by_host.setdefault(host, {})[kind] = int(count)
        return [
            HostStatus(_host(r), r.synced_at, r.last_error, by_host.get(r.name, {})) for r in rows
        ]

    # -- inventory --------------------------------------------------------------------------
    def record_failure(self, name: str, error: str) -> None:
        """Keep a host's error; what was stored for it stays as it was."""
        with self.engine.begin() as connection:
            connection.execute(update(HostRow).where(HostRow.name == name).values(last_error=error))

    def save_inventory(self, name: str, seen: dict[str, list[Seen]]) -> int:
        """Store one host's complete inventory; returns how many objects went missing."""
        now = _now()
        gone = 0
        with self.engine.begin() as connection:
            for kind in KINDS:
                objects = {item.object_id: item for item in seen.get(kind, [])}
                known = dict(
                    connection.execute(
                        select(InventoryRow.object_id, InventoryRow.gone_at).where(
                            InventoryRow.host == name, InventoryRow.kind == kind
                        )
                    ).all()
                )
                vanished = [i for i, was_gone in known.items() if i not in objects and not was_gone]
                if vanished:
                    gone += len(vanished)
                    connection.execute(
                        update(InventoryRow)
                        .where(
                            InventoryRow.host == name,
                            InventoryRow.kind == kind,
                            InventoryRow.object_id.in_(vanished),
                        )
                        .values(gone_at=now)
                    )
                fresh = [i for i in objects if i not in known]
                for object_id, item in objects.items():
                    if object_id in known:
                        connection.execute(
                            update(InventoryRow)
                            .where(
                                InventoryRow.host == name,
                                InventoryRow.kind == kind,
                                InventoryRow.object_id == object_id,
                            )
                            .values(_values(item) | {"last_seen": now, "gone_at": None})
                        )
                if fresh:
                    connection.execute(
                        insert(InventoryRow),
                        [
                            {
                                "host": name,
                                "kind": kind,
                                "object_id": i,
                                "first_seen": now,
                                "last_seen": now,
                                "gone_at": None,
                                **_values(objects[i]),
                            }
                            for i in fresh
                        ],
                    )
            connection.execute(
                update(HostRow).where(HostRow.name == name).values(synced_at=now, last_error=None)
            )
        return gone

    def placements(self, image_ids: Iterable[str]) -> list[Placement]:
        """Present containers and images with these image IDs, without their documents."""
        wanted = sorted(set(image_ids))
        table = InventoryRow
        found: list[Placement] = []
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), _CHUNK):
                query = select(
                    table.host, table.kind, table.name, table.object_id, table.state, table.image_id
                ).where(
                    table.image_id.in_(wanted[start : start + _CHUNK]),
                    table.kind.in_(("container", "image")),
                    table.gone_at.is_(None),
                )
                found.extend(
                    Placement(r.host, r.kind, r.name, r.object_id, r.state, str(r.image_id))
                    for r in connection.execute(query)
                )
        return found

    def objects(
        self, kind: str, *, host: str | None = None, present: bool = True
    ) -> list[tuple[str, Seen, datetime.datetime | None]]:
        """``(host, object, gone_at)`` of one kind; only present ones unless told."""
        query = select(InventoryRow).where(InventoryRow.kind == kind)
        if host is not None:
            query = query.where(InventoryRow.host == host)
        if present:
            query = query.where(InventoryRow.gone_at.is_(None))
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(InventoryRow.host, InventoryRow.name)).all()
        return [
            (
                row.host,
                Seen(
                    row.object_id,
                    row.name,
                    row.image_id,
                    row.state,
                    json.loads(zlib.decompress(row.data)),
                ),
                row.gone_at,
            )
            for row in rows
        ]


def _values(item: Seen) -> dict[str, Any]:
    return {
        "name": item.name,
        "image_id": item.image_id,
        "state": item.state,
        "data": zlib.compress(json.dumps(item.data).encode(), 6),
    }


def _host(row: Any) -> Host:
    return Host(row.name, row.url, row.tls_ca, row.tls_cert, row.tls_key, row.timeout)
