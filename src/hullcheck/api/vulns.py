"""The vulnerability database, as ``db status`` shows it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hullcheck.store import Store

if TYPE_CHECKING:
    from hullcheck.store.vulns import EcosystemStatus
    from hullcheck.vulndb.importer import ImportResult
    from hullcheck.vulndb.index import FeedInfo

__all__ = ["ImportResult", "vulnerability_status"]


def vulnerability_status(store: Store) -> tuple[list[EcosystemStatus], list[FeedInfo]]:
    """Records per ecosystem with their last update, and the feeds and files they came
    from."""
    return store.vulns.status(), store.vulns.feeds()
