"""The one data model of hullcheck: frozen dataclasses, no I/O."""

from hullcheck.model.fleet import (
    Action,
    Host,
    HostStatus,
    HostSync,
    Placement,
    Sample,
    Seen,
    StoredPackage,
    Usage,
    VersionKey,
)
from hullcheck.model.image import Distro, ImageInfo, LayerInfo
from hullcheck.model.sbom import Location, Package, PackageType, Sbom, ScanWarning, SourceInfo
from hullcheck.model.vuln import (
    DbSnapshot,
    Description,
    Finding,
    FixStatus,
    ScanReport,
    Severity,
    StoredFinding,
    Suppressed,
)

__all__ = [
    "Action",
    "DbSnapshot",
    "Distro",
    "Description",
    "Finding",
    "FixStatus",
    "Host",
    "HostStatus",
    "HostSync",
    "Placement",
    "Sample",
    "Seen",
    "Usage",
    "ImageInfo",
    "LayerInfo",
    "Location",
    "Package",
    "PackageType",
    "Sbom",
    "ScanReport",
    "ScanWarning",
    "Severity",
    "SourceInfo",
    "StoredFinding",
    "StoredPackage",
    "VersionKey",
    "Suppressed",
]
