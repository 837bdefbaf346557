"""The SBOM pipeline: source → per-layer scans (cached) → squash → packages."""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from typing import Protocol

from hullcheck import __version__
from hullcheck.model import (
    ImageInfo,
    LayerInfo,
    Location,
    Package,
    PackageType,
    Sbom,
    ScanWarning,
    SourceInfo,
)
from hullcheck.sbom.catalogers.interface import FileResult, RawPackage
from hullcheck.sbom.catalogers.registry import CATALOGERS, Selector, default_selector
from hullcheck.sbom.distro import detect
from hullcheck.sbom.graph import resolve
from hullcheck.sbom.layerscan import LayerScan
from hullcheck.sbom.purls import purl_for
from hullcheck.sbom.squash import View, squash
from hullcheck.sbom.tarstream import Entry, TarStream
from hullcheck.sbom.walker import Limits, walk_directory, walk_layer
from hullcheck.sources.interface import ImageSource, TreeSource

OS_TYPES = frozenset({PackageType.DEB, PackageType.APK, PackageType.RPM})
_OWNERS = frozenset(c.name for c in CATALOGERS if c.owns_files)


class LayerCache(Protocol):
    """Where per-layer results are kept between scans (the store implements it)."""

    def get_layer(self, diff_id: str, scanner_key: str) -> bytes | None:
        """A cached :class:`LayerScan` payload, or ``None``."""

    def put_layer(self, diff_id: str, scanner_key: str, payload: bytes) -> None:
        """Keep a payload."""


class LayerExtra(Protocol):
    """A second reader of the layers a scan reads, in the same pass: what it keeps of each
    layer is cached under its own ``key`` (the review's file rules, say)."""

    key: str

    def reader(self, layer: LayerInfo, what: str) -> Callable[[TarStream, Entry], None]:
        """What sees each entry of ``layer`` after the catalogers (whose files are read
        already: it reads nothing of them)."""

    def payload(self, layer: LayerInfo) -> bytes:
        """What it kept of ``layer``, once read."""


class Progress(Protocol):
    """Told about layers as they are read; the CLI draws a bar from it."""

    def layer_started(self, layer: LayerInfo, total: int) -> None: ...

    def layer_advanced(self, done_bytes: int) -> None: ...

    def layer_finished(self, layer: LayerInfo, cached: bool) -> None: ...


def scan_image(
    source: ImageSource,
    *,
    cache: LayerCache | None = None,
    selector: Selector | None = None,
    limits: Limits | None = None,
    progress: Progress | None = None,
    extra: LayerExtra | None = None,
) -> Sbom:
    """Catalog a layered image, reading only layers the cache does not hold (``extra``
    reads along)."""
    selector = selector or default_selector()
    limits = limits or Limits()
    info = source.image()
    scans: list[LayerScan] = []
    for layer in info.layers:
        payload = cache.get_layer(layer.diff_id, selector.key) if cache is not None else None
        if payload is not None:
            scans.append(LayerScan.from_bytes(payload))
            if progress is not None:
                progress.layer_finished(layer, cached=True)
            continue
        if progress is not None:
            progress.layer_started(layer, len(info.layers))
        scans.append(_read_layer(source, layer, selector, limits, progress, extra))
        if cache is not None:
            cache.put_layer(layer.diff_id, selector.key, scans[-1].to_bytes())
        if extra is not None:
            kept = extra.payload(layer)
            if cache is not None:
                cache.put_layer(layer.diff_id, extra.key, kept)
        if progress is not None:
            progress.layer_finished(layer, cached=False)
    return assemble(SourceInfo(source.name, source.reference), scans, info)


def _read_layer(
    source: ImageSource,
    layer: LayerInfo,
    selector: Selector,
    limits: Limits,
    progress: Progress | None,
    extra: LayerExtra | None = None,
) -> LayerScan:
    what = f"{source.reference}: layer {layer.index} ({layer.diff_id[:19]})"
    advance: Callable[[int], None] | None = progress.layer_advanced if progress else None
    with source.open_layer(layer) as raw:
        return walk_layer(
            raw,
            what,
            selector,
            diff_id=layer.diff_id,
            compressed_size=layer.size,
            limits=limits,
            progress=advance,
            also=None if extra is None else extra.reader(layer, what),
        )


def scan_tree(source: TreeSource, *, selector: Selector | None = None) -> Sbom:
    """Catalog an unpacked root filesystem."""
    selector = selector or default_selector()
    scan = walk_directory(source.root, selector, source.reference)
    return assemble(SourceInfo(source.name, source.reference), [scan], None)


def assemble(source: SourceInfo, scans: list[LayerScan], image: ImageInfo | None) -> Sbom:
    """Squash layer scans into the final SBOM."""
    view = squash(scans)
    distro = detect(view)
    ecosystem = distro.ecosystem if distro is not None else None
    owned = _owned_paths(view)
    copyrights = _deb_copyrights(view)

    def layer_id(index: int) -> str | None:
        return image.layers[index].diff_id if image is not None else None

    packages: list[tuple[Package, list[str]]] = []
    for path, squashed in view.files.items():
        index, result = squashed.top
        for raw in result.packages:
            if raw.type not in OS_TYPES and _is_owned(path, owned):
                continue
            licenses, expression = tuple(raw.licenses), raw.spdx
            if raw.type is PackageType.DEB and not licenses:
                licenses, expression = copyrights.get(raw.name) or copyrights.get(
                    f"source:{raw.source_name}", ((), None)
                )
            package = Package(
                name=raw.name,
                version=raw.version,
                type=raw.type,
                purl=purl_for(raw, distro),
                found_by=result.cataloger,
                location=Location(path, layer_id(index), _digest(result, raw)),
                introduced_by=layer_id(squashed.introduced(raw)),
                source_name=raw.source_name,
                source_version=raw.source_version,
                distro=ecosystem if raw.type in OS_TYPES else None,
                arch=raw.arch,
                licenses=licenses,
                license_expression=expression,
                metadata=raw.metadata,
                application=raw.application,
            )
            packages.append((package, raw.requires))
    packages = _applications_with_dependencies(packages)
    packages.sort(
        key=lambda item: (
            item[0].type.value,
            item[0].name.lower(),
            item[0].version,
            item[0].location.path,
        )
    )
    ordered = tuple(package for package, _ in packages)
    warnings = tuple(
        ScanWarning(message=message, path=path, layer=layer_id(index))
        for index, path, message in view.warnings
    )
    return Sbom(
        source=source,
        packages=ordered,
        dependencies=resolve(ordered, [requires for _, requires in packages]),
        image=image,
        distro=distro,
        warnings=warnings,
        tool=f"hullcheck {__version__}",
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    )


def _owned_paths(view: View) -> set[str]:
    owned: set[str] = set()
    for squashed in view.files.values():
        result = squashed.top[1]
        if result.cataloger in _OWNERS:
            owned.update(result.owned)
    return owned


def _digest(result: FileResult, raw: RawPackage) -> str | None:
    """The file's digest, for the package the file is: the one artifact of an archive, the
    main module of a Go binary."""
    sha256 = result.data.get("sha256")
    if sha256 is None:
        return None
    if raw.type is PackageType.GO and not raw.application:
        return None
    if raw.type is PackageType.JAVA and len(result.packages) != 1:
        return None
    return f"sha256:{sha256}"


def _applications_with_dependencies(
    packages: list[tuple[Package, list[str]]],
) -> list[tuple[Package, list[str]]]:
    """A ``package.json`` outside ``node_modules`` is kept as the application only when
    packages are installed for it (in its ``node_modules``): otherwise it is a file of some
    other kind (a tool's own manifest, a test fixture)."""
    installed = [p.location.path for p, _ in packages if p.type is PackageType.NPM]
    kept = []
    for package, requires in packages:
        if package.type is PackageType.NPM and package.application:
            below = os.path.dirname(package.location.path) + "/node_modules/"
            if not any(path.startswith(below) for path in installed):
                continue
        kept.append((package, requires))
    return kept


def _deb_copyrights(view: View) -> dict[str, tuple[tuple[str, ...], str | None]]:
    """Debian package name (and ``source:NAME``) → the licences its copyright file
    names, and their SPDX expression."""
    found: dict[str, tuple[tuple[str, ...], str | None]] = {}
    for squashed in view.files.values():
        result = squashed.top[1]
        if result.cataloger == "deb-copyright" and "package" in result.data:
            names = tuple(result.data.get("licenses", "").splitlines())
            found[result.data["package"]] = (names, result.data.get("spdx"))
    if not found:
        return found
    # a doc directory that is a link to another package's: the same source package
    for squashed in view.files.values():
        for raw in squashed.top[1].packages:
            if raw.type is PackageType.DEB and raw.name in found and raw.source_name:
                found.setdefault(f"source:{raw.source_name}", found[raw.name])
    return found


def _is_owned(path: str, owned: set[str]) -> bool:
    return path in owned or os.path.dirname(path) in owned
