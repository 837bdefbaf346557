"""``hullcheck scan``: known vulnerabilities of an image, a directory or a stored SBOM."""

from __future__ import annotations

import os
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
from hullcheck.cli.tables import print_table
from hullcheck.errors import EXIT_FINDINGS, UsageError
from hullcheck.model import Severity
from hullcheck.report import scan_format_named
from hullcheck.report.text import safe

DEFAULT_IGNORE_FILE = ".hullcheckignore"


def scan_command(
    image: str | None = typer.Argument(
        None,
        help="docker:NAME, docker-archive:PATH, oci-dir:PATH, oci-archive:PATH, dir:PATH, "
        "an SBOM file, or a bare path or image name.",
    ),
    output_format: str = typer.Option(
        "table", "--format", "-f", help="table, json, cyclonedx-json or sarif."
    ),
    output: str | None = typer.Option(None, "--output", "-o", help="Write to this file."),
    fail_on: str | None = typer.Option(
        None,
        "--fail-on",
        help="Exit 1 when a finding at or above this remains: "
        "critical, high, medium, low, negligible, unknown.",
    ),
    ignore_unfixed: bool = typer.Option(
        False, "--ignore-unfixed", help="Leave out findings that have no fixed version."
    ),
    ignore_file: str | None = typer.Option(
        None,
        "--ignore-file",
        help=f"TOML ignore rules (default: ./{DEFAULT_IGNORE_FILE} when it exists).",
    ),
    vex: list[str] = typer.Option([], "--vex", help="OpenVEX document; repeat for several."),
    allow_incomplete: bool = typer.Option(
        False,
        "--allow-incomplete",
        help="Let the gate pass although some packages could not be matched.",
    ),
    stored: bool = typer.Option(
        False, "--stored", help="Rematch every stored SBOM against the current database."
    ),
    db: str | None = DB_OPTION,
    no_cache: bool = NO_CACHE_OPTION,
    max_layer_size: str = MAX_LAYER_SIZE_OPTION,
    quiet: bool = QUIET_OPTION,
    platform: str | None = PLATFORM_OPTION,
) -> None:
    """List the known vulnerabilities of an image; with --fail-on, act as a CI gate."""
    fmt = scan_format_named(output_format)
    threshold = _severity(fail_on)
    if stored:
        if image is not None:
            raise UsageError("--stored rematches every stored SBOM; give no image with it")
        _rematch(db)
        return
    if image is None:
        raise UsageError("missing image", hint="hullcheck scan IMAGE, or --stored")
    if ignore_file is None and os.path.isfile(DEFAULT_IGNORE_FILE):
        ignore_file = DEFAULT_IGNORE_FILE
    gate = api.Gate(threshold, ignore_unfixed, ignore_file, tuple(vex), allow_incomplete)
    limits = api.Limits(max_layer_bytes=parse_size(max_layer_size))
    progress = None if quiet or not sys.stderr.isatty() else LayerBar()
    try:
        with api.open_store(db) as store:
            report = api.scan(
                image,
                store=store,
                gate=gate,
                use_cache=not no_cache,
                limits=limits,
                progress=progress,
                platform=platform,
            )
    finally:
        if progress is not None:
            progress.close()
    emit(fmt.render(report), output)
    if output is not None or fmt.name != "table":
        for note in report.notes:
            print(f"note: {safe(note)}", file=sys.stderr)
    if report.gate_failed:
        severity = threshold or Severity.UNKNOWN
        count = len([f for f in report.findings if f.severity.rank >= severity.rank])
        incomplete = bool(report.unmatched) and not report.allow_incomplete
        if count or not incomplete:
            print(
                f"hullcheck: gate failed: {count} findings at or above {severity.value}",
                file=sys.stderr,
            )
        if incomplete:
            print(
                f"hullcheck: gate failed: {len(report.unmatched)} packages could not be "
                f"matched ({safe(report.unmatched_reason)}); --allow-incomplete lets the gate "
                "pass anyway",
                file=sys.stderr,
            )
        raise typer.Exit(EXIT_FINDINGS)


def _severity(text: str | None) -> Severity | None:
    if text is None:
        return None
    try:
        return Severity(text.lower())
    except ValueError:
        known = ", ".join(s.value for s in reversed(Severity))
        raise UsageError(f"unknown severity {text!r}", hint=f"choose one of: {known}") from None


def _rematch(db: str | None) -> None:
    with api.open_store(db) as store:
        results = api.rematch_stored(store)
    levels = [s.value for s in reversed(Severity)]
    rows = [
        (i.image_id[7:19], ", ".join(i.repo_tags), *(str(i.counts.get(v, 0)) for v in levels))
        for i in results
    ]
    print_table(
        ("IMAGE", "TAGS", *(v.upper() for v in levels)),
        rows,
        headline=f"{len(results)} stored images rematched",
        overflow="ellipsis",
    )
