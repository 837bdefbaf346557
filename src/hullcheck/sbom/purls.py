"""Package URLs per package type (packageurl-python does the encoding)."""

from __future__ import annotations

import re

from packageurl import PackageURL

from hullcheck.model import Distro, PackageType
from hullcheck.sbom.catalogers.interface import RawPackage

_PEP503 = re.compile(r"[-_.]+")


def pypi_name(name: str) -> str:
    """A Python distribution's name as PEP 503 normalises it (``PyYAML`` → ``pyyaml``,
    ``zope.interface`` → ``zope-interface``)."""
    return _PEP503.sub("-", name).lower()


def purl_for(package: RawPackage, distro: Distro | None) -> str:
    """The purl of a package found in an image of ``distro``."""
    qualifiers: dict[str, str] = {}
    namespace: str | None = package.namespace
    name = package.name
    version = package.version
    kind = package.type
    if kind in (PackageType.DEB, PackageType.APK, PackageType.RPM):
        purl_type = kind.value
        namespace = distro.id if distro is not None else None
        if package.arch:
            qualifiers["arch"] = package.arch
        if kind is PackageType.RPM:
            epoch, sep, rest = version.partition(":")
            if sep and epoch.isdigit():
                qualifiers["epoch"] = epoch
                version = rest
            if package.metadata.get("sourceRpm"):
                qualifiers["upstream"] = package.metadata["sourceRpm"]
        elif package.source_name and package.source_name != package.name:
            upstream = package.source_name
            if package.source_version:
                upstream += f"@{package.source_version}"
            qualifiers["upstream"] = upstream
        if distro is not None and distro.version_id:
            qualifiers["distro"] = f"{distro.id}-{distro.version_id}"
    elif kind is PackageType.PYTHON:
        purl_type = "pypi"
        name = pypi_name(name)
    elif kind is PackageType.NPM:
        purl_type = "npm"
        name = package.metadata.get("short_name", name.rpartition("/")[2])
    elif kind is PackageType.GO:
        purl_type = "golang"
        namespace, _, name = name.rpartition("/")
        namespace = namespace or None
    else:
        purl_type = "maven"
    return PackageURL(
        type=purl_type,
        namespace=namespace,
        name=name,
        version=version,
        qualifiers=qualifiers or None,
    ).to_string()
