"""Output formats and SBOM readers."""

from hullcheck.report.registry import FORMATS, read_sbom, render

__all__ = ["FORMATS", "read_sbom", "render"]
