"""What one layer holds for hullcheck: cataloged files, symlinks and whiteouts.

A :class:`LayerScan` is pure data and is cached in the store per layer diffID and scanner
key, so an image that shares base layers with one already scanned reads only its new layers.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from hullcheck.sbom.catalogers.interface import FileResult


@dataclass(slots=True)
class LayerScan:
    """Everything the squash needs from one layer."""

    files: dict[str, FileResult] = field(default_factory=dict)
    """Absolute path → what its cataloger read."""
    symlinks: dict[str, str] = field(default_factory=dict)
    """Absolute path → link target, as stored."""
    whiteouts: list[str] = field(default_factory=list)
    """Paths this layer deletes from the layers below."""
    opaque: list[str] = field(default_factory=list)
    """Directories whose lower contents this layer hides."""
    warnings: list[tuple[str, str]] = field(default_factory=list)
    """(path, message) for files that could not be read."""

    def to_bytes(self) -> bytes:
        document: dict[str, Any] = {
            "f": {path: result.to_json() for path, result in self.files.items()},
            "s": self.symlinks,
            "wo": self.whiteouts,
            "op": self.opaque,
            "w": self.warnings,
        }
        return zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 1)

    @classmethod
    def from_bytes(cls, payload: bytes) -> LayerScan:
        document = json.loads(zlib.decompress(payload))
        return cls(
            files={p: FileResult.from_json(r) for p, r in document["f"].items()},
            symlinks=dict(document["s"]),
            whiteouts=list(document["wo"]),
            opaque=list(document["op"]),
            warnings=[(p, m) for p, m in document["w"]],
        )
