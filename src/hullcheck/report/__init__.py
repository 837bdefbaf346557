"""Output formats and SBOM readers."""

from hullcheck.report.registry import FORMATS, format_named, read_sbom, render

__all__ = ["FORMATS", "format_named", "read_sbom", "render"]
