"""What ``vulndb`` needs of a store, owned here (as ``sbom.scan.LayerCache`` is owned by the
SBOM pipeline): the store implements these Protocols; ``vulndb`` never imports the store.

- :class:`VulnIndex`: what matching reads (candidate ``affected`` entries per lookup, record
  summaries, full descriptions);
- :class:`FeedStore`: what importing and updating feeds write and read back.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from hullcheck.model import Description
from hullcheck.vulndb.ecosystems import Query
from hullcheck.vulndb.osv import Affected, Record
from hullcheck.vulndb.severity import Rating


@dataclass(frozen=True, slots=True)
class FeedSource:
    """Where an import comes from: a feed download or a file."""

    name: str
    url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class FeedInfo(FeedSource):
    """A source as stored by its last import, with what that import held."""

    records: int = 0
    skipped: int = 0
    updated_at: datetime.datetime | None = None


@dataclass(frozen=True, slots=True)
class RecordInfo:
    """A stored record, without its ``affected`` list."""

    id: str
    aliases: tuple[str, ...]
    upstream: tuple[str, ...]
    related: tuple[str, ...]
    summary: str | None
    rating: Rating
    url: str | None


class VulnIndex(Protocol):
    """The vulnerability records, as matching reads them."""

    def candidates(self, queries: Iterable[Query]) -> dict[Query, list[tuple[str, Affected]]]:
        """Per lookup, the ``affected`` entries (with their record id) that may apply."""
        ...

    def records(self, ids: Iterable[str]) -> dict[str, RecordInfo]:
        """The records ``ids``, without their ``affected`` lists."""
        ...

    def descriptions(self, ids: Iterable[str]) -> dict[str, Description]:
        """The full text, dates, CWEs and references of the records ``ids``."""
        ...


class FeedStore(Protocol):
    """Where imports go: each feed's records replaced as a whole, atomically."""

    def replace(
        self,
        feed: FeedSource,
        records: Iterable[tuple[Record, bytes]],
        *,
        skipped: Callable[[], int] = ...,
    ) -> int:
        """Store ``records`` (each with its raw JSON) as the whole state of ``feed``."""
        ...

    def feed(self, name: str) -> FeedInfo | None:
        """The feed as its last import stored it."""
        ...

    def touch_feed(self, name: str) -> None:
        """Record that ``name`` was checked and found unchanged."""
        ...
