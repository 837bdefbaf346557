"""Bills of materials: of an image, a directory or an SBOM file; the store they are kept in."""

from __future__ import annotations

from collections.abc import Callable

from hullcheck.model import Sbom
from hullcheck.paths import default_db_url
from hullcheck.report import read_sbom
from hullcheck.sbom.catalogers.registry import default_selector
from hullcheck.sbom.scan import LayerExtra, Progress, scan_image, scan_tree
from hullcheck.sbom.walker import Limits
from hullcheck.sources import SbomFile, TreeSource, open_source
from hullcheck.sources.interface import ImageSource
from hullcheck.store import Store


def open_store(url: str | None = None) -> Store:
    """The store at ``url``, ``HULLCHECK_DB`` or the embedded SQLite file; migrated on open."""
    return Store(url or default_db_url())


def generate_sbom(
    reference: str,
    *,
    store: Store | None = None,
    use_cache: bool = True,
    limits: Limits | None = None,
    progress: Progress | None = None,
    platform: str | None = None,
) -> Sbom:
    """The SBOM of an image, a directory or an SBOM file (see ``sources.open_source``;
    ``platform`` picks from a registry's manifest list).

    Layers are read only when ``store`` holds no result for their diffID; an image's SBOM
    is kept in the store under its image ID.
    """
    source = open_source(reference, platform=platform)
    if isinstance(source, SbomFile):
        return read_sbom(source.path)
    if isinstance(source, TreeSource):
        return scan_tree(source, selector=default_selector())
    return sbom_of_image(source, store=store, use_cache=use_cache, limits=limits, progress=progress)


def sbom_of_image(
    source: ImageSource,
    *,
    store: Store | None = None,
    use_cache: bool = True,
    limits: Limits | None = None,
    progress: Progress | None = None,
    while_open: Callable[[ImageSource, Sbom], None] | None = None,
    extra: LayerExtra | None = None,
) -> Sbom:
    """The SBOM of an opened image source; kept in ``store`` under its image ID.
    ``while_open`` is called with the source and the SBOM before the source is closed (to
    read more of its layers without opening it again); ``extra`` reads along with the scan."""
    selector = default_selector()
    with source:
        sbom = scan_image(
            source,
            cache=store if use_cache else None,
            selector=selector,
            limits=limits or Limits(),
            progress=progress,
            extra=extra,
        )
        if while_open is not None:
            while_open(source, sbom)
    if (
        store is not None
        and sbom.image is not None
        and not store.has_image(sbom.image.id, selector.key)
    ):
        store.save_sbom(sbom, selector.key)
    return sbom
