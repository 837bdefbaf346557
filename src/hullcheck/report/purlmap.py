"""purl type ↔ package type, for SBOM documents read back."""

from __future__ import annotations

import re

from packageurl import PackageURL

from hullcheck.model import Distro, ImageInfo, Location, Package, PackageType, ScanWarning
from hullcheck.sbom.scan import OS_TYPES

_BY_PURL = {
    "deb": PackageType.DEB,
    "apk": PackageType.APK,
    "rpm": PackageType.RPM,
    "pypi": PackageType.PYTHON,
    "npm": PackageType.NPM,
    "golang": PackageType.GO,
    "maven": PackageType.JAVA,
}


ANNOTATIONS = (
    "found-by",
    "path",
    "layer",
    "introduced-by",
    "source-name",
    "source-version",
    "distro",
)
"""hullcheck's own annotations of a package in the documents it writes (CycloneDX properties,
SPDX comments): what its purl does not say. The readers give them back as ``fields``."""


def annotation_values(package: Package) -> tuple[str | None, ...]:
    """The values of :data:`ANNOTATIONS` for ``package``, in that order."""
    return (
        package.found_by,
        package.location.path,
        package.location.layer,
        package.introduced_by,
        package.source_name,
        package.source_version,
        package.distro,
    )


_DISTRO_QUALIFIER = re.compile(r"^(?P<id>[a-z0-9._-]+?)-(?P<version>[0-9][0-9A-Za-z._-]*)$")


def package_from_fields(
    name: object,
    version: object,
    purl: object,
    fields: dict[str, str],
    *,
    found_by: str,
    licenses: tuple[str, ...] = (),
    license_expression: str | None = None,
    distro: Distro | None = None,
) -> Package | None:
    """A package read back from an SBOM document; ``fields`` holds hullcheck's own
    annotations (``path``, ``layer``, ``introduced-by``, ``source-name`` …) when present.

    Where they are absent — a file of another tool — the purl says what matching needs, as
    Grype and Trivy read it: the identity (an npm scope, a Go module path), and for distro
    packages the release (``distro=debian-12``, else ``distro``, the document's operating
    system), the source package (``upstream=glibc@2.36-9``) and the architecture (``arch=``).
    ``None`` for entries without a name, a version or a purl of a known type."""
    kind = package_type_for_purl(purl) if isinstance(purl, str) else None
    if kind is None or not name or version is None:
        return None
    parsed = _parse(str(purl))
    qualifiers = parsed.qualifiers if parsed is not None else {}
    assert isinstance(qualifiers, dict)
    source_name, source_version = fields.get("source-name"), fields.get("source-version")
    package_distro = fields.get("distro")
    if kind in OS_TYPES and parsed is not None and parsed.version:
        # the purl's version is the package manager's (Trivy's SPDX gives rpm packages
        # without their release as versionInfo); an rpm epoch is its own qualifier
        version = parsed.version
        epoch = qualifiers.get("epoch") if kind is PackageType.RPM else None
        if epoch and str(epoch).isdigit() and str(epoch) != "0":
            version = f"{epoch}:{version}"
    if kind in OS_TYPES and parsed is not None:
        upstream = str(qualifiers.get("upstream") or "")
        if source_name is None and upstream and kind is not PackageType.RPM:
            source_name, _, upstream_version = upstream.partition("@")
            source_version = source_version or upstream_version or None
        if package_distro is None:
            release = _release(str(qualifiers.get("distro") or "")) or distro
            package_distro = release.ecosystem if release is not None else None
    return Package(
        name=_identity(str(name), kind, parsed),
        version=str(version),
        type=kind,
        purl=str(purl),
        found_by=fields.get("found-by") or found_by,
        location=Location(fields.get("path", ""), fields.get("layer")),
        introduced_by=fields.get("introduced-by"),
        source_name=source_name,
        source_version=source_version,
        distro=package_distro,
        arch=fields.get("arch") or (str(qualifiers["arch"]) if "arch" in qualifiers else None),
        licenses=licenses,
        license_expression=license_expression,
    )


def _parse(purl: str) -> PackageURL | None:
    try:
        return PackageURL.from_string(purl)
    except ValueError:
        return None


def _identity(name: str, kind: PackageType, purl: PackageURL | None) -> str:
    """The name hullcheck's catalogers give: an npm package with its scope, a Go package by
    its module path — from the purl, not a document's free-text name."""
    if purl is None or not purl.namespace:
        return name
    if kind in (PackageType.NPM, PackageType.GO):
        return f"{purl.namespace}/{purl.name}"
    return name


def _release(qualifier: str) -> Distro | None:
    """``debian-12``, ``alpine-3.18.0``, ``opensuse-leap-15.5`` → the distro release."""
    match = _DISTRO_QUALIFIER.match(qualifier)
    if match is None:
        return None
    return Distro(match.group("id"), match.group("version"))


def release_named(purls: list[object]) -> Distro | None:
    """The release the first distro-package purl names (``distro=debian-12``): an SBOM's
    operating system when it has no entry of its own for it (Syft's SPDX)."""
    for purl in purls:
        if isinstance(purl, str) and "distro=" in purl:
            parsed = _parse(purl)
            if parsed is not None and isinstance(parsed.qualifiers, dict):
                found = _release(str(parsed.qualifiers.get("distro") or ""))
                if found is not None:
                    return found
    return None


def image_named(version: object, purl: object) -> ImageInfo | None:
    """The image an SBOM document describes, by the digest it names for it (a component
    ``version`` or a ``pkg:oci`` purl's version): what a VEX statement names it by."""
    digest = version if isinstance(version, str) and version.startswith("sha256:") else None
    if digest is None and isinstance(purl, str) and purl.startswith("pkg:oci/"):
        parsed = _parse(purl)
        if parsed is not None and (parsed.version or "").startswith("sha256:"):
            digest = parsed.version
    if digest is None:
        return None
    return ImageInfo(id=digest, layers=())


def distro_of(name: object, version: object) -> Distro | None:
    """The release an SBOM's operating-system entry names (``debian`` ``12``)."""
    if not isinstance(name, str) or not name:
        return None
    return Distro(name.lower(), str(version) if isinstance(version, str | int) else None)


def package_type_for_purl(purl: str) -> PackageType | None:
    """The package type of a ``pkg:TYPE/…`` string, ``None`` for types hullcheck lacks."""
    if not purl.startswith("pkg:"):
        return None
    return _BY_PURL.get(purl[4:].split("/", 1)[0].lower())


def left_out(names: list[str], what: str) -> ScanWarning | None:
    """The warning an SBOM reader gives for the entries it could not use."""
    if not names:
        return None
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return ScanWarning(
        f"{what}: {len(names)} entries without a purl of a type hullcheck matches were left "
        f"out: {shown}"
    )
