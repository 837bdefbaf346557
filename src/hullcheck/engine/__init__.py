"""Docker Engine access; ``docker.errors`` never leaks above this package."""

from hullcheck.engine.client import EngineClient, connect, connect_host

__all__ = ["EngineClient", "connect", "connect_host"]
