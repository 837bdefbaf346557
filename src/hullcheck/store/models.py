"""Tables. Every change goes with an Alembic migration in ``migrations/versions``."""

from __future__ import annotations

import datetime
from typing import overload

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hullcheck.store.schema import SCHEMA_REVISION

__all__ = [
    "SCHEMA_REVISION",
    "ActionRow",
    "AuditCheckpointRow",
    "AuditHeadRow",
    "AuditStateRow",
    "AuditRecordRow",
    "Base",
    "FindingRow",
    "HostRow",
    "ImageLayerRow",
    "ImageRow",
    "InventoryDocumentRow",
    "InventoryRow",
    "LayerScanRow",
    "PackageRow",
    "SampleRow",
    "VulnAffectedRow",
    "VulnAliasRow",
    "VulnFeedRow",
    "VulnRecordRow",
]


@overload
def as_utc(value: datetime.datetime) -> datetime.datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime.datetime | None) -> datetime.datetime | None:
    """A stored time as an aware UTC datetime: SQLite hands ``DateTime(timezone=True)``
    values back naive (they were stored in UTC)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=datetime.UTC)
    return value


BYTE_ORDERED_TEXT = String(1024).with_variant(String(1024, collation="C"), "postgresql")
"""Text compared byte by byte: PostgreSQL's default collation follows the locale."""


class Base(DeclarativeBase):
    pass


class LayerScanRow(Base):
    """Cached per-layer catalog results, keyed by diffID and scanner key."""

    __tablename__ = "layer_scans"
    diff_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    scanner_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))


class ImageRow(Base):
    """One image by config digest, with its latest SBOM document."""

    __tablename__ = "images"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    repo_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    repo_digests: Mapped[list[str]] = mapped_column(JSON, default=list)
    os: Mapped[str | None] = mapped_column(String(32))
    architecture: Mapped[str | None] = mapped_column(String(32))
    created: Mapped[str | None] = mapped_column(String(64))
    distro: Mapped[str | None] = mapped_column(String(64))
    scanner_key: Mapped[str] = mapped_column(String(32))
    scanned_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    sbom: Mapped[bytes] = mapped_column(LargeBinary)
    """zlib-compressed hullcheck JSON SBOM document."""


class ImageLayerRow(Base):
    __tablename__ = "image_layers"
    image_id: Mapped[str] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    diff_id: Mapped[str] = mapped_column(String(80), index=True)
    digest: Mapped[str | None] = mapped_column(String(80))
    size: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[str | None] = mapped_column(Text)


class PackageRow(Base):
    """One package in one image; the fleet queries (who has bash < x) read this table."""

    __tablename__ = "packages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32))
    purl: Mapped[str] = mapped_column(Text)
    source_name: Mapped[str | None] = mapped_column(String(255))
    distro: Mapped[str | None] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    layer: Mapped[str | None] = mapped_column(String(80))
    introduced_by: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (
        Index("ix_packages_image", "image_id"),
        Index("ix_packages_name", "name", "type"),
        Index("ix_packages_source", "source_name", "distro"),
    )


class VulnRecordRow(Base):
    """One OSV record: what matching and reports need, and the record itself (zlib JSON)."""

    __tablename__ = "vuln_records"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    source: Mapped[str] = mapped_column(String(255), index=True)
    modified: Mapped[str | None] = mapped_column(String(40))
    published: Mapped[str | None] = mapped_column(String(40))
    summary: Mapped[str | None] = mapped_column(Text)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    upstream: Mapped[list[str]] = mapped_column(JSON, default=list)
    related: Mapped[list[str]] = mapped_column(JSON, default=list)
    severity: Mapped[str] = mapped_column(String(16))
    own_severity: Mapped[str | None] = mapped_column(String(16))
    cvss_score: Mapped[float | None] = mapped_column(Float)
    cvss_vector: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    imported_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    document: Mapped[bytes] = mapped_column(LargeBinary)


class VulnAffectedRow(Base):
    """One ``affected`` entry of a record, indexed by ecosystem key and package key."""

    __tablename__ = "vuln_affected"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(
        ForeignKey("vuln_records.id", ondelete="CASCADE"), index=True
    )
    ecosystem: Mapped[str] = mapped_column(String(64))
    eco_key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    scheme: Mapped[str] = mapped_column(String(16))
    fixed_key: Mapped[str] = mapped_column(BYTE_ORDERED_TEXT)
    """Sortable text of the fix for "from 0, fixed in X" entries (``versions.text_key``),
    ``~`` for entries that are always evaluated."""
    data: Mapped[dict[str, object]] = mapped_column(JSON)
    """``{"r": [[[kind, version], …], …], "v": [versions], "s": severity}``"""

    __table_args__ = (Index("ix_vuln_affected_key", "eco_key", "name", "fixed_key"),)


class VulnAliasRow(Base):
    """One alias (or upstream id) of a record: how ``affected CVE-…`` finds a GHSA or DSA."""

    __tablename__ = "vuln_aliases"
    record_id: Mapped[str] = mapped_column(
        ForeignKey("vuln_records.id", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(128), primary_key=True)

    __table_args__ = (Index("ix_vuln_aliases_alias", "alias"),)


class VulnFeedRow(Base):
    """One feed or imported file: where it came from and what it held."""

    __tablename__ = "vuln_feeds"
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    url: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    records: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))


class FindingRow(Base):
    """A finding of a stored image, as of the last match; rewritten on every rematch."""

    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"))
    vuln_id: Mapped[str] = mapped_column(String(128))
    advisories: Mapped[list[str]] = mapped_column(JSON, default=list)
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    fixed_version: Mapped[str | None] = mapped_column(String(255))
    ecosystem: Mapped[str] = mapped_column(String(64))
    package_name: Mapped[str] = mapped_column(String(255))
    package_version: Mapped[str] = mapped_column(String(255))
    package_type: Mapped[str] = mapped_column(String(32))
    purl: Mapped[str] = mapped_column(Text)
    matched_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_findings_image", "image_id"),
        Index("ix_findings_vuln", "vuln_id"),
    )


class HostRow(Base):
    """A Docker Engine of the fleet."""

    __tablename__ = "hosts"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    tls_ca: Mapped[str | None] = mapped_column(Text)
    tls_cert: Mapped[str | None] = mapped_column(Text)
    tls_key: Mapped[str | None] = mapped_column(Text)
    timeout: Mapped[float] = mapped_column(Float)
    added_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    synced_at: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)


class InventoryRow(Base):
    """One object (container, image, volume, network) seen on a host.

    Objects that vanish are marked ``gone_at``, never deleted: history outlives them.
    The engine's own inspect document is in ``inventory_documents``; reports read ``summary``.
    """

    __tablename__ = "inventory"
    host: Mapped[str] = mapped_column(
        ForeignKey("hosts.name", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    """``container``, ``image``, ``volume`` or ``network``."""
    object_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    image_id: Mapped[str | None] = mapped_column(String(80), index=True)
    """The image a container runs; the image's own ID for images."""
    state: Mapped[str | None] = mapped_column(String(32))
    first_seen: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    gone_at: Mapped[datetime.datetime | None] = mapped_column(DateTime(timezone=True))
    summary: Mapped[str | None] = mapped_column(Text)
    """The fields reports read (JSON, a projection of the inspect document); ``None`` on rows
    stored before revision 0004."""

    __table_args__ = (Index("ix_inventory_kind", "kind", "gone_at"),)


class InventoryDocumentRow(Base):
    """The engine's inspect document of an inventory object (zlib JSON), as last seen.

    Same key as its ``inventory`` row; deleted with it by the repository (no foreign key,
    see migration 0004)."""

    __tablename__ = "inventory_documents"
    host: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    object_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class SampleRow(Base):
    """One-shot resource counters of a running container, as one sync read them.

    Counters are cumulative (CPU time, bytes moved), so two samples give usage over the time
    between them.
    """

    __tablename__ = "samples"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    host: Mapped[str] = mapped_column(ForeignKey("hosts.name", ondelete="CASCADE"))
    container_id: Mapped[str] = mapped_column(String(255))
    taken_at: Mapped[float] = mapped_column(Float)
    """Seconds since the epoch, UTC (no text parsing when 100,000s are read)."""
    cpu_ns: Mapped[int | None] = mapped_column(BigInteger)
    memory_bytes: Mapped[int | None] = mapped_column(BigInteger)
    memory_limit: Mapped[int | None] = mapped_column(BigInteger)
    net_rx: Mapped[int | None] = mapped_column(BigInteger)
    net_tx: Mapped[int | None] = mapped_column(BigInteger)
    block_read: Mapped[int | None] = mapped_column(BigInteger)
    block_write: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_samples_container", "host", "container_id", "taken_at"),)


class ActionRow(Base):
    """Something hullcheck did to an engine (``prune --apply``), with who, why and how it went."""

    __tablename__ = "actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(255))
    command: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    """``removed``, ``refused`` (the engine or a re-check said no) or ``failed``."""
    detail: Mapped[str | None] = mapped_column(Text)
    reclaim_bytes: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_actions_at", "at"),)


def _bytewise(length: int) -> String:
    """An indexed text column compared byte by byte (PostgreSQL's ``"C"`` collation; SQLite's
    default): identifiers and RFC 3339 times sort right so, and a locale's collation makes
    each index insert several times dearer (the audit log's ingest rate halves)."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class AuditRecordRow(Base):
    """One record of a host's audit log (``audit.records.Record``); ``leaf`` is the Merkle
    leaf hash of its canonical JSON, written with it."""

    __tablename__ = "audit_records"
    host: Mapped[str] = mapped_column(_bytewise(128), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    time: Mapped[str] = mapped_column(_bytewise(40))
    kind: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(_bytewise(255))
    name: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(Text)
    context: Mapped[str] = mapped_column(Text)
    """The record's context as canonical JSON text (what its leaf hashed)."""
    reconstructed: Mapped[bool] = mapped_column(Boolean)
    leaf: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        Index("ix_audit_records_time", "host", "time"),
        Index("ix_audit_records_object", "host", "object_id"),
    )


class AuditCheckpointRow(Base):
    """A signed checkpoint of a host's log (a C2SP signed note)."""

    __tablename__ = "audit_checkpoints"
    host: Mapped[str] = mapped_column(String(128), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(Text)


class AuditHeadRow(Base):
    """Where a host's log stands: its size and the frontier of its tree (the perfect
    subtrees' roots, 32 bytes each, largest first), written with the records."""

    __tablename__ = "audit_heads"
    host: Mapped[str] = mapped_column(String(128), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    frontier: Mapped[bytes] = mapped_column(LargeBinary)
    cursor: Mapped[int | None] = mapped_column(BigInteger)
    """``timeNano`` of the last engine event recorded: a collector resumes after it."""
    kept_from: Mapped[int | None] = mapped_column(BigInteger)
    """Where the log starts once retention removed its oldest records (``None``: at 0)."""
    kept_frontier: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The frontier of the tree of the records removed (``audit.verify.Anchor``)."""
    kept_note: Mapped[str | None] = mapped_column(Text)
    """The signed checkpoint of the records removed."""


class AuditStateRow(Base):
    """What a host held when its collector last reconciled: the log's size then, the moment
    and the listing (JSON), the baseline the next reconciliation compares against."""

    __tablename__ = "audit_states"
    host: Mapped[str] = mapped_column(String(128), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    taken: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(Text)
