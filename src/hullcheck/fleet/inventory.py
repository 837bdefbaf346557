"""What the fleet's work needs of a store, owned here (as ``vulndb.index`` and
``sbom.scan.LayerCache`` are owned by theirs): the store implements these Protocols, and
``fleet/`` never imports it — tests can hand it a fake."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from hullcheck.model import (
    Action,
    Host,
    Placement,
    Sample,
    Seen,
    StoredFinding,
    StoredPackage,
    Usage,
    VersionKey,
)


class UsageLookup(Protocol):
    """Every sampled container's use over a window."""

    def get(self, key: tuple[str, str]) -> Usage | None:
        """The use of ``(host, container ID)``; ``None`` without samples in the window."""
        ...


class HostBook(Protocol):
    """The hosts."""

    def named(self, names: Sequence[str] = ()) -> list[Host]: ...

    def record_failure(self, name: str, error: str) -> None: ...


class ActionLog(Protocol):
    """What hullcheck did to engines."""

    def record(self, actions: Sequence[Action]) -> None: ...


class Inventory(Protocol):
    """What the hosts' last syncs found; a sync's resource samples are saved with it."""

    def save_inventory(
        self, name: str, seen: dict[str, list[Seen]], samples: Sequence[Sample] = ()
    ) -> int: ...

    def objects(
        self, kind: str, *, host: str | None = None, present: bool = True, full: bool = False
    ) -> list[tuple[str, Seen, datetime.datetime | None]]: ...

    def each(
        self, kind: str, *, host: str | None = None, present: bool = True, full: bool = False
    ) -> Iterator[tuple[str, Seen, datetime.datetime | None]]: ...

    def placements(self, image_ids: Iterable[str]) -> list[Placement]: ...


class SampleLog(Protocol):
    """The resource samples the syncs took."""

    def usage(self, since: datetime.datetime) -> UsageLookup: ...


class Catalog(Protocol):
    """The stored images: their packages, layers and tags."""

    def packages_named(self, name: str) -> list[StoredPackage]: ...

    def version_spread(
        self, name: str
    ) -> tuple[dict[VersionKey, int], list[tuple[VersionKey, str, int]]]: ...

    def layers(self) -> dict[str, list[str]]: ...

    def introduced(
        self, image_ids: Sequence[str], packages: Sequence[str]
    ) -> list[tuple[str, str, str | None]]: ...

    def tags(self, image_ids: Iterable[str]) -> dict[str, list[str]]: ...


class FindingIndex(Protocol):
    """The stored findings."""

    def about(self, vuln_id: str) -> list[StoredFinding]: ...


class FleetStore(Protocol):
    """A store as the fleet's work sees it."""

    @property
    def fleet(self) -> Inventory: ...

    @property
    def samples(self) -> SampleLog: ...

    @property
    def hosts(self) -> HostBook: ...

    @property
    def actions(self) -> ActionLog: ...

    @property
    def images(self) -> Catalog: ...

    @property
    def findings(self) -> FindingIndex: ...

    def has_image(self, image_id: str, scanner_key: str) -> bool: ...
