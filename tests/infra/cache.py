"""Where the tests keep what outlives a run: built roots, engines' data roots, image archives."""

from __future__ import annotations

import os

CACHE = os.environ.get(
    "HULLCHECK_TEST_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "hullcheck-test")
)
MIRROR = os.environ.get("HULLCHECK_DEBIAN_MIRROR", "http://deb.debian.org/debian")
"""The Debian mirror debootstrap builds the test images' and the test engines' roots from."""
