"""``hullcheck sbom``: the bill of materials of an image, a directory or an SBOM file."""

from __future__ import annotations

import contextlib
import sys

import typer

from hullcheck import api
from hullcheck.cli.options import (
    DB_OPTION,
    MAX_LAYER_SIZE_OPTION,
    NO_CACHE_OPTION,
    PLATFORM_OPTION,
    QUIET_OPTION,
    emit,
    parse_size,
)
from hullcheck.cli.progress import LayerBar
from hullcheck.report import format_named


def sbom_command(
    image: str = typer.Argument(
        ...,
        help="docker:NAME, registry:HOST/REPO:TAG, docker-archive:PATH, oci-dir:PATH, "
        "oci-archive:PATH, dir:PATH, sbom:PATH, or a bare path or image name.",
    ),
    output_format: str = typer.Option(
        "table", "--format", "-f", help="table, json, cyclonedx-json or spdx-json."
    ),
    output: str | None = typer.Option(None, "--output", "-o", help="Write to this file."),
    db: str | None = DB_OPTION,
    no_cache: bool = NO_CACHE_OPTION,
    no_store: bool = typer.Option(False, "--no-store", help="Neither read nor write the store."),
    max_layer_size: str = MAX_LAYER_SIZE_OPTION,
    quiet: bool = QUIET_OPTION,
    platform: str | None = PLATFORM_OPTION,
) -> None:
    """List every package in an image: name, version, type, source package, layer."""
    fmt = format_named(output_format)  # checked before any layer is read
    limits = api.Limits(max_layer_bytes=parse_size(max_layer_size))
    progress = None
    if not quiet and sys.stderr.isatty():
        progress = LayerBar()
    try:
        with contextlib.nullcontext() if no_store else api.open_store(db) as store:
            sbom = api.generate_sbom(
                image,
                store=store,
                use_cache=not no_cache,
                limits=limits,
                progress=progress,
                platform=platform,
            )
    finally:
        if progress is not None:
            progress.close()
    emit(fmt.render(sbom), output)
