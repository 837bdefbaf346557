"""OSV ecosystems: which version rules they use, how their names and releases are keyed.

A record's ``affected`` entry is indexed under ``(ecosystem key, package key)``; a package
in an SBOM is looked up under the same pair, so both sides go through this module:

- the ecosystem key drops what does not change the package set: ``Ubuntu:22.04:LTS`` and
  ``Ubuntu:22.04`` are one key (an image's os-release does not say LTS). ``Ubuntu:Pro:18.04:LTS``
  is keyed ``Ubuntu:18.04`` too: once a release is in extended support, Canonical publishes its
  records only there, and the image's packages are affected all the same (the finding keeps
  the Pro ecosystem, so its fixed version reads as one that needs a subscription).
- distro records name the *source* package (``glibc``, not ``libc6``) for Debian, Ubuntu and
  Alpine; the RPM distros publish binary package names.
- PyPI names are compared PEP 503-normalised; Maven as ``groupId:artifactId``; Go by module
  path, the toolchain as ``stdlib``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hullcheck.model import Package, PackageType


@dataclass(frozen=True, slots=True)
class Ecosystem:
    """One OSV ecosystem family (the part of the ecosystem string before the first ``:``)."""

    name: str
    """OSV's name (``Debian``, ``PyPI``)."""
    scheme: str
    """Version scheme in :mod:`hullcheck.vulndb.versions`."""
    by_source: bool = False
    """Records name source packages (Debian, Ubuntu, Alpine)."""
    language: bool = False
    """A language registry, not a distro release."""


ECOSYSTEMS: tuple[Ecosystem, ...] = (
    Ecosystem("Debian", "deb", by_source=True),
    Ecosystem("Ubuntu", "deb", by_source=True),
    Ecosystem("Alpine", "apk", by_source=True),
    Ecosystem("Wolfi", "apk", by_source=True),
    Ecosystem("Chainguard", "apk", by_source=True),
    Ecosystem("AlmaLinux", "rpm"),
    Ecosystem("Rocky Linux", "rpm"),
    Ecosystem("Red Hat", "rpm"),
    Ecosystem("Mariner", "rpm"),
    Ecosystem("Azure Linux", "rpm"),
    Ecosystem("openSUSE", "rpm"),
    Ecosystem("SUSE", "rpm"),
    Ecosystem("PyPI", "pep440", language=True),
    Ecosystem("npm", "semver", language=True),
    Ecosystem("Go", "semver", language=True),
    Ecosystem("Maven", "maven", language=True),
)
_BY_NAME = {ecosystem.name: ecosystem for ecosystem in ECOSYSTEMS}
_LANGUAGE = {
    PackageType.PYTHON: "PyPI",
    PackageType.NPM: "npm",
    PackageType.GO: "Go",
    PackageType.JAVA: "Maven",
}
_PEP503 = re.compile(r"[-_.]+")


def family(ecosystem: str) -> Ecosystem | None:
    """The family of an ecosystem string (``Ubuntu:22.04:LTS`` → Ubuntu), if supported."""
    return _BY_NAME.get(ecosystem.split(":", 1)[0])


def ecosystem_key(ecosystem: str) -> str:
    """``Ubuntu:22.04:LTS`` and ``Ubuntu:Pro:22.04:LTS`` → ``Ubuntu:22.04``; others unchanged."""
    return ecosystem.removesuffix(":LTS").replace("Ubuntu:Pro:", "Ubuntu:", 1)


def package_key(ecosystem: str, name: str) -> str:
    """The name as the index keys it in ``ecosystem``."""
    if ecosystem == "PyPI":
        return _PEP503.sub("-", name).lower()
    return name


def ecosystem_of(distro: str | None, package_type: str) -> str | None:
    """The OSV ecosystem (feed name) a package of this type and distro is matched in."""
    for kind, name in _LANGUAGE.items():
        if kind.value == package_type:
            return name
    known = family(distro) if distro else None
    return known.name if known is not None else None


@dataclass(frozen=True, slots=True)
class Query:
    """What to look up in the index for one package."""

    ecosystem: str
    """Ecosystem key (``Debian:12``, ``PyPI``)."""
    name: str
    """Package key in that ecosystem."""
    version: str
    """Version to compare against the records' ranges."""
    scheme: str
    """Version scheme."""


def query_for(package: Package) -> Query | None:
    """The index lookup for a package; ``None`` when no supported ecosystem covers it."""
    if package.type in _LANGUAGE:
        name = _LANGUAGE[package.type]
        found = _language_name(package)
        if found is None:
            return None
        key, version = found
        return Query(name, package_key(name, key), version, _BY_NAME[name].scheme)
    if not package.distro:
        return None
    distro = family(package.distro)
    if distro is None:
        return None
    if distro.by_source:
        name = package.source_name or package.name
        version = package.source_version or package.version
    else:
        name, version = package.name, package.version
    return Query(ecosystem_key(package.distro), name, version, distro.scheme)


def _language_name(package: Package) -> tuple[str, str] | None:
    if package.type is PackageType.GO:
        if package.name == "stdlib":
            return "stdlib", package.version.removeprefix("go")
        return package.name, package.version.removeprefix("v")
    if package.type is PackageType.JAVA:
        group = package.metadata.get("groupId") or _purl_namespace(package.purl)
        if not group:
            return None
        return f"{group}:{package.name}", package.version
    return package.name, package.version


def _purl_namespace(purl: str) -> str | None:
    """``pkg:maven/org.example/lib@1`` → ``org.example``."""
    body = purl.split("@", 1)[0].split("?", 1)[0]
    parts = body.split("/")
    return parts[1] if len(parts) >= 3 else None
