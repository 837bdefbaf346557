"""The vulnerability database (OSV records and the feeds they came from): reads and writes
through SQLAlchemy Core; the findings matched against it are in :mod:`hullcheck.store.findings`.

An import is one transaction: a failure anywhere leaves the database as it was. The same code
runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime
import json
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from hullcheck.errors import VulnDbError
from hullcheck.model import DbSnapshot, Description, Severity
from hullcheck.store.chunks import batches, chunked
from hullcheck.store.embedded import utcnow
from hullcheck.store.models import (
    VulnAffectedRow,
    VulnAliasRow,
    VulnFeedRow,
    VulnRecordRow,
    as_utc,
)
from hullcheck.vulndb import versions
from hullcheck.vulndb.ecosystems import Query
from hullcheck.vulndb.index import FeedInfo, FeedSource, RecordInfo
from hullcheck.vulndb.osv import Affected, Range, Record, description_of
from hullcheck.vulndb.severity import Rating

_BATCH = 5_000
_BATCH_BYTES = 32 * 1024 * 1024
_LOOKUP_CHUNK = 400
ALWAYS = "~"
"""``fixed_key`` of entries that are always evaluated: above every text key (digits and
``!``), and not NULL, so that ``fixed_key > ?`` stays an index range scan."""
_KEYED_CHUNK = 150


@dataclass(frozen=True, slots=True)
class EcosystemStatus:
    """``db status``: one ecosystem family."""

    ecosystem: str
    records: int
    updated_at: datetime.datetime | None


class VulnRepository:
    """Reader and writer of the vulnerability tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- writing ----------------------------------------------------------------------------
    def replace(
        self,
        feed: FeedSource,
        records: Iterable[tuple[Record, bytes]],
        *,
        skipped: Callable[[], int] = lambda: 0,
    ) -> int:
        """Store ``records`` (each with its raw JSON) as the whole state of ``feed``, atomically.

        Every record this source brought before and does not bring now is removed (an
        ``all.zip`` is the feed's complete state); ``skipped`` is asked once all are read.
        """
        now = utcnow()
        count = 0
        try:
            with self.engine.begin() as connection:
                _delete_source(connection, feed.name)
                for items in batches(records, _BATCH, _BATCH_BYTES):
                    batch = list({record.id: (record, raw) for record, raw in items}.values())
                    _delete_ids(connection, [record.id for record, _ in batch])
                    connection.execute(
                        insert(VulnRecordRow),
                        [_record_row(r, raw, feed.name, now) for r, raw in batch],
                    )
                    rows = [_affected_row(r.id, a) for r, _ in batch for a in r.affected]
                    if rows:
                        connection.execute(insert(VulnAffectedRow), rows)
                    aliases = [
                        {"record_id": r.id, "alias": alias}
                        for r, _ in batch
                        for alias in sorted(set(r.aliases) | set(r.upstream))
                    ]
                    if aliases:
                        connection.execute(insert(VulnAliasRow), aliases)
                    count += len(batch)
                connection.execute(delete(VulnFeedRow).where(VulnFeedRow.name == feed.name))
                values = {
                    **{k: getattr(feed, k) for k in FeedSource.__dataclass_fields__},
                    "records": count,
                    "skipped": skipped(),
                    "updated_at": now,
                }
                connection.execute(insert(VulnFeedRow), [values])
        except SQLAlchemyError as exc:
            raise VulnDbError(f"{feed.name}: cannot store the records ({exc})") from None
        return count

    def touch_feed(self, name: str) -> None:
        """Note that a feed was checked and had not changed."""
        with self.engine.begin() as connection:
            connection.execute(
                update(VulnFeedRow).where(VulnFeedRow.name == name).values(updated_at=utcnow())
            )

    # -- reading ----------------------------------------------------------------------------
    def feed(self, name: str) -> FeedInfo | None:
        found = self.feeds(name)
        return found[0] if found else None

    def feeds(self, name: str | None = None) -> list[FeedInfo]:
        """Stored sources (all, or the one called ``name``)."""
        query = select(VulnFeedRow).order_by(VulnFeedRow.name)
        if name is not None:
            query = query.where(VulnFeedRow.name == name)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        fields = FeedInfo.__dataclass_fields__
        return [FeedInfo(**{k: getattr(r, k) for k in fields}) for r in rows]

    def candidates(self, queries: Iterable[Query]) -> dict[Query, list[tuple[str, Affected]]]:
        """The affected entries that may apply to each lookup.

        Entries are selected by ecosystem key and package key; for versions with a text key
        (dpkg), "from 0, fixed in X" entries already fixed at the installed version are left
        out by the database itself: most of a distro's records are about old, fixed flaws.
        """
        wanted = set(queries)
        found: dict[Query, list[tuple[str, Affected]]] = {q: [] for q in wanted}
        keyed: dict[Query, str] = {}
        for query in wanted:
            key = versions.text_key(query.scheme, query.version)
            if key is not None:
                keyed[query] = key
        by_key: dict[tuple[str, str], list[Query]] = {}
        for query in wanted:
            by_key.setdefault((query.ecosystem, query.name), []).append(query)
        table = VulnAffectedRow.__table__
        columns = (
            table.c.record_id,
            table.c.ecosystem,
            table.c.eco_key,
            table.c.name,
            table.c.scheme,
            table.c.fixed_key,
            table.c.data,
        )
        # one index range per package: (eco_key, name) and, for keyed versions, fixed_key > key
        # (an OR of such terms is one multi-index scan on SQLite; row-value IN is not)
        terms = []
        for (ecosystem, name), group in sorted(by_key.items()):
            lowest = min((keyed.get(q, "") for q in group), default="")
            term = and_(table.c.eco_key == ecosystem, table.c.name == name)
            terms.append(and_(term, table.c.fixed_key > lowest) if lowest else term)
        conditions = [or_(*chunk) for chunk in chunked(terms, _KEYED_CHUNK)]
        with self.engine.connect() as connection:
            for condition in conditions:
                for row in connection.execute(select(*columns).where(condition)):
                    entry = (row.record_id, _affected_from(row))
                    for query in by_key.get((row.eco_key, row.name), ()):
                        key = keyed.get(query)
                        if key is None or row.fixed_key > key:
                            found[query].append(entry)
        return found

    def records(self, ids: Iterable[str]) -> dict[str, RecordInfo]:
        wanted = sorted(set(ids))
        result: dict[str, RecordInfo] = {}
        table = VulnRecordRow.__table__
        columns = [c for c in table.c if c.name not in ("document", "source", "imported_at")]
        with self.engine.connect() as connection:
            for chunk in chunked(wanted, _LOOKUP_CHUNK):
                for row in connection.execute(select(*columns).where(table.c.id.in_(chunk))):
                    result[row.id] = _record_info(row)
        return result

    def descriptions(self, ids: Iterable[str]) -> dict[str, Description]:
        """The full text, dates, CWEs and references of the stored records ``ids``."""
        wanted = sorted(set(ids))
        result: dict[str, Description] = {}
        table = VulnRecordRow.__table__
        with self.engine.connect() as connection:
            for chunk in chunked(wanted, _LOOKUP_CHUNK):
                query = select(table.c.id, table.c.document).where(table.c.id.in_(chunk))
                for row in connection.execute(query):
                    try:
                        document = json.loads(zlib.decompress(row.document))
                    except (zlib.error, ValueError):
                        continue  # damage is reported by matching; a report goes without
                    if isinstance(document, dict):
                        result[row.id] = description_of(document)
        return result

    def snapshot(self) -> DbSnapshot:
        with self.engine.connect() as connection:
            count, newest = connection.execute(
                select(func.count(VulnRecordRow.id), func.max(VulnRecordRow.imported_at))
            ).one()
        latest = as_utc(newest)
        return DbSnapshot(records=int(count), updated=latest.isoformat() if latest else None)

    def status(self) -> list[EcosystemStatus]:
        """Records and newest import per ecosystem family (``Debian``, ``PyPI`` …)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(VulnAffectedRow.eco_key, VulnRecordRow.id, VulnRecordRow.imported_at)
                .join(VulnRecordRow, VulnRecordRow.id == VulnAffectedRow.record_id)
                .distinct()
            ).all()
        families: dict[str, dict[str, datetime.datetime | None]] = {}
        for key, record_id, imported_at in rows:
            families.setdefault(str(key).split(":", 1)[0], {})[record_id] = as_utc(imported_at)
        return [
            EcosystemStatus(name, len(ids), max(filter(None, ids.values()), default=None))
            for name, ids in sorted(families.items())
        ]


def _delete_source(connection: Connection, source: str) -> None:
    ids = select(VulnRecordRow.id).where(VulnRecordRow.source == source).scalar_subquery()
    connection.execute(delete(VulnAffectedRow).where(VulnAffectedRow.record_id.in_(ids)))
    connection.execute(delete(VulnAliasRow).where(VulnAliasRow.record_id.in_(ids)))
    connection.execute(delete(VulnRecordRow).where(VulnRecordRow.source == source))


def _delete_ids(connection: Connection, ids: list[str]) -> None:
    for chunk in chunked(ids, _LOOKUP_CHUNK):
        connection.execute(delete(VulnAffectedRow).where(VulnAffectedRow.record_id.in_(chunk)))
        connection.execute(delete(VulnAliasRow).where(VulnAliasRow.record_id.in_(chunk)))
        connection.execute(delete(VulnRecordRow).where(VulnRecordRow.id.in_(chunk)))


def _record_row(record: Record, raw: bytes, source: str, now: datetime.datetime) -> dict[str, Any]:
    rating = record.rating
    return {
        "id": record.id,
        "source": source,
        "modified": record.modified,
        "published": record.published,
        "summary": record.summary,
        "aliases": list(record.aliases),
        "upstream": list(record.upstream),
        "related": list(record.related),
        "severity": rating.severity.value,
        "own_severity": rating.own.value if rating.own else None,
        "cvss_score": rating.score,
        "cvss_vector": rating.vector,
        "url": record.url,
        "imported_at": now,
        "document": zlib.compress(raw, 6),
    }


def _affected_row(record_id: str, affected: Affected) -> dict[str, Any]:
    data: dict[str, Any] = {"r": [list(map(list, r.events)) for r in affected.ranges]}
    if affected.versions:
        data["v"] = list(affected.versions)
    if affected.rating is not None:
        data["s"] = affected.rating.value
    return {
        "record_id": record_id,
        "ecosystem": affected.ecosystem,
        "eco_key": affected.key,
        "name": affected.name,
        "scheme": affected.scheme,
        "fixed_key": affected.fixed_key or ALWAYS,
        "data": data,
    }


def _affected_from(row: Any) -> Affected:
    data = row.data
    return Affected(
        ecosystem=row.ecosystem,
        key=row.eco_key,
        name=row.name,
        scheme=row.scheme,
        ranges=tuple(Range(tuple((k, v) for k, v in events)) for events in data.get("r", [])),
        versions=tuple(data.get("v", ())),
        rating=Severity(data["s"]) if "s" in data else None,
        fixed_key=None if row.fixed_key == ALWAYS else row.fixed_key,
    )


def _record_info(row: Any) -> RecordInfo:
    return RecordInfo(
        id=row.id,
        aliases=tuple(row.aliases),
        upstream=tuple(row.upstream),
        related=tuple(row.related),
        summary=row.summary,
        rating=Rating(
            Severity(row.severity),
            row.cvss_score,
            row.cvss_vector,
            own=Severity(row.own_severity) if row.own_severity else None,
        ),
        url=row.url,
    )
