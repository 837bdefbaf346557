"""Stack layer scans into the final filesystem view and attribute packages to layers.

Per layer, deletions apply before additions: opaque directories and ``.wh.`` whiteouts
remove what lower layers put there, then the layer's own files and links are added. A
package's introducing layer is the oldest layer from which its database file listed it
without interruption up to the top.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from hullcheck.sbom.catalogers.interface import FileResult, RawPackage
from hullcheck.sbom.layerscan import LayerScan

MAX_LINK_HOPS = 40


@dataclass(slots=True)
class SquashedFile:
    """The visible version of one cataloged path, and the versions below it."""

    path: str
    stack: list[tuple[int, FileResult]]
    """(layer index, result) oldest first, since the path was last deleted."""
    _keys: dict[int, set[tuple[str, str, str | None]]] = field(default_factory=dict)
    """Per position in ``stack``, the packages its result lists (built when first asked)."""

    @property
    def top(self) -> tuple[int, FileResult]:
        return self.stack[-1]

    def introduced(self, package: RawPackage) -> int:
        """Index of the layer that added ``package`` in its current version: constant time
        per layer of the stack, so attributing N packages is linear in N."""
        key = (package.name, package.version, package.arch)
        layer = self.stack[-1][0]
        for position in range(len(self.stack) - 1, -1, -1):
            if key not in self._listed(position):
                break
            layer = self.stack[position][0]
        return layer

    def _listed(self, position: int) -> set[tuple[str, str, str | None]]:
        keys = self._keys.get(position)
        if keys is None:
            packages = self.stack[position][1].packages
            keys = self._keys[position] = {(p.name, p.version, p.arch) for p in packages}
        return keys


@dataclass(slots=True)
class View:
    """The squashed image: visible cataloged files and symlinks."""

    files: dict[str, SquashedFile] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)
    warnings: list[tuple[int, str, str]] = field(default_factory=list)

    def resolve(self, path: str) -> str | None:
        """Resolve links component by component, chroot-style: never above ``/``."""
        parts = deque(p for p in path.split("/") if p)
        resolved: list[str] = []
        hops = 0
        while parts:
            part = parts.popleft()
            if part in ("", "."):
                continue
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            candidate = "/" + "/".join([*resolved, part])
            target = self.symlinks.get(candidate)
            if target is None:
                resolved.append(part)
                continue
            hops += 1
            if hops > MAX_LINK_HOPS:
                return None
            if target.startswith("/"):
                resolved = []
            parts.extendleft(reversed([p for p in target.split("/") if p]))
        return "/" + "/".join(resolved)

    def lookup(self, path: str) -> SquashedFile | None:
        """The cataloged file at ``path`` after following links inside the image."""
        direct = self.files.get(path)
        if direct is not None:
            return direct
        real = self.resolve(path)
        return self.files.get(real) if real is not None else None


def _drop_deleted(mapping: dict[str, Any], opaque: list[str], whiteouts: list[str]) -> None:
    """Remove the paths a layer deletes: everything under an opaque directory, and a
    whited-out path with everything under it. One pass over ``mapping`` that looks each
    path's ancestors up in sets: linear in paths times depth, whatever the number of
    deletions (a loop per deletion was paths times deletions)."""
    if not opaque and not whiteouts:
        return
    gone = {p.rstrip("/") or "/" for p in whiteouts}
    under = gone | {p.rstrip("/") or "/" for p in opaque}
    doomed = []
    for path in mapping:
        if path in gone:
            doomed.append(path)
            continue
        parent = path
        while parent:
            parent = parent[: parent.rfind("/")]
            if (parent or "/") in under:
                doomed.append(path)
                break
    for path in doomed:
        del mapping[path]


def squash(layers: list[LayerScan]) -> View:
    """Apply layers bottom to top."""
    view = View()
    files = view.files
    links = view.symlinks
    for index, layer in enumerate(layers):
        _drop_deleted(files, layer.opaque, layer.whiteouts)
        _drop_deleted(links, layer.opaque, layer.whiteouts)
        for path, target in layer.symlinks.items():
            links[path] = target
            files.pop(path, None)
        for path, result in layer.files.items():
            links.pop(path, None)
            existing = files.get(path)
            if existing is not None:
                existing.stack.append((index, result))
            else:
                files[path] = SquashedFile(path, [(index, result)])
        view.warnings.extend((index, path, message) for path, message in layer.warnings)
    return view
