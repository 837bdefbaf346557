"""``dir:PATH`` — an unpacked root filesystem, read in place."""

from __future__ import annotations

import os

from hullcheck.errors import SourceError
from hullcheck.sources.interface import TreeSource


class DirSource(TreeSource):
    """A directory holding a root filesystem (a chroot, a debootstrap tree, a mounted volume)."""

    name = "dir"
    version = "1"

    def __init__(self, reference: str) -> None:
        super().__init__(reference)
        if not os.path.isdir(reference):
            raise SourceError(f"{reference}: not a directory")
        self._root = os.path.realpath(reference)

    @property
    def root(self) -> str:
        return self._root
