"""The one data model of hullcheck: frozen dataclasses, no I/O."""

from hullcheck.model.fleet import Action, Host, HostStatus, HostSync, Sample
from hullcheck.model.image import Distro, ImageInfo, LayerInfo
from hullcheck.model.sbom import Location, Package, PackageType, Sbom, ScanWarning, SourceInfo
from hullcheck.model.vuln import (
    DbSnapshot,
    Description,
    Finding,
    FixStatus,
    ScanReport,
    Severity,
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
    "Sample",
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
    "Suppressed",
]
