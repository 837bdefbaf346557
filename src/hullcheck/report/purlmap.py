"""purl type ↔ package type, for SBOM documents read back."""

from __future__ import annotations

from hullcheck.model import Location, Package, PackageType

_BY_PURL = {
    "deb": PackageType.DEB,
    "apk": PackageType.APK,
    "rpm": PackageType.RPM,
    "pypi": PackageType.PYTHON,
    "npm": PackageType.NPM,
    "golang": PackageType.GO,
    "maven": PackageType.JAVA,
}


def package_from_fields(
    name: object,
    version: object,
    purl: object,
    fields: dict[str, str],
    *,
    found_by: str,
    licenses: tuple[str, ...] = (),
) -> Package | None:
    """A package read back from an SBOM document; ``fields`` holds hullcheck's own
    annotations (``path``, ``layer``, ``introduced-by``, ``source-name`` …) when present.
    ``None`` for entries without a name, a version or a purl of a known type."""
    kind = package_type_for_purl(purl) if isinstance(purl, str) else None
    if kind is None or not name or version is None:
        return None
    return Package(
        name=str(name),
        version=str(version),
        type=kind,
        purl=str(purl),
        found_by=fields.get("found-by") or found_by,
        location=Location(fields.get("path", ""), fields.get("layer")),
        introduced_by=fields.get("introduced-by"),
        source_name=fields.get("source-name"),
        source_version=fields.get("source-version"),
        distro=fields.get("distro"),
        arch=fields.get("arch"),
        licenses=licenses,
    )


def package_type_for_purl(purl: str) -> PackageType | None:
    """The package type of a ``pkg:TYPE/…`` string, ``None`` for types hullcheck lacks."""
    if not purl.startswith("pkg:"):
        return None
    return _BY_PURL.get(purl[4:].split("/", 1)[0].lower())
