"""The ``hullcheck`` command line: parses and renders; the work is in ``hullcheck.api``."""

from hullcheck.cli.app import main

__all__ = ["main"]
