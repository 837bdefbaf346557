"""Each host's audit log: its records with their leaf hashes, its signed checkpoints and the
head of its tree, all written in one transaction per append."""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import InterfaceError, OperationalError

from hullcheck.audit.merkle import HASH_SIZE, Frontier
from hullcheck.audit.records import Record
from hullcheck.audit.verify import Anchor
from hullcheck.errors import AppendConflict, StoreError
from hullcheck.store.chunks import batches
from hullcheck.store.models import (
    AuditCheckpointRow,
    AuditHeadRow,
    AuditRecordRow,
    AuditStateRow,
)

READ_BATCH = 10_000
"""Records read per query when a log is walked in order."""
_COLUMNS = (
    "host",
    "seq",
    "time",
    "kind",
    "action",
    "object_id",
    "name",
    "actor",
    "context",
    "reconstructed",
    "leaf",
)


def _unavailable(function: Any) -> Any:
    """A store that cannot be reached or is locked is a :class:`StoreError` saying so (the
    collector spools on it)."""

    @functools.wraps(function)
    def call(self: AuditRepository, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(self, *args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            detail = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise StoreError(f"the store is unavailable ({detail[:200]})") from None

    return call


_HEAD = select(AuditHeadRow.size, AuditHeadRow.frontier).where(AuditHeadRow.host == bindparam("h"))
_MOVE_HEAD = (
    update(AuditHeadRow)
    .where(AuditHeadRow.host == bindparam("h"), AuditHeadRow.size == bindparam("before"))
    .values(size=bindparam("to_size"), frontier=bindparam("to_frontier"))
)
_MOVE_HEAD_AND_CURSOR = _MOVE_HEAD.values(cursor=bindparam("to_cursor"))
"""The statements of every append, built once: building them per append cost more than
running them (the authorization plugin appends one record per API request)."""


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


class AuditRepository:
    """Reader and writer of the audit logs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def defer_wal_checkpoints(self) -> None:
        """SQLite: this process's commits no longer copy the write-ahead log back into the
        database now and then (with two fsyncs, inside whichever commit crossed the
        threshold); :meth:`checkpoint_wal` does it when the caller chooses. Nothing on
        PostgreSQL."""
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _no_autocheckpoint)
            self.engine.dispose()  # (connections made before are made again, with it)

    @_unavailable
    def checkpoint_wal(self) -> None:
        """SQLite: copy what the write-ahead log holds into the database (``PASSIVE``: not
        waiting for other processes' readers or writers). Nothing on PostgreSQL."""
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    @_unavailable
    def head(self, host: str) -> Frontier:
        """Where the host's log stands (an empty frontier for a new log)."""
        with self.engine.connect() as connection:
            row = connection.execute(_HEAD, {"h": host}).first()
        return Frontier() if row is None else _frontier(row[0], bytes(row[1]))

    @_unavailable
    def append(
        self,
        host: str,
        before: int,
        entries: Sequence[tuple[Record, bytes]],
        frontier: Frontier,
        notes: Sequence[tuple[int, str]],
        cursor: int | None = None,
    ) -> None:
        """Records numbered from ``before`` on, the head they lead to and the checkpoints
        signed on the way, at once — or nothing, when another writer appended since the head
        was read (the log never forks)."""
        dumps, sort = orjson.dumps, orjson.OPT_SORT_KEYS
        rows = [
            (
                host,
                r.seq,
                r.time,
                r.kind,
                r.action,
                r.object_id,
                r.name,
                r.actor,
                dumps(r.context, option=sort).decode(),
                r.reconstructed,
                leaf,
            )
            for r, leaf in entries
        ]
        head: dict[str, object] = {"size": frontier.size, "frontier": b"".join(frontier.hashes)}
        if cursor is not None:
            head["cursor"] = cursor
        with self.engine.begin() as connection:
            if before == 0:
                exists = connection.execute(_HEAD, {"h": host}).first()
                if exists is not None:
                    raise AppendConflict(f"audit log of {host}: another writer appended first")
                connection.execute(insert(AuditHeadRow), [{"host": host, **head}])
            else:
                statement = _MOVE_HEAD if cursor is None else _MOVE_HEAD_AND_CURSOR
                moved = connection.execute(
                    statement,
                    {"h": host, "before": before, **{f"to_{k}": v for k, v in head.items()}},
                )
                if moved.rowcount != 1:
                    raise AppendConflict(f"audit log of {host}: another writer appended first")
            _insert_records(connection, rows)
            if notes:
                connection.execute(
                    insert(AuditCheckpointRow),
                    [{"host": host, "size": size, "note": note} for size, note in notes],
                )

    @_unavailable
    def cursor(self, host: str) -> int | None:
        """``timeNano`` of the last engine event the host's log holds."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(AuditHeadRow.cursor).where(AuditHeadRow.host == host)
            ).first()
        return None if row is None or row[0] is None else int(row[0])

    def entries(self, host: str) -> Iterator[tuple[int, bytes, bytes]]:
        """Every record of the host's log in order: its sequence number, its canonical bytes
        rebuilt from the row, and the leaf hash stored with it."""
        for record, leaf in self.records(host):
            yield record.seq, record.leaf(), leaf

    def records(self, host: str, start: int = 0) -> Iterator[tuple[Record, bytes]]:
        """The host's records in order from ``start``, with their stored leaf hashes, a
        batch at a time."""
        table = AuditRecordRow
        after = start - 1
        while True:
            query = (
                select(*_record_columns(), table.leaf)
                .where(table.host == host, table.seq > after)
                .order_by(table.seq)
                .limit(READ_BATCH)
            )
            rows = self._rows(query)
            for row in rows:
                yield _record(row), bytes(row[10])
            if len(rows) < READ_BATCH:
                return
            after = rows[-1][0]

    def leaves(self, host: str, start: int, end: int) -> Iterator[bytes]:
        """The leaf hashes of the host's records ``start`` to ``end - 1``, in order, a batch
        at a time."""
        table = AuditRecordRow
        after = start - 1
        while after < end - 1:
            query = (
                select(table.seq, table.leaf)
                .where(table.host == host, table.seq > after, table.seq < end)
                .order_by(table.seq)
                .limit(READ_BATCH * 10)
            )
            rows = self._rows(query)
            for row in rows:
                yield bytes(row[1])
            if not rows:
                return
            after = rows[-1][0]

    @_unavailable
    def _rows(self, query: Any) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(query).all())

    @_unavailable
    def search(
        self,
        *,
        hosts: Sequence[str] = (),
        actions: Sequence[str] = (),
        kinds: Sequence[str] = (),
        objects: Sequence[str] = (),
        since: str | None = None,
        limit: int | None = None,
        newest: int | None = None,
        images: Sequence[str] = (),
    ) -> list[Record]:
        """Records matching every filter given (``objects``: names or IDs; an action also
        names its family: ``exec`` is ``exec_create``, ``exec_start``, ``exec_die``;
        ``images``: globs on the image a container's record names), oldest first (by time,
        then host and position); with ``newest``, only that many of the last."""
        table = AuditRecordRow
        query = select(*_record_columns())
        if hosts:
            query = query.where(table.host.in_(hosts))
        if actions:
            families = [table.action.like(f"{_escaped(a)}\\_%", escape="\\") for a in actions]
            query = query.where(or_(table.action.in_(actions), *families))
        if images:  # (a first cut in SQL on the context's text; the globs decide below)
            mentions = [
                table.context.like(f'%"image":"{_escaped(_before_wildcard(g))}%', escape="\\")
                for g in images
            ]
            query = query.where(or_(*mentions))
        if kinds:
            query = query.where(table.kind.in_(kinds))
        if objects:
            query = query.where(table.name.in_(objects) | table.object_id.in_(objects))
        if since is not None:
            query = query.where(table.time >= since)
        cut = newest if newest is not None else limit
        if newest is not None:
            query = query.order_by(table.time.desc(), table.host.desc(), table.seq.desc())
        else:
            query = query.order_by(table.time, table.host, table.seq)
        if cut is not None and not images:
            query = query.limit(cut)
        with self.engine.connect() as connection:
            found = [_record(row) for row in connection.execute(query).all()]
        if images:
            found = [r for r in found if _image_matches(r, images)][:cut]
        return found[::-1] if newest is not None else found

    def checkpoints(self, host: str) -> list[str]:
        """The host's signed checkpoints, smallest first."""
        query = (
            select(AuditCheckpointRow.note)
            .where(AuditCheckpointRow.host == host)
            .order_by(AuditCheckpointRow.size)
        )
        with self.engine.connect() as connection:
            return [str(row[0]) for row in connection.execute(query)]

    @_unavailable
    def state(self, host: str) -> tuple[int, str, dict[str, Any]] | None:
        """What the host held when its collector last reconciled: the log's size then, the
        moment (a record's time) and the listing."""
        table = AuditStateRow
        with self.engine.connect() as connection:
            row = connection.execute(
                select(table.seq, table.taken, table.state).where(table.host == host)
            ).first()
        if row is None:
            return None
        return int(row[0]), str(row[1]), orjson.loads(row[2])

    @_unavailable
    def save_state(self, host: str, seq: int, taken: str, state: dict[str, Any]) -> None:
        """Keep the host's listing as of the log's size ``seq``, replacing the one before."""
        values = {"seq": seq, "taken": taken, "state": orjson.dumps(state).decode()}
        with self.engine.begin() as connection:
            moved = connection.execute(
                update(AuditStateRow).where(AuditStateRow.host == host).values(**values)
            )
            if moved.rowcount == 0:
                connection.execute(insert(AuditStateRow), [{"host": host, **values}])

    @_unavailable
    def anchor(self, host: str) -> Anchor | None:
        """Where the host's log starts once retention removed its oldest records."""
        table = AuditHeadRow
        with self.engine.connect() as connection:
            row = connection.execute(
                select(table.kept_from, table.kept_frontier, table.kept_note).where(
                    table.host == host, table.kept_from.is_not(None)
                )
            ).first()
        if row is None or row[0] is None:
            return None
        return Anchor(_frontier(row[0], bytes(row[1] or b"")), str(row[2] or ""))

    @_unavailable
    def first_at(self, host: str, since: str) -> int | None:
        """The sequence number of the host's first record at or after ``since``."""
        table = AuditRecordRow
        with self.engine.connect() as connection:
            found = connection.execute(
                select(func.min(table.seq)).where(table.host == host, table.time >= since)
            ).scalar()
        return None if found is None else int(found)

    @_unavailable
    def checkpoint_at_most(self, host: str, size: int) -> tuple[int, str] | None:
        """The host's largest signed checkpoint of at most ``size`` records."""
        table = AuditCheckpointRow
        with self.engine.connect() as connection:
            row = connection.execute(
                select(table.size, table.note)
                .where(table.host == host, table.size <= size)
                .order_by(table.size.desc())
                .limit(1)
            ).first()
        return None if row is None else (int(row[0]), str(row[1]))

    @_unavailable
    def retain(self, host: str, anchor: Anchor) -> int:
        """Remove the host's records before the anchor (and the checkpoints of fewer
        records), keeping the anchor in their place, at once; the records removed."""
        size = anchor.frontier.size
        head = AuditHeadRow
        with self.engine.begin() as connection:
            moved = connection.execute(
                update(head)
                .where(
                    head.host == host,
                    head.size >= size,
                    head.kept_from.is_(None) | (head.kept_from < size),
                )
                .values(
                    kept_from=size,
                    kept_frontier=b"".join(anchor.frontier.hashes),
                    kept_note=anchor.note,
                )
            )
            if moved.rowcount != 1:
                raise AppendConflict(f"audit log of {host}: retention moved on meanwhile")
            removed = connection.execute(
                delete(AuditRecordRow).where(AuditRecordRow.host == host, AuditRecordRow.seq < size)
            ).rowcount
            connection.execute(
                delete(AuditCheckpointRow).where(
                    AuditCheckpointRow.host == host, AuditCheckpointRow.size < size
                )
            )
        return int(removed)

    def hosts(self) -> list[str]:
        """Hosts with a log."""
        with self.engine.connect() as connection:
            found = connection.execute(select(AuditHeadRow.host).order_by(AuditHeadRow.host))
            return [str(row[0]) for row in found]


def _insert_records(connection: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Rows already in column form, at the driver's level (no per-row processing): COPY on
    PostgreSQL (an INSERT per row costs it five times as much), else batched INSERTs."""
    columns = ", ".join(_COLUMNS)
    if connection.dialect.name == "postgresql":
        statement = f"COPY audit_records ({columns}) FROM STDIN"
        driver: Any = connection.connection.driver_connection  # psycopg's, in the transaction
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        return
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    statement = (
        f"INSERT INTO audit_records ({columns}) VALUES ({', '.join(marker for _ in _COLUMNS)})"
    )
    for batch in batches(rows, 1000):
        connection.exec_driver_sql(statement, batch)


def _escaped(text: str) -> str:
    """``text`` matched literally by LIKE (with ``ESCAPE '\\'``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _before_wildcard(glob: str) -> str:
    return re.split(r"[*?\[]", glob, maxsplit=1)[0]


def _image_matches(record: Record, globs: Sequence[str]) -> bool:
    """Whether the image the record names (the engine's ``image`` attribute of a
    container's event: the reference it was run from) matches one of the globs."""
    image = record.context.get("image")
    return isinstance(image, str) and any(fnmatch.fnmatchcase(image, g) for g in globs)


def _frontier(size: int, data: bytes) -> Frontier:
    return Frontier(size, [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)])


def _record_columns() -> tuple[Any, ...]:
    """A record's columns in ``Record``'s field order."""
    table = AuditRecordRow
    return (
        table.seq,
        table.time,
        table.host,
        table.kind,
        table.action,
        table.object_id,
        table.name,
        table.actor,
        table.context,
        table.reconstructed,
    )


def _record(row: Any) -> Record:
    seq, time, host, kind, action, object_id, name, actor, context, reconstructed = row[:10]
    return Record(
        seq,
        time,
        host,
        kind,
        action,
        object_id,
        name,
        actor,
        orjson.loads(context),
        bool(reconstructed),
    )
