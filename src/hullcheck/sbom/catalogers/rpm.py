"""RPM packages from the rpmdb (SQLite, Berkeley DB or NDB)."""

from __future__ import annotations

import struct

from hullcheck.model import PackageType
from hullcheck.sbom.catalogers import rpmheader as h
from hullcheck.sbom.catalogers.interface import (
    Cataloger,
    FileResult,
    ParseContext,
    ParseError,
    RawPackage,
)
from hullcheck.sbom.catalogers.rpmdb import header_blobs

_DIRS = ("/var/lib/rpm/", "/usr/lib/sysimage/rpm/", "/usr/share/rpm/")
_FILES = ("rpmdb.sqlite", "Packages", "Packages.db")


class RpmCataloger(Cataloger):
    """Reads every header in the rpmdb; file lists give ownership."""

    name = "rpm-db"
    version = "1"
    exact_paths = frozenset(d + f for d in _DIRS for f in _FILES)
    owns_files = True
    max_bytes = 1024 * 1024 * 1024

    def parse(self, path: str, data: bytes, ctx: ParseContext) -> FileResult:
        result = FileResult(self.name)
        number = 0
        try:
            for number, blob in enumerate(header_blobs(data)):  # noqa: B007 - said below
                try:
                    tags = h.parse_header(blob)
                except (ParseError, struct.error) as exc:
                    result.warnings.append(f"header {number}: {exc}")
                    continue
                package = _package(tags)
                if package is None:
                    continue
                result.packages.append(package)
                result.owned.extend(p for p in h.file_paths(tags) if ctx.interesting(p))
        except struct.error as exc:  # a page shorter than its own entries say: keep what was read
            result.warnings.append(f"damaged database after header {number} ({exc})")
        return result


def _text(tags: dict[int, h.Value], tag: int) -> str | None:
    value = tags.get(tag)
    return value if isinstance(value, str) and value else None


def _package(tags: dict[int, h.Value]) -> RawPackage | None:
    name, version, release = _text(tags, h.NAME), _text(tags, h.VERSION), _text(tags, h.RELEASE)
    if name is None or version is None or name == "gpg-pubkey":
        return None
    epoch_value = tags.get(h.EPOCH)
    epoch = epoch_value[0] if isinstance(epoch_value, list) and epoch_value else None
    full = f"{version}-{release}" if release else version
    if epoch is not None:
        full = f"{epoch}:{full}"
    source_rpm = _text(tags, h.SOURCERPM)
    metadata = {"sourceRpm": source_rpm} if source_rpm else {}
    if epoch is not None:
        metadata["epoch"] = str(epoch)
    vendor = _text(tags, h.VENDOR)
    if vendor:
        metadata["vendor"] = vendor
    modularity = _text(tags, h.MODULARITYLABEL)
    if modularity:
        metadata["modularityLabel"] = modularity
    license_text = _text(tags, h.LICENSE)
    return RawPackage(
        name=name,
        version=full,
        type=PackageType.RPM,
        source_name=_source_name(source_rpm) or name,
        arch=_text(tags, h.ARCH),
        licenses=[license_text] if license_text else [],
        metadata=metadata,
    )


def _source_name(source_rpm: str | None) -> str | None:
    """``glibc-2.35-3.cm2.src.rpm`` → ``glibc`` (name is everything before version-release)."""
    if not source_rpm:
        return None
    stem = source_rpm.removesuffix(".rpm")
    stem = stem.rsplit(".", 1)[0] if stem.endswith((".src", ".nosrc")) else stem
    parts = stem.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else None
