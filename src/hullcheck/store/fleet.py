"""The inventory: what each sync saw, with first/last seen and gone times, and the resource
samples it took."""

from __future__ import annotations

import datetime
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    Select,
    Text,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import aliased

from hullcheck.model import Placement, Sample, Seen, Usage
from hullcheck.store.chunks import chunked
from hullcheck.store.embedded import utcnow
from hullcheck.store.models import (
    HostRow,
    InventoryDocumentRow,
    InventoryRow,
    SampleRow,
)

KINDS = ("container", "image", "volume", "network")
_CHUNK = 400
SAMPLE_RETENTION = datetime.timedelta(days=35)
"""Resource samples older than this are dropped when a host's next samples are stored."""


class FleetRepository:
    """Reader and writer of the inventory (what each sync saw) and the resource samples,
    written together: one sync, one transaction. Hosts are ``store/hosts.py``'s, actions
    ``store/actions.py``'s."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- inventory --------------------------------------------------------------------------
    def save_inventory(
        self, name: str, seen: dict[str, list[Seen]], samples: Sequence[Sample] = ()
    ) -> int:
        """Store one host's complete inventory and resource samples in one transaction;
        returns how many objects went missing."""
        now = utcnow()
        gone = 0
        with self.engine.begin() as connection:
            if samples:
                connection.execute(
                    delete(SampleRow).where(
                        SampleRow.host == name,
                        SampleRow.taken_at < (now - SAMPLE_RETENTION).timestamp(),
                    )
                )
                connection.execute(
                    insert(SampleRow), [{"host": name, **_sample_values(s)} for s in samples]
                )
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

    def usage(self, since: datetime.datetime) -> UsageTable:
        """Per (host, container): what its counters grew by between its first and last sample
        taken since ``since``, computed by the database.

        The answer is kept as the database gave it (one JSON text) and read when first asked:
        a report runs this query in a thread, and the thread then leaves Python's lock to
        the report's pass over the inventory instead of competing for it.
        """
        table = SampleRow
        window = select(
            table.host,
            table.container_id,
            func.min(table.taken_at).label("t0"),
            func.max(table.taken_at).label("t1"),
        ).where(table.taken_at >= since.timestamp())
        span = window.group_by(table.host, table.container_id).subquery()
        first, last = aliased(SampleRow), aliased(SampleRow)
        elapsed = span.c.t1 - span.c.t0
        cpu = _growth(first.cpu_ns, last.cpu_ns)
        net = _growth(first.net_rx + first.net_tx, last.net_rx + last.net_tx)
        query = (
            select(span.c.host, span.c.container_id, elapsed, cpu, net, last.memory_bytes)
            .join(
                first,
                (first.host == span.c.host)
                & (first.container_id == span.c.container_id)
                & (first.taken_at == span.c.t0),
            )
            .join(
                last,
                (last.host == span.c.host)
                & (last.container_id == span.c.container_id)
                & (last.taken_at == span.c.t1),
            )
        )
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
            return UsageTable(_one_value(connection, query))


class UsageTable:
    """Every sampled container's use, read from the database's JSON answer when first asked
    (by the thread that asks)."""

    def __init__(self, text: str | None) -> None:
        self._text = text
        self._rows: dict[tuple[str, str], list[Any]] | None = None

    def get(self, key: tuple[str, str]) -> Usage | None:
        """The use of ``(host, container ID)``; ``None`` without samples in the window."""
        if self._rows is None:
            # none: PostgreSQL's json_agg of no rows is NULL
            rows = [] if self._text is None else orjson.loads(self._text)
            self._rows, self._text = {(row[0], row[1]): row for row in rows}, None
        row = self._rows.get(key)
        return None if row is None else Usage(float(row[2]), int(row[3]), int(row[4]), row[5])


def _one_value(connection: Connection, query: Select[Any]) -> str | None:
    """The rows of ``query`` as one JSON array of arrays, in one text value (``None`` for no
    rows on PostgreSQL).

    A driver hands rows over one by one, each needing Python's interpreter lock: a query
    answered row by row in a thread keeps stopping the main thread's work. Answered as one
    value, the database does the whole query (and PostgreSQL's server its serialisation)
    while the lock is free. Only for scalar columns that JSON carries exactly.
    """
    rows = query.subquery()
    columns = list(rows.c)
    value: Any
    if connection.dialect.name == "postgresql":  # as text: psycopg would parse json slowly
        value = cast(func.json_agg(func.json_build_array(*columns)), Text)
    else:
        value = func.json_group_array(func.json_array(*columns))
    text: str | None = connection.execute(select(value)).scalar_one()
    return text


def _growth(before: Any, after: Any) -> Any:
    """SQL: what a counter grew by; a restart resets it, and then what it counted since is the
    growth."""
    before, after = func.coalesce(before, 0), func.coalesce(after, 0)
    return case((after < before, after), else_=after - before)


def _by_host_and_name(row: Any) -> tuple[str, str]:
    """Rows of (host, object ID, name, …) by host, then name (or ID, for unnamed objects)."""
    return row[0], row[2] or row[1]


def _sample_values(sample: Sample) -> dict[str, Any]:
    return {
        "container_id": sample.container_id,
        "taken_at": sample.taken_at.timestamp(),
        "cpu_ns": sample.cpu_ns,
        "memory_bytes": sample.memory_bytes,
        "memory_limit": sample.memory_limit,
        "net_rx": sample.net_rx,
        "net_tx": sample.net_tx,
        "block_read": sample.block_read,
        "block_write": sample.block_write,
    }


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
