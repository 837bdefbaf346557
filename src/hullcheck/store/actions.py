"""What hullcheck did to engines (prune removals), as recorded: the audit trail's first
entries."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy import Engine, insert, select, update

from hullcheck.model import Action
from hullcheck.store.models import ActionRow, InventoryRow, as_utc


class ActionRepository:
    """Reader and writer of the actions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, actions: Sequence[Action]) -> None:
        """Keep what was done; objects removed are marked gone in the inventory at once."""
        if not actions:
            return
        with self.engine.begin() as connection:
            connection.execute(
                insert(ActionRow), [dataclasses.asdict(action) for action in actions]
            )
            for action in actions:
                if action.outcome in ("removed", "gone"):
                    connection.execute(
                        update(InventoryRow)
                        .where(
                            InventoryRow.host == action.host,
                            InventoryRow.kind == action.kind,
                            InventoryRow.object_id == action.object_id,
                            InventoryRow.gone_at.is_(None),
                        )
                        .values(gone_at=action.at)
                    )

    def recent(self, limit: int | None = None) -> list[Action]:
        """Recorded actions, newest first."""
        query = select(ActionRow).order_by(ActionRow.at.desc(), ActionRow.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            Action(
                as_utc(r.at),
                r.actor,
                r.command,
                r.host,
                r.kind,
                r.object_id,
                r.name,
                r.reason,
                r.outcome,
                r.detail,
                r.reclaim_bytes,
            )
            for r in rows
        ]
