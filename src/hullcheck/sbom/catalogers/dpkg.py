"""Debian packages: ``/var/lib/dpkg/status``, distroless ``status.d/``, and owned-file lists."""

from __future__ import annotations

import re

from hullcheck.model import PackageType
from hullcheck.sbom.catalogers.deb822 import iter_stanzas
from hullcheck.sbom.catalogers.interface import (
    Cataloger,
    FileResult,
    ParseContext,
    ParseError,
    RawPackage,
)

STATUS = "/var/lib/dpkg/status"
STATUS_D = "/var/lib/dpkg/status.d/"
INFO = "/var/lib/dpkg/info/"
_SOURCE = re.compile(r"^(?P<name>\S+)(?:\s+\((?P<version>[^)]+)\))?$")
# dpkg's "want flag status" triple: packages whose files are on disk
_PRESENT = {"installed", "half-configured", "unpacked", "triggers-awaited", "triggers-pending"}


class DpkgCataloger(Cataloger):
    """Reads dpkg's database; its ``.list`` and ``.md5sums`` files tell which files it owns."""

    name = "dpkg-db"
    version = "2"
    exact_paths = frozenset({STATUS})
    prefixes = (STATUS_D, INFO)
    owns_files = True

    def selects(self, path: str) -> bool:
        if path.startswith(INFO):
            return path.endswith((".list", ".md5sums")) and "/" not in path[len(INFO) :]
        if path.startswith(STATUS_D):
            return "/" not in path[len(STATUS_D) :]
        return path == STATUS

    def parse(self, path: str, data: bytes, ctx: ParseContext) -> FileResult:
        result = FileResult(self.name)
        text = data.decode("utf-8", errors="replace")
        if path.endswith(".list"):
            result.owned = [p for p in text.splitlines() if p and ctx.interesting(p)]
            return result
        if path.endswith(".md5sums"):
            owned = (
                "/" + line.split(None, 1)[1].lstrip("/")
                for line in text.splitlines()
                if len(line.split(None, 1)) == 2
            )
            result.owned = [p for p in owned if ctx.interesting(p)]
            return result
        for stanza in iter_stanzas(text):
            package = _package(stanza)
            if package is not None:
                result.packages.append(package)
        if not result.packages and path == STATUS and text.strip():
            raise ParseError("no package stanza could be read")
        return result


def _package(stanza: dict[str, str]) -> RawPackage | None:
    name = stanza.get("Package")
    version = stanza.get("Version")
    if not name or not version:
        return None
    status = stanza.get("Status")
    if status is not None and status.split()[-1:] and status.split()[-1] not in _PRESENT:
        return None
    source_name, source_version = name, None
    source = stanza.get("Source")
    if source:
        match = _SOURCE.match(source.strip())
        if match:
            source_name = match.group("name")
            source_version = match.group("version")
    metadata: dict[str, str] = {
        key: stanza[key]
        for key in ("Maintainer", "Installed-Size", "Priority", "Section", "Provides")
        if key in stanza
    }
    return RawPackage(
        name=name,
        version=version,
        type=PackageType.DEB,
        source_name=source_name,
        source_version=source_version if source_version != version else None,
        arch=stanza.get("Architecture"),
        metadata=metadata,
        requires=_relations(stanza.get("Pre-Depends"), stanza.get("Depends")),
    )


def _relations(*fields: str | None) -> list[str]:
    """``Depends``/``Pre-Depends`` as names: ``libc6 (>= 2.34), a | b`` → ``libc6``, ``a|b``
    (architecture qualifiers and versions dropped)."""
    groups: list[str] = []
    for field_text in fields:
        for group in (field_text or "").split(","):
            names = [
                alternative.split("(")[0].split("[")[0].strip().split(":")[0]
                for alternative in group.split("|")
            ]
            joined = "|".join(name for name in names if name)
            if joined and joined not in groups:
                groups.append(joined)
    return groups
