"""Docker Engine access; ``docker.errors`` never leaks above this package."""

from hullcheck.engine.client import EngineClient, connect

__all__ = ["EngineClient", "connect"]
