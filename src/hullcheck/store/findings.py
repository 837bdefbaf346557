"""Stored findings: which image carries which vulnerability, as the last match said.

Written in bulk (a rematch replaces the findings of hundreds of images in one transaction) and
read by vulnerability, for ``affected``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import Engine, delete, func, select

from hullcheck.model import Finding, StoredFinding
from hullcheck.store.chunks import batches, chunked
from hullcheck.store.embedded import sqlite_time, utcnow
from hullcheck.store.models import FindingRow, VulnAliasRow

_BATCH = 5_000
_LOOKUP_CHUNK = 400


class FindingRepository:
    """Writer and reader of the ``findings`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, image_id: str, findings: Sequence[Finding]) -> None:
        """Replace the stored findings of an image."""
        self.save_many({image_id: findings})

    def save_many(self, by_image: dict[str, Sequence[Finding]]) -> None:
        """Replace the stored findings of several images in one transaction."""
        ids = sorted(by_image)
        with self.engine.begin() as connection:
            now: object = utcnow()
            if connection.dialect.name == "sqlite":  # SQLAlchemy's own text form of a time
                now = sqlite_time(utcnow())
            rows = [_finding_row(i, f, now) for i in ids for f in by_image[i]]
            for chunk in chunked(ids, _LOOKUP_CHUNK):
                connection.execute(delete(FindingRow).where(FindingRow.image_id.in_(chunk)))
            statement = _insert_findings(connection.dialect.paramstyle)
            for batch in batches(rows, _BATCH):
                connection.exec_driver_sql(statement, batch)

    def about(self, vuln_id: str) -> list[StoredFinding]:
        """Stored finding rows about ``vuln_id``: by id, by advisory, or through an alias.

        A finding is keyed by the vulnerability it is about (a CVE, or an advisory of its own);
        the records merged into it alias that key. So ``vuln_id``, the records that alias it
        and the aliases of a record ``vuln_id`` cover every finding that names it.
        """
        ids = {vuln_id}
        with self.engine.connect() as connection:
            ids.update(
                connection.execute(
                    select(VulnAliasRow.record_id).where(VulnAliasRow.alias == vuln_id)
                ).scalars()
            )
            ids.update(
                connection.execute(
                    select(VulnAliasRow.alias).where(VulnAliasRow.record_id == vuln_id)
                ).scalars()
            )
            f = FindingRow
            query = select(
                f.image_id,
                f.vuln_id,
                f.package_name,
                f.package_version,
                f.fixed_version,
                f.severity,
            ).where(f.vuln_id.in_(sorted(ids)))
            return [StoredFinding(*row) for row in connection.execute(query)]

    def counts(self) -> dict[str, dict[str, int]]:
        """Per stored image: counts of findings by severity."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(FindingRow.image_id, FindingRow.severity, func.count()).group_by(
                    FindingRow.image_id, FindingRow.severity
                )
            ).all()
        counts: dict[str, dict[str, int]] = {}
        for image_id, severity, count in rows:
            counts.setdefault(image_id, {})[severity] = int(count)
        return counts


_FINDING_COLUMNS = (
    "image_id",
    "vuln_id",
    "advisories",
    "severity",
    "status",
    "fixed_version",
    "ecosystem",
    "package_name",
    "package_version",
    "package_type",
    "purl",
    "matched_at",
)


def _insert_findings(paramstyle: str) -> str:
    """A driver-level INSERT: rows are many and already in column form (JSON pre-encoded,
    times as ISO text), so they go to the driver's executemany with no per-row processing."""
    marker = "?" if paramstyle == "qmark" else "%s"
    return (
        f"INSERT INTO findings ({', '.join(_FINDING_COLUMNS)}) "
        f"VALUES ({', '.join(marker for _ in _FINDING_COLUMNS)})"
    )


def _finding_row(image_id: str, finding: Finding, now: object) -> tuple[object, ...]:
    package = finding.package
    return (
        image_id,
        finding.id,
        json.dumps(finding.advisories),
        str.__str__(finding.severity),  # the plain str: Enum.value is slow on many rows
        str.__str__(finding.status),
        finding.fixed_version,
        finding.ecosystem,
        package.name,
        package.version,
        str.__str__(package.type),
        package.purl,
        now,
    )
