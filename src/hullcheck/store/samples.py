"""Resource samples: what a sync measured of each running container (CPU, memory, network,
block I/O), kept 35 days; read as the growth of each container's counters over a window."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Select, Text, case, cast, delete, func, insert, select
from sqlalchemy.orm import aliased

from hullcheck.model import Sample, Usage
from hullcheck.store.models import SampleRow

RETENTION = datetime.timedelta(days=35)
"""Resource samples older than this are dropped when a host's next samples are stored."""


class SampleRepository:
    """Reader of the resource samples; the inventory's writer adds them (:func:`add_samples`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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


def add_samples(
    connection: Connection, host: str, samples: Sequence[Sample], now: datetime.datetime
) -> None:
    """Store ``host``'s new samples and drop its samples past :data:`RETENTION`, inside the
    caller's transaction."""
    connection.execute(
        delete(SampleRow).where(
            SampleRow.host == host, SampleRow.taken_at < (now - RETENTION).timestamp()
        )
    )
    connection.execute(insert(SampleRow), [{"host": host, **_sample_values(s)} for s in samples])


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
