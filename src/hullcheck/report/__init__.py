"""Output formats and SBOM readers."""

from hullcheck.report.registry import (
    FORMATS,
    ScanFormat,
    format_named,
    read_sbom,
    render,
    review_format_named,
    scan_format_named,
)

__all__ = [
    "FORMATS",
    "ScanFormat",
    "format_named",
    "read_sbom",
    "render",
    "review_format_named",
    "scan_format_named",
]
