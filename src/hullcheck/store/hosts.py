"""The hosts hullcheck watches: their addresses, last sync and last error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from hullcheck.errors import ExistsError, NotFoundError
from hullcheck.model import Host, HostStatus
from hullcheck.store.embedded import utcnow
from hullcheck.store.models import HostRow, InventoryDocumentRow, InventoryRow


class HostRepository:
    """Reader and writer of the hosts."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, host: Host) -> None:
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
                            "added_at": utcnow(),
                        }
                    ],
                )
        except IntegrityError:
            raise ExistsError(f"{host.name}: a host of that name exists") from None

    def remove(self, name: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(InventoryDocumentRow).where(InventoryDocumentRow.host == name)
            )
            connection.execute(delete(InventoryRow).where(InventoryRow.host == name))
            gone = connection.execute(delete(HostRow).where(HostRow.name == name)).rowcount
        if not gone:
            raise NotFoundError(f"{name}: no such host")

    def named(self, names: Sequence[str] = ()) -> list[Host]:
        """The hosts ``names`` (all when none); :class:`NotFoundError` for one not there."""
        query = select(HostRow).order_by(HostRow.name)
        if names:
            query = query.where(HostRow.name.in_(names))
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        found = [_host(row) for row in rows]
        missing = set(names) - {h.name for h in found}
        if missing:
            raise NotFoundError(f"{sorted(missing)[0]}: no such host")
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

    def record_failure(self, name: str, error: str) -> None:
        """Keep a host's error; what was stored for it stays as it was."""
        with self.engine.begin() as connection:
            connection.execute(update(HostRow).where(HostRow.name == name).values(last_error=error))


def _host(row: Any) -> Host:
    return Host(row.name, row.url, row.tls_ca, row.tls_cert, row.tls_key, row.timeout)
