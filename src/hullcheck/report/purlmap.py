"""purl type ↔ package type, for SBOM documents read back."""

from __future__ import annotations

from hullcheck.model import PackageType

_BY_PURL = {
    "deb": PackageType.DEB,
    "apk": PackageType.APK,
    "rpm": PackageType.RPM,
    "pypi": PackageType.PYTHON,
    "npm": PackageType.NPM,
    "golang": PackageType.GO,
    "maven": PackageType.JAVA,
}


def package_type_for_purl(purl: str) -> PackageType | None:
    """The package type of a ``pkg:TYPE/…`` string, ``None`` for types hullcheck lacks."""
    if not purl.startswith("pkg:"):
        return None
    return _BY_PURL.get(purl[4:].split("/", 1)[0].lower())
