"""The one data model of hullcheck: frozen dataclasses, no I/O."""

from hullcheck.model.image import Distro, ImageInfo, LayerInfo
from hullcheck.model.sbom import Location, Package, PackageType, Sbom, ScanWarning, SourceInfo

__all__ = [
    "Distro",
    "ImageInfo",
    "LayerInfo",
    "Location",
    "Package",
    "PackageType",
    "Sbom",
    "ScanWarning",
    "SourceInfo",
]
