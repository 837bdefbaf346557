"""The explicit list of catalogers and the fast file selector built from it."""

from __future__ import annotations

import hashlib

from hullcheck.sbom.catalogers.apk import ApkCataloger
from hullcheck.sbom.catalogers.debcopyright import DebCopyrightCataloger
from hullcheck.sbom.catalogers.dpkg import DpkgCataloger
from hullcheck.sbom.catalogers.golang import GoBinaryCataloger
from hullcheck.sbom.catalogers.interface import Cataloger
from hullcheck.sbom.catalogers.java import JavaArchiveCataloger
from hullcheck.sbom.catalogers.npm import NpmCataloger
from hullcheck.sbom.catalogers.osrelease import OsReleaseCataloger
from hullcheck.sbom.catalogers.python import PythonCataloger
from hullcheck.sbom.catalogers.rpm import RpmCataloger

CATALOGERS: tuple[type[Cataloger], ...] = (
    OsReleaseCataloger,
    DpkgCataloger,
    DebCopyrightCataloger,
    ApkCataloger,
    RpmCataloger,
    PythonCataloger,
    NpmCataloger,
    GoBinaryCataloger,
    JavaArchiveCataloger,
)
"""Every cataloger; a test fails when one exists but is not listed."""

WALKER_VERSION = "2"
"""Bump when the layer walker's output changes."""


class Selector:
    """Answers "which cataloger wants this file?" in a few dictionary look-ups."""

    def __init__(self, catalogers: tuple[Cataloger, ...]) -> None:
        self.catalogers = catalogers
        self._exact: dict[str, Cataloger] = {}
        self._names: dict[str, list[Cataloger]] = {}
        self._suffixes: list[tuple[str, Cataloger]] = []
        self._prefixes: list[tuple[str, Cataloger]] = []
        self._executables = [c for c in catalogers if c.executables]
        for cataloger in catalogers:
            for path in cataloger.exact_paths:
                self._exact[path] = cataloger
            for base in cataloger.basenames:
                self._names.setdefault(base, []).append(cataloger)
            self._suffixes.extend((s, cataloger) for s in cataloger.suffixes)
            self._prefixes.extend((p, cataloger) for p in cataloger.prefixes)
        self._suffix_tuple = tuple(s for s, _ in self._suffixes)
        self._prefix_tuple = tuple(p for p, _ in self._prefixes)
        self.key = scanner_key(catalogers)

    def select(self, path: str, mode: int = 0) -> Cataloger | None:
        """The cataloger for a regular file at ``path`` (absolute), or ``None``."""
        cataloger = self._exact.get(path)
        if cataloger is not None:
            return cataloger
        base = path[path.rfind("/") + 1 :]
        for candidate in self._names.get(base, ()):
            if candidate.selects(path):
                return candidate
        if base.endswith(self._suffix_tuple):
            for suffix, candidate in self._suffixes:
                if base.endswith(suffix) and candidate.selects(path):
                    return candidate
        if path.startswith(self._prefix_tuple):
            for prefix, candidate in self._prefixes:
                if path.startswith(prefix) and candidate.selects(path):
                    return candidate
        if mode & 0o111 and self._executables:
            return self._executables[0]
        return None

    def interesting(self, path: str) -> bool:
        """Whether a language cataloger would read this path (for ownership lists)."""
        cataloger = self.select(path)
        return cataloger is not None and not cataloger.owns_files and cataloger.name != "os-release"


def scanner_key(catalogers: tuple[Cataloger, ...]) -> str:
    """Cache key part: walker version and every cataloger's name and version."""
    names = ",".join(sorted(f"{c.name}@{c.version}" for c in catalogers))
    return hashlib.sha256(f"walker@{WALKER_VERSION};{names}".encode()).hexdigest()[:16]


def default_selector() -> Selector:
    """A selector over every registered cataloger."""
    return Selector(tuple(cls() for cls in CATALOGERS))
