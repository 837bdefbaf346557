"""Packages and the bill of materials that lists them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from hullcheck.model.image import Distro, ImageInfo


class PackageType(StrEnum):
    """The kind of package manager a package comes from (the purl type where one exists)."""

    DEB = "deb"
    APK = "apk"
    RPM = "rpm"
    PYTHON = "python"
    NPM = "npm"
    GO = "go-module"
    JAVA = "java-archive"


@dataclass(frozen=True, slots=True)
class Location:
    """Where in the image a package was found."""

    path: str
    """Absolute path inside the image (``/var/lib/dpkg/status``)."""
    layer: str | None = None
    """diffID of the layer the file at ``path`` came from; ``None`` for a rootfs directory."""
    digest: str | None = None
    """``sha256:…`` of the file, when the file is the package itself (a Java archive, a Go
    binary's main module)."""


@dataclass(frozen=True, slots=True)
class Package:
    """One installed package."""

    name: str
    """Name as the package manager knows it (``libc6``, ``PyYAML``, ``@babel/core``)."""
    version: str
    """Version exactly as recorded (``2.36-9+deb12u4``, ``1:1.2.13.dfsg-1``, ``6.0.1``)."""
    type: PackageType
    """Package manager family."""
    purl: str
    """Package URL (``pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12``)."""
    found_by: str
    """Name of the cataloger that reported it."""
    location: Location
    """The file that records the package (database, metadata file, binary)."""
    introduced_by: str | None = None
    """diffID of the layer that added this package at this version."""
    source_name: str | None = None
    """Source package (dpkg ``Source:``, apk origin, rpm source rpm name); advisories use it."""
    source_version: str | None = None
    """Version of the source package when it differs from ``version``."""
    distro: str | None = None
    """OSV ecosystem of the distro release for OS packages (``Debian:12``)."""
    arch: str | None = None
    """CPU architecture of the package, when recorded."""
    licenses: tuple[str, ...] = ()
    """Licences as declared by the package metadata."""
    license_expression: str | None = None
    """The declared licences as one valid SPDX expression (``MIT``, ``GPL-2.0-or-later AND
    BSD-3-Clause``), when they can be said so; ``licenses`` keeps the words."""
    metadata: dict[str, str] = field(default_factory=dict)
    """A few extra fields under the source file's own names (``Maintainer``, ``Epoch`` …)."""
    application: bool = False
    """The image's own application (a project's ``package.json``, a Go binary's main
    module), not a dependency installed for it."""

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Identity inside one image: type, name, version, location path."""
        return (self.type.value, self.name, self.version, self.location.path)


@dataclass(frozen=True, slots=True)
class ScanWarning:
    """A problem that did not stop the scan: one unreadable file inside a good image."""

    message: str
    """What went wrong, starting with the file."""
    path: str | None = None
    """Path inside the image."""
    layer: str | None = None
    """diffID of the layer holding the file."""
    cataloger: str | None = None
    """Cataloger that hit the problem."""


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What was scanned, as the user named it."""

    kind: str
    """Source plugin name (``docker``, ``docker-archive``, ``oci-dir``, ``dir`` …)."""
    reference: str
    """The reference the user gave, without the scheme."""


@dataclass(frozen=True, slots=True)
class Sbom:
    """The bill of materials of one image or directory."""

    source: SourceInfo
    """What was scanned."""
    packages: tuple[Package, ...]
    """Packages, sorted by type, name, version and location."""
    image: ImageInfo | None = None
    """The image, when the source was one."""
    distro: Distro | None = None
    """The distribution detected, if any."""
    warnings: tuple[ScanWarning, ...] = ()
    """Problems recorded while the scan went on."""
    tool: str = "hullcheck"
    """Tool name and version that produced it."""
    created: str | None = None
    """Time the SBOM was produced, RFC 3339."""
    serial: str | None = None
    """For an SBOM read from a file: that document's serial number or SPDX namespace."""
    dependencies: tuple[tuple[int, int], ...] = ()
    """Dependency edges ``(dependent, dependency)`` between ``packages`` by index: what each
    package declares it needs (npm ``dependencies``, Python ``Requires-Dist``, dpkg
    ``Depends``, a Go binary's modules), resolved to the packages of this image."""
