"""The cataloger contract.

A cataloger declares cheaply which files it wants (exact paths, base names, suffixes,
executables) and parses one file at a time into :class:`FileResult`. The layer walker reads
each layer once and hands every cataloger only the files it asked for; catalogers never see
the source type or the tar stream. Results are pure data, so they are cached per layer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hullcheck.model import PackageType


@dataclass(slots=True)
class RawPackage:
    """A package as read from one file, before the distro and layer are known."""

    name: str
    version: str
    type: PackageType
    source_name: str | None = None
    source_version: str | None = None
    arch: str | None = None
    licenses: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    namespace: str | None = None
    """purl namespace for language packages (npm scope, Maven groupId, Go module prefix)."""
    spdx: str | None = None
    """``licenses`` as one valid SPDX expression, where they can be said so."""
    requires: list[str] = field(default_factory=list)
    """What the package declares it depends on, by name (``a|b`` for dpkg alternatives);
    resolved to the image's packages when the SBOM is assembled."""
    application: bool = False
    """The image's own application (a project's ``package.json``, a Go binary's main
    module) rather than a dependency installed for it."""

    def to_json(self) -> dict[str, Any]:
        optional = (
            ("s", self.source_name),
            ("sv", self.source_version),
            ("a", self.arch),
            ("ns", self.namespace),
            ("x", self.spdx),
        )
        data: dict[str, Any] = {k: v for k, v in optional if v is not None}
        data.update(n=self.name, v=self.version, t=self.type.value)
        if self.licenses:
            data["l"] = self.licenses
        if self.metadata:
            data["m"] = self.metadata
        if self.requires:
            data["r"] = self.requires
        if self.application:
            data["app"] = True
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RawPackage:
        return cls(
            name=data["n"],
            version=data["v"],
            type=PackageType(data["t"]),
            source_name=data.get("s"),
            source_version=data.get("sv"),
            arch=data.get("a"),
            licenses=list(data.get("l", ())),
            metadata=dict(data.get("m", {})),
            namespace=data.get("ns"),
            spdx=data.get("x"),
            requires=list(data.get("r", ())),
            application=bool(data.get("app")),
        )


@dataclass(slots=True)
class FileResult:
    """What one cataloger read from one file of one layer."""

    cataloger: str
    packages: list[RawPackage] = field(default_factory=list)
    owned: list[str] = field(default_factory=list)
    """Paths the OS package manager owns (only those other catalogers care about)."""
    warnings: list[str] = field(default_factory=list)
    data: dict[str, str] = field(default_factory=dict)
    """Free-form facts (os-release fields)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"c": self.cataloger}
        if self.packages:
            out["p"] = [p.to_json() for p in self.packages]
        if self.owned:
            out["o"] = self.owned
        if self.warnings:
            out["w"] = self.warnings
        if self.data:
            out["d"] = self.data
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileResult:
        return cls(
            cataloger=data["c"],
            packages=[RawPackage.from_json(p) for p in data.get("p", ())],
            owned=list(data.get("o", ())),
            warnings=list(data.get("w", ())),
            data=dict(data.get("d", {})),
        )


@dataclass(frozen=True, slots=True)
class ParseContext:
    """What a parser may ask of the scan around it."""

    interesting: Callable[[str], bool]
    """True for paths some cataloger wants; OS catalogers keep only those as owned files."""


class ParseError(Exception):
    """A file a cataloger wanted is malformed; recorded as a warning, the scan goes on."""


class Cataloger(ABC):
    """Base of every cataloger; subclasses fill the class variables and :meth:`parse`."""

    name: ClassVar[str]
    """Stable kebab-case name (``dpkg-db``)."""
    version: ClassVar[str]
    """Bump when output changes: cached layer results are keyed by it."""
    exact_paths: ClassVar[frozenset[str]] = frozenset()
    basenames: ClassVar[frozenset[str]] = frozenset()
    suffixes: ClassVar[tuple[str, ...]] = ()
    prefixes: ClassVar[tuple[str, ...]] = ()
    executables: ClassVar[bool] = False
    """Wants regular files with an execute bit (binary catalogers)."""
    artifact: ClassVar[bool] = False
    """The file it reads is the package itself (an archive, a binary): its digest is the
    package's."""
    owns_files: ClassVar[bool] = False
    """Its packages own files; language packages inside them are not reported twice."""
    max_bytes: ClassVar[int] = 64 * 1024 * 1024
    """Files larger than this are recorded as a warning and skipped."""

    def selects(self, path: str) -> bool:
        """Refine a coarse match (by name or suffix) with the whole path."""
        return True

    @abstractmethod
    def parse(self, path: str, data: bytes, ctx: ParseContext) -> FileResult:
        """Read one file; raise :class:`ParseError` for a malformed one."""
