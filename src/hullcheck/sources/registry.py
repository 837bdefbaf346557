"""The explicit list of image sources and how a reference picks one.

A reference is ``SCHEME:REF`` (``docker-archive:app.tar``, ``registry:HOST/REPO:TAG``) or
a bare string: an existing path is recognised by its content (directory, OCI layout,
docker-archive, SBOM document); anything else is an image name in the engine.
"""

from __future__ import annotations

import os
import tarfile
from dataclasses import dataclass

from hullcheck.errors import SourceError
from hullcheck.sources.archive import DockerArchiveSource
from hullcheck.sources.daemon import DaemonSource
from hullcheck.sources.interface import ImageSource, TreeSource
from hullcheck.sources.oci import OciArchiveSource, OciDirSource
from hullcheck.sources.remote import RegistrySource
from hullcheck.sources.rootfs import DirSource

SOURCES: tuple[type[ImageSource] | type[TreeSource], ...] = (
    DaemonSource,
    DockerArchiveSource,
    OciDirSource,
    OciArchiveSource,
    RegistrySource,
    DirSource,
)
"""Every source plugin; a test fails when one exists but is not listed."""

_ALIASES = {"oci": "oci-dir", "docker-daemon": "docker", "engine": "docker"}
SBOM_SCHEME = "sbom"


@dataclass(frozen=True, slots=True)
class SbomFile:
    """A reference to an SBOM document used where an image would be."""

    path: str


def open_source(
    reference: str, *, platform: str | None = None
) -> ImageSource | TreeSource | SbomFile:
    """Pick the source for ``reference`` (see the module docstring); ``platform``
    (``os/arch[/variant]``) picks an image from a registry's manifest list."""
    scheme, sep, rest = reference.partition(":")
    scheme = _ALIASES.get(scheme, scheme)
    by_name = {cls.name: cls for cls in SOURCES}
    if sep and scheme == SBOM_SCHEME:
        return SbomFile(rest)
    if sep and scheme in by_name and not os.path.exists(reference):
        if not rest:
            raise SourceError(f"{reference}: missing the part after {scheme}:")
        if scheme == RegistrySource.name:
            return RegistrySource(rest, platform=platform)
        return by_name[scheme](rest)
    if os.path.exists(reference):
        return _detect(reference)
    if reference.startswith(("/", "./", "../")):
        raise SourceError(f"{reference}: no such file or directory")
    return DaemonSource(reference)


def _detect(path: str) -> ImageSource | TreeSource | SbomFile:
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "oci-layout")) and os.path.isfile(
            os.path.join(path, "index.json")
        ):
            return OciDirSource(path)
        return DirSource(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read ({exc.strerror})") from None
    syntax = sbom_syntax(head)
    if syntax in ("json", "tag-value") or (
        syntax == "xml" and b"cyclonedx.org/schema/bom" in head  # an XML file of any other kind
    ):
        return SbomFile(path)
    if len(head) >= 512 and head[257:262] == b"ustar":
        return _tar_kind(path)
    raise SourceError(
        f"{path}: neither a tar archive, an OCI layout nor an SBOM document (CycloneDX JSON or "
        "XML, SPDX JSON or tag-value, Syft or hullcheck JSON)",
        hint="name the kind explicitly, e.g. docker-archive:PATH",
    )


def sbom_syntax(head: bytes) -> str | None:
    """What an SBOM file's first bytes say it is written in: ``json`` (hullcheck, CycloneDX,
    SPDX, Syft), ``xml`` (CycloneDX), ``tag-value`` (SPDX); ``None`` for none of them."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] == b"{":
        return "json"
    if text[:1] == b"<":
        return "xml"
    if text.startswith((b"SPDXVersion:", b"##")) and b"SPDXVersion:" in text:
        return "tag-value"
    return None


def _tar_kind(path: str) -> ImageSource:
    try:
        with tarfile.open(path, mode="r:") as archive:
            names = {n.lstrip("./") for n in archive.getnames()}
    except (tarfile.TarError, OSError) as exc:
        raise SourceError(f"{path}: not a readable tar archive ({exc})") from None
    if "manifest.json" in names:
        return DockerArchiveSource(path)
    if "index.json" in names:
        return OciArchiveSource(path)
    raise SourceError(f"{path}: a tar archive, but neither docker-archive nor OCI layout")
