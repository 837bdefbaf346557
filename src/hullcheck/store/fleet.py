"""The inventory: what each sync saw, with first/last seen and gone times; the resource
samples the sync took are written in the same transaction (:mod:`hullcheck.store.samples`)."""

from __future__ import annotations

import datetime
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import (
    Engine,
    bindparam,
    insert,
    select,
    update,
)

from hullcheck.model import Placement, Sample, Seen
from hullcheck.store.chunks import chunked
from hullcheck.store.embedded import utcnow
from hullcheck.store.models import (
    HostRow,
    InventoryDocumentRow,
    InventoryRow,
)
from hullcheck.store.samples import add_samples

KINDS = ("container", "image", "volume", "network")
_CHUNK = 400


class FleetRepository:
    """Reader and writer of the inventory (what each sync saw); a sync's resource samples are
    written with it: one sync, one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save_inventory(
        self, name: str, seen: dict[str, list[Seen]], samples: Sequence[Sample] = ()
    ) -> int:
        """Store one host's complete inventory and resource samples in one transaction;
        returns how many objects went missing."""
        now = utcnow()
        gone = 0
        with self.engine.begin() as connection:
            if samples:
                add_samples(connection, name, samples, now)
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
                present = [i for i in objects if i in known]
                if present:
                    key = (
                        (InventoryRow.host == name)
                        & (InventoryRow.kind == kind)
                        & (InventoryRow.object_id == bindparam("oid"))
                    )
                    connection.execute(
                        update(InventoryRow)
                        .where(key)
                        .values(
                            name=bindparam("n"),
                            image_id=bindparam("i"),
                            state=bindparam("s"),
                            summary=bindparam("sm"),
                            last_seen=now,
                            gone_at=None,
                        ),
                        [_changes(objects[i]) for i in present],
                    )
                    documents = InventoryDocumentRow
                    connection.execute(
                        update(documents)
                        .where(
                            (documents.host == name)
                            & (documents.kind == kind)
                            & (documents.object_id == bindparam("oid"))
                        )
                        .values(data=bindparam("d")),
                        [{"oid": i, "d": _document(objects[i])} for i in present],
                    )
                fresh = [i for i in objects if i not in known]
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
                                "name": objects[i].name,
                                "image_id": objects[i].image_id,
                                "state": objects[i].state,
                                "summary": _summary_text(objects[i]),
                            }
                            for i in fresh
                        ],
                    )
                    connection.execute(
                        insert(InventoryDocumentRow),
                        [
                            {"host": name, "kind": kind, "object_id": i}
                            | {"data": _document(objects[i])}
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
            for chunk in chunked(wanted, _CHUNK):
                query = select(
                    table.host, table.kind, table.name, table.object_id, table.state, table.image_id
                ).where(
                    table.image_id.in_(chunk),
                    table.kind.in_(("container", "image")),
                    table.gone_at.is_(None),
                )
                found.extend(
                    Placement(r[0], r[1], r[2], r[3], r[4], str(r[5]))
                    for r in connection.execute(query).all()
                )
        return found

    def objects(
        self, kind: str, *, host: str | None = None, present: bool = True, full: bool = False
    ) -> list[tuple[str, Seen, datetime.datetime | None]]:
        """``(host, object, gone_at)`` of one kind, by host and name; only present ones unless
        told.

        Each object's ``data`` is its summary; ``full=True`` reads whole inspect documents.
        """
        return list(self.each(kind, host=host, present=present, full=full))

    def each(
        self, kind: str, *, host: str | None = None, present: bool = True, full: bool = False
    ) -> Iterator[tuple[str, Seen, datetime.datetime | None]]:
        """``objects()`` one at a time: each document is decoded when its object is reached.

        A caller that keeps none of them (a report's pass over 100,000 containers) never
        holds more than one decoded document, instead of building them all and freeing them
        all afterwards.
        """
        table = InventoryRow
        documents = InventoryDocumentRow
        query = select(
            table.host,
            table.object_id,
            table.name,
            table.image_id,
            table.state,
            table.gone_at,
            documents.data if full else table.summary,
        ).where(table.kind == kind)
        if full:
            query = query.join(
                documents,
                (documents.host == table.host)
                & (documents.kind == table.kind)
                & (documents.object_id == table.object_id),
            )
        if host is not None:
            query = query.where(table.host == host)
        if present:
            query = query.where(table.gone_at.is_(None))
        loads = orjson.loads
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        # the same order on every database, without its sort
        for row in sorted(rows, key=_by_host_and_name):
            stored: Any = row[6]
            data = loads(zlib.decompress(stored)) if full else loads(stored or b"{}")
            yield row[0], Seen(row[1], row[2], row[3], row[4], data), row[5]


def _by_host_and_name(row: Any) -> tuple[str, str]:
    """Rows of (host, object ID, name, …) by host, then name (or ID, for unnamed objects)."""
    return row[0], row[2] or row[1]


def _document(item: Seen) -> bytes:
    return zlib.compress(orjson.dumps(item.data), 6)


def _summary_text(item: Seen) -> str | None:
    return None if item.summary is None else orjson.dumps(item.summary).decode()


def _changes(item: Seen) -> dict[str, Any]:
    """Bind values of one known object's inventory row, for an executemany update."""
    return {
        "oid": item.object_id,
        "n": item.name,
        "i": item.image_id,
        "s": item.state,
        "sm": _summary_text(item),
    }
