"""Reading OSV records (schema 1.x) into what the index keeps.

Only what matching and reporting need is kept; the record itself is stored whole beside it.
``GIT`` ranges are dropped (an image holds versions, not commits). An ``affected`` entry in an
ecosystem hullcheck does not support, or whose versions the ecosystem's rules cannot read, is
dropped and counted; a record left with nothing to match is skipped with a reason.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from hullcheck.model import Description, Severity
from hullcheck.times import parse_time
from hullcheck.vulndb import versions
from hullcheck.vulndb.ecosystems import ecosystem_key, family, package_key
from hullcheck.vulndb.severity import Rating, entry_rating, record_rating

EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{1,127}$")


class RecordError(ValueError):
    """A record that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class Range:
    """One ``ECOSYSTEM`` or ``SEMVER`` range: its events in the record's order."""

    events: tuple[tuple[str, str], ...]
    """``(kind, version)`` with kind one of introduced, fixed, last_affected, limit."""


@dataclass(frozen=True, slots=True)
class Affected:
    """One ``affected`` entry, keyed for the index."""

    ecosystem: str
    """Ecosystem as the record writes it (``Ubuntu:14.04:LTS``)."""
    key: str
    """Ecosystem key (``Ubuntu:14.04``)."""
    name: str
    """Package key (PEP 503 for PyPI)."""
    scheme: str
    """Version scheme of the ecosystem."""
    ranges: tuple[Range, ...]
    """Version ranges."""
    versions: tuple[str, ...]
    """Explicitly listed affected versions."""
    rating: Severity | None = None
    """Severity the entry itself gives (Ubuntu priority, Debian urgency)."""
    fixed_key: str | None = None
    """:func:`versions.text_key` of the fix, when the entry is just "from 0, fixed in X" and
    the only one of its record for its package: the index then skips it, inside the
    database, for versions at or past the fix."""


@dataclass(frozen=True, slots=True)
class Record:
    """An OSV record as the index keeps it."""

    id: str
    modified: str | None
    published: str | None
    aliases: tuple[str, ...]
    upstream: tuple[str, ...]
    related: tuple[str, ...]
    summary: str | None
    rating: Rating
    """Severity from the record's CVSS vectors or its database's own rating."""
    url: str | None
    affected: tuple[Affected, ...]
    dropped: int = 0
    """``affected`` entries left out (unsupported ecosystem, unreadable versions)."""


def parse_record(document: Any) -> Record:
    """Read one OSV record; :class:`RecordError` when it is malformed or withdrawn."""
    try:
        return _parse_record(document)
    except RecordError:
        raise
    except (TypeError, AttributeError, KeyError, IndexError, ValueError) as exc:
        # a field of another type or shape than the schema's, anywhere in the record
        record_id = document.get("id") if isinstance(document, dict) else None
        raise RecordError(f"{record_id!r}: malformed ({type(exc).__name__}: {exc})") from None


def _parse_record(document: Any) -> Record:
    if not isinstance(document, dict):
        raise RecordError("not a JSON object")
    record_id = document.get("id")
    if not isinstance(record_id, str) or not _ID.match(record_id):
        raise RecordError(f"invalid id {record_id!r}")
    if document.get("withdrawn"):
        raise RecordError(f"{record_id}: withdrawn on {document['withdrawn']}")
    raw_affected = document.get("affected")
    if not isinstance(raw_affected, list):
        raise RecordError(f"{record_id}: no affected list")
    affected: list[Affected] = []
    reasons: list[str] = []
    for entry in raw_affected:
        try:
            affected.append(_affected(entry))
        except RecordError as exc:
            reasons.append(str(exc))
    if not affected:
        why = reasons[0] if reasons else "empty affected list"
        raise RecordError(f"{record_id}: nothing to match ({why})")
    affected = _keyed(affected)
    return Record(
        id=record_id,
        modified=_text(document.get("modified")),
        published=_text(document.get("published")),
        aliases=_ids(document.get("aliases")),
        upstream=_ids(document.get("upstream")),
        related=_ids(document.get("related")),
        summary=_summary(document),
        rating=record_rating(document),
        url=_url(document.get("references")),
        affected=tuple(affected),
        dropped=len(reasons),
    )


def _affected(entry: Any) -> Affected:
    if not isinstance(entry, dict) or not isinstance(entry.get("package"), dict):
        raise RecordError("affected entry without a package")
    package = entry["package"]
    ecosystem, name = package.get("ecosystem"), package.get("name")
    if not isinstance(ecosystem, str) or not isinstance(name, str) or not name:
        raise RecordError("package without ecosystem or name")
    known = family(ecosystem)
    if known is None:
        raise RecordError(f"unsupported ecosystem {ecosystem!r}")
    try:
        ranges = tuple(_ranges(entry.get("ranges"), known.scheme))
        listed = tuple(_versions(entry.get("versions")))
    except versions.InvalidVersion as exc:
        raise RecordError(f"invalid version: {exc}") from None
    if not ranges and not listed:
        raise RecordError(f"{name}: no version range or list")
    return Affected(
        ecosystem=ecosystem,
        key=ecosystem_key(ecosystem),
        name=package_key(known.name, name),
        scheme=known.scheme,
        ranges=ranges,
        versions=listed,
        rating=entry_rating(entry),
    )


def _keyed(affected: list[Affected]) -> list[Affected]:
    seen: dict[tuple[str, str], int] = {}
    for entry in affected:
        seen[(entry.key, entry.name)] = seen.get((entry.key, entry.name), 0) + 1
    result = []
    for entry in affected:
        simple = (
            len(entry.ranges) == 1
            and not entry.versions
            and len(entry.ranges[0].events) == 2
            and entry.ranges[0].events[0] == ("introduced", "0")
            and entry.ranges[0].events[1][0] == "fixed"
            and seen[(entry.key, entry.name)] == 1
        )
        if simple:
            key = versions.text_key(entry.scheme, entry.ranges[0].events[1][1])
            entry = dataclasses.replace(entry, fixed_key=key)
        result.append(entry)
    return result


def _ranges(raw: Any, scheme: str) -> list[Range]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise RecordError("ranges is not a list")
    result = []
    for item in raw:
        if not isinstance(item, dict) or item.get("type") not in ("ECOSYSTEM", "SEMVER"):
            continue  # GIT ranges name commits, not versions
        events = []
        for event in item.get("events") or []:
            if not isinstance(event, dict) or len(event) != 1:
                raise RecordError("malformed event")
            ((kind, value),) = event.items()
            if kind not in EVENT_KINDS or not isinstance(value, str) or not value:
                raise RecordError(f"malformed event {event!r}")
            if not (kind == "introduced" and value == "0"):
                versions.parse(scheme, value)
            events.append((kind, value))
        if not any(kind == "introduced" for kind, _ in events):
            raise RecordError("range without introduced")
        result.append(Range(tuple(events)))
    return result


def _versions(raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise RecordError("versions is not a list of strings")
    return list(raw)


def _ids(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(sorted({item for item in raw if isinstance(item, str) and item}))


def _text(raw: Any) -> str | None:
    return raw if isinstance(raw, str) and raw else None


def _summary(document: dict[str, Any]) -> str | None:
    summary = _text(document.get("summary"))
    if summary is None:
        details = _text(document.get("details"))
        summary = details.strip().splitlines()[0] if details and details.strip() else None
    if summary is not None and len(summary) > 200:
        summary = summary[:197] + "..."
    return summary


def description_of(document: dict[str, Any]) -> Description:
    """The full text, dates, CWEs and reference URLs of one OSV record."""
    specific = document.get("database_specific")
    cwe_ids = specific.get("cwe_ids") if isinstance(specific, dict) else None
    cwes = sorted(
        {
            int(item[4:])
            for item in cwe_ids or ()
            if isinstance(item, str) and item.startswith("CWE-") and item[4:].isdigit()
        }
    )
    references = document.get("references")
    urls = [
        r["url"]
        for r in (references if isinstance(references, list) else ())
        if isinstance(r, dict) and isinstance(r.get("url"), str) and r["url"]
    ]
    first = _url(references)
    ordered = ([first] if first else []) + [u for u in urls if u != first]
    return Description(
        details=_text(document.get("details")) or _text(document.get("summary")),
        published=_timestamp(document.get("published")),
        modified=_timestamp(document.get("modified")),
        cwes=tuple(cwes),
        references=tuple(dict.fromkeys(ordered)),
    )


def _timestamp(raw: Any) -> str | None:
    """An OSV time as RFC 3339 in UTC to the second (``2024-07-07T18:15:00Z``): feeds also
    write ``2024-07-07 18:15:00+00:00`` (PyPA) and nanoseconds (Alpine), which the date-time
    format of CycloneDX and JSON Schema consumers refuse. ``None`` for what is no time."""
    moment = parse_time(raw.strip() if isinstance(raw, str) else raw)
    if moment is None:
        return None
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _url(references: Any) -> str | None:
    if not isinstance(references, list):
        return None
    urls = [r for r in references if isinstance(r, dict) and isinstance(r.get("url"), str)]
    for wanted in ("ADVISORY", "WEB", "REPORT"):
        for reference in urls:
            if reference.get("type") == wanted:
                return str(reference["url"])
    return str(urls[0]["url"]) if urls else None
