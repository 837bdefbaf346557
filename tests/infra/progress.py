"""A scan's progress, counted: which layers were read and which came from the cache."""

from __future__ import annotations

from hullcheck.model import LayerInfo


class CountingProgress:
    def __init__(self) -> None:
        self.read: list[int] = []
        self.cached: list[int] = []

    def layer_started(self, layer: LayerInfo, total: int) -> None:
        pass

    def layer_advanced(self, done_bytes: int) -> None:
        pass

    def layer_finished(self, layer: LayerInfo, cached: bool) -> None:
        (self.cached if cached else self.read).append(layer.index)
