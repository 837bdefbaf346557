"""The dependency graph: declared requirements resolved to the packages of one image.

Each ecosystem resolves as its installer does: npm by the ``node_modules`` lookup from the
dependent's own directory upwards, Python within the same ``site-packages`` (then anywhere),
dpkg by package name or a package that ``Provides`` it (the first alternative that is
installed), a Go main module to the modules built into the same binary. A requirement nothing
in the image satisfies has no edge: the graph shows what is there, not what is missing.
"""

from __future__ import annotations

import os

from hullcheck.model import Package, PackageType
from hullcheck.sbom.purls import pypi_name


def resolve(
    packages: tuple[Package, ...], requires: list[list[str]]
) -> tuple[tuple[int, int], ...]:
    """Edges ``(dependent, dependency)`` by index; ``requires[i]`` is what package ``i``
    declares."""
    index = _Index(packages)
    edges: set[tuple[int, int]] = set()
    for dependent, (package, wanted) in enumerate(zip(packages, requires, strict=True)):
        for requirement in wanted:
            found = index.find(package, requirement)
            if found is not None and found != dependent:
                edges.add((dependent, found))
    return tuple(sorted(edges))


class _Index:
    def __init__(self, packages: tuple[Package, ...]) -> None:
        self.by_path: dict[tuple[PackageType, str], int] = {}
        self.python_in: dict[tuple[str, str], int] = {}
        self.python: dict[str, int] = {}
        self.deb: dict[str, int] = {}
        self.provided: dict[str, int] = {}
        self.go_in: dict[tuple[str, str], int] = {}
        for position, package in enumerate(packages):
            path = package.location.path
            kind = package.type
            if kind is PackageType.NPM:
                self.by_path.setdefault((kind, os.path.dirname(path)), position)
            elif kind is PackageType.PYTHON:
                name = pypi_name(package.name)
                self.python_in.setdefault((_site(path), name), position)
                self.python.setdefault(name, position)
            elif kind is PackageType.DEB:
                self.deb.setdefault(package.name, position)
                for provided in (package.metadata.get("Provides") or "").split(","):
                    name = provided.split("(")[0].strip().split(":")[0]
                    if name:
                        self.provided.setdefault(name, position)
            elif kind is PackageType.GO:
                self.go_in.setdefault((path, package.name), position)

    def find(self, package: Package, requirement: str) -> int | None:
        kind, path = package.type, package.location.path
        if kind is PackageType.NPM:
            return self._npm(os.path.dirname(path), requirement)
        if kind is PackageType.PYTHON:
            name = pypi_name(requirement)
            return self.python_in.get((_site(path), name), self.python.get(name))
        if kind is PackageType.DEB:
            for alternative in requirement.split("|"):
                found = self.deb.get(alternative, self.provided.get(alternative))
                if found is not None:
                    return found
            return None
        if kind is PackageType.GO:
            return self.go_in.get((path, requirement))
        return None

    def _npm(self, directory: str, name: str) -> int | None:
        """Node's lookup: ``DIR/node_modules/NAME``, then each enclosing ``node_modules``."""
        while True:
            base = directory if os.path.basename(directory) == "node_modules" else None
            candidate = os.path.join(base or os.path.join(directory, "node_modules"), name)
            found = self.by_path.get((PackageType.NPM, candidate))
            if found is not None:
                return found
            parent = os.path.dirname(directory)
            if parent == directory:
                return None
            directory = parent


def _site(path: str) -> str:
    """The ``site-packages`` directory of a ``…/NAME.dist-info/METADATA`` path."""
    return os.path.dirname(os.path.dirname(path))
