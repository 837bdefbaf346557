"""Image sources: turn a reference into an image config and layer streams."""

from hullcheck.sources.interface import ImageSource, TreeSource
from hullcheck.sources.registry import SOURCES, SbomFile, open_source

__all__ = ["SOURCES", "ImageSource", "SbomFile", "TreeSource", "open_source"]
