"""Whether a version falls in an OSV ``affected`` entry, and which version fixes it.

The evaluation is OSV's own: events sorted by version (``introduced: "0"`` first); an
``introduced`` at or below the version opens an affected interval, a ``fixed`` at or below
it closes one, a ``last_affected`` below it closes one; ``limit`` events bound the range from
above. A version listed in ``versions`` is affected whatever the ranges say.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from hullcheck.vulndb import versions
from hullcheck.vulndb.osv import Affected, Range

_ORDER = {"introduced": 0, "last_affected": 1, "fixed": 2, "limit": 3}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The version is affected; ``fixed`` is the version that ends it, if any."""

    fixed: str | None


def evaluate(affected: Affected, version: str) -> Verdict | None:
    """A :class:`Verdict` when ``version`` is affected, else ``None``.

    Raises :class:`versions.InvalidVersion` when the version cannot be read in the scheme.
    """
    installed = versions.parse(affected.scheme, version)
    verdicts = [
        verdict
        for item in affected.ranges
        if (verdict := _in_range(affected.scheme, item, installed)) is not None
    ]
    if verdicts:
        return Verdict(highest_fix(affected.scheme, (v.fixed for v in verdicts)))
    return Verdict(fixed=None) if version in affected.versions else None


def highest_fix(scheme: str, fixes: Iterable[str | None]) -> str | None:
    """The fix that ends every one of several affected verdicts: ``None`` if any has none."""
    best: str | None = None
    for fix in fixes:
        if fix is None:
            return None
        if best is None or versions.compare(scheme, fix, best) > 0:
            best = fix
    return best


def _in_range(scheme: str, item: Range, installed: versions.Comparable) -> Verdict | None:
    events = _sorted(scheme, item)
    limits = [versions.parse(scheme, v) for kind, v in events if kind == "limit" and v != "*"]
    if limits and not any(installed < limit for limit in limits):
        return None
    affected = False
    for index, (kind, value) in enumerate(events):
        if kind == "introduced":
            if value == "0" or not installed < versions.parse(scheme, value):
                affected = True
        elif kind == "fixed":
            if not installed < versions.parse(scheme, value):
                affected = False
            elif affected:
                return Verdict(fixed=value)
        elif kind == "last_affected":
            if versions.parse(scheme, value) < installed:
                affected = False
            elif affected:
                return Verdict(fixed=_next_fix(events, index))
    return Verdict(fixed=None) if affected else None


def _next_fix(events: tuple[tuple[str, str], ...], index: int) -> str | None:
    # A last_affected with a later fixed: the fix follows; with a later introduced: unfixed.
    for kind, value in events[index + 1 :]:
        if kind == "fixed":
            return value
        if kind == "introduced":
            return None
    return None


@functools.lru_cache(maxsize=100_000)
def _sorted_cached(scheme: str, events: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    def order(a: tuple[str, str], b: tuple[str, str]) -> int:
        if a[1] != b[1]:
            if a[1] == "0" or b[1] == "0":
                return -1 if a[1] == "0" else 1
            by_version = versions.compare(scheme, a[1], b[1])
            if by_version:
                return by_version
        return _ORDER[a[0]] - _ORDER[b[0]]

    return tuple(sorted(events, key=functools.cmp_to_key(order)))


def _sorted(scheme: str, item: Range) -> tuple[tuple[str, str], ...]:
    return _sorted_cached(scheme, item.events)


def fixed_at_or_below(affected: Affected, version: str) -> bool:
    """Whether any ``fixed`` version of the entry is at or below ``version``."""
    installed = versions.parse(affected.scheme, version)
    return any(
        not installed < versions.parse(affected.scheme, value)
        for item in affected.ranges
        for kind, value in item.events
        if kind == "fixed"
    )
