"""Tables. Every change goes with an Alembic migration in ``migrations/versions``."""

from __future__ import annotations

import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hullcheck.store.schema import SCHEMA_REVISION

__all__ = ["SCHEMA_REVISION", "Base", "ImageLayerRow", "ImageRow", "LayerScanRow", "PackageRow"]


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
