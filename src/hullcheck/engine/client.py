"""A thin typed wrapper over docker-py's low-level API with error translation."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from hullcheck.errors import EngineError, SourceError

DEFAULT_TIMEOUT = 60.0


class EngineClient:
    """One Docker Engine, reached through ``host`` (``unix://…``, ``tcp://…``, ``ssh://…``)."""

    def __init__(self, host: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        import docker  # imported here: the CLI starts faster when no engine is needed

        self.host = host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        try:
            self._api = docker.APIClient(base_url=self.host, timeout=int(timeout), version="auto")
        except docker.errors.DockerException as exc:
            raise EngineError(
                f"{self.host}: cannot reach the Docker Engine ({_reason(exc)})",
                hint="set DOCKER_HOST or check that dockerd is running",
            ) from None

    def inspect_image(self, ref: str) -> dict[str, Any]:
        """The engine's inspect document for an image name, ID or digest."""
        import docker

        try:
            result: dict[str, Any] = self._api.inspect_image(ref)
        except docker.errors.ImageNotFound:
            raise SourceError(f"{ref}: no such image in the engine at {self.host}") from None
        except docker.errors.DockerException as exc:
            raise EngineError(f"{ref}: the engine at {self.host} failed ({_reason(exc)})") from None
        return result

    def history(self, ref: str) -> list[dict[str, Any]]:
        """Image history, newest first."""
        import docker

        try:
            result: list[dict[str, Any]] = self._api.history(ref)
        except docker.errors.DockerException as exc:
            raise EngineError(f"{ref}: history failed ({_reason(exc)})") from None
        return result

    def export_image(self, ref: str) -> Iterator[bytes]:
        """Stream ``docker save`` of one image."""
        import docker

        try:
            yield from self._api.get_image(ref, chunk_size=1024 * 1024)
        except docker.errors.DockerException as exc:
            raise EngineError(f"{ref}: export failed ({_reason(exc)})") from None

    def close(self) -> None:
        self._api.close()


def _reason(exc: Exception) -> str:
    explanation = getattr(exc, "explanation", None)
    return (
        str(explanation or exc).strip().splitlines()[0]
        if str(explanation or exc)
        else type(exc).__name__
    )


def connect(host: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> EngineClient:
    """Open a client for ``host`` or ``DOCKER_HOST``."""
    return EngineClient(host, timeout)
