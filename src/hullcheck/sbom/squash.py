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

    @property
    def top(self) -> tuple[int, FileResult]:
        return self.stack[-1]

    def introduced(self, package: RawPackage) -> int:
        """Index of the layer that added ``package`` in its current version."""
        key = (package.name, package.version, package.arch)
        layer = self.stack[-1][0]
        for index, result in reversed(self.stack):
            if not any((p.name, p.version, p.arch) == key for p in result.packages):
                break
            layer = index
        return layer


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


def _drop_under(mapping: dict[str, Any], root: str, include_root: bool) -> None:
    prefix = root.rstrip("/") + "/"
    doomed = [p for p in mapping if p.startswith(prefix) or (include_root and p == root)]
    for path in doomed:
        del mapping[path]


def squash(layers: list[LayerScan]) -> View:
    """Apply layers bottom to top."""
    view = View()
    files = view.files
    links = view.symlinks
    for index, layer in enumerate(layers):
        for directory in layer.opaque:
            _drop_under(files, directory, include_root=False)
            _drop_under(links, directory, include_root=False)
        for path in layer.whiteouts:
            _drop_under(files, path, include_root=True)
            _drop_under(links, path, include_root=True)
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
