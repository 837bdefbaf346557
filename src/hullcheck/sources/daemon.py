"""``docker:NAME`` — an image in a Docker Engine, by name, ID or digest.

The image's layers are known from ``inspect`` without exporting anything, so a scan whose
layers are all cached never asks the engine for the image's bytes. The export, when needed,
is spooled once into hullcheck's cache directory and read as a docker-archive.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from typing import IO, Any

from hullcheck.engine import EngineClient, connect
from hullcheck.engine.documents import familiar
from hullcheck.errors import EngineError
from hullcheck.model import ImageInfo, LayerInfo
from hullcheck.paths import spool_dir
from hullcheck.redaction import redact_command
from hullcheck.sources.archive import DockerArchiveSource
from hullcheck.sources.interface import ImageSource, check_diff_ids


class DaemonSource(ImageSource):
    """An image held by the engine at ``DOCKER_HOST`` (or ``host``)."""

    name = "docker"
    version = "1"

    def __init__(
        self, reference: str, host: str | None = None, client: EngineClient | None = None
    ) -> None:
        """``client`` (a fleet host's, with its TLS and timeout) wins over ``host``."""
        super().__init__(reference)
        self._host = host
        self._client: EngineClient | None = client
        self._own_client = client is None
        self._archive: DockerArchiveSource | None = None
        self._spool: str | None = None
        self._spool_lock: int | None = None

    @property
    def client(self) -> EngineClient:
        if self._client is None:
            self._client = connect(self._host)
        return self._client

    def image(self) -> ImageInfo:
        data = self.client.inspect_image(self.reference)
        diff_ids = (data.get("RootFS") or {}).get("Layers") or []
        check_diff_ids(diff_ids, f"{self.reference}: image inspect")
        created_by = self._created_by(len(diff_ids))
        layers = tuple(
            LayerInfo(index=i, diff_id=d, created_by=created_by[i]) for i, d in enumerate(diff_ids)
        )
        config = data.get("Config") or {}
        self._settings = config if isinstance(config, dict) else {}
        return ImageInfo(
            id=str(data.get("Id")),
            layers=layers,
            repo_tags=tuple(familiar(t) for t in data.get("RepoTags") or ()),
            repo_digests=tuple(familiar(d) for d in data.get("RepoDigests") or ()),
            os=data.get("Os"),
            architecture=data.get("Architecture"),
            created=data.get("Created"),
            labels=dict(config.get("Labels") or {}),
        )

    def settings(self) -> dict[str, Any]:
        found: dict[str, Any] = getattr(self, "_settings", {})
        return found

    def _created_by(self, count: int) -> list[str | None]:
        """The command of each layer, from the engine's history, which (unlike the image
        config's) does not mark the entries that made no layer. Entries with bytes made one;
        so did entries without bytes on Docker's classic store, whose layers of deletions
        only count 0 bytes — unless their command only sets metadata. When neither reading
        gives one entry per layer, the commands are left out rather than guessed."""
        history = list(reversed(self.client.history(self.reference)))
        for made_layer in (_has_bytes, _made_layer):
            entries = [h for h in history if made_layer(h)]
            if len(entries) == count:
                return [redact_command(h.get("CreatedBy")) or None for h in entries]
        return [None] * count

    def open_layer(self, layer: LayerInfo) -> IO[bytes]:
        if self._archive is None:
            self._archive = DockerArchiveSource(self._export())
            inspected = self.image().id
            if not self._archive.holds(inspected):
                exported = self._archive.image().id  # the sha256 of the exported config
                raise EngineError(
                    f"{self.reference}: the engine exported image {exported[:19]}, not the "
                    f"{inspected[:19]} it inspected"
                )
        return self._archive.open_layer(layer)

    def _export(self) -> str:
        directory = spool_dir()
        sweep_spool(directory)
        handle, path = tempfile.mkstemp(prefix=SPOOL_PREFIX, suffix=".tar", dir=directory)
        self._spool = path
        self._spool_lock = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        fcntl.flock(self._spool_lock, fcntl.LOCK_EX)  # ours until closed, even as we are killed
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in self.client.export_image(self.reference):
                    out.write(chunk)
        except OSError as exc:
            raise EngineError(f"{self.reference}: cannot spool the export ({exc})") from None
        return path

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()
            self._archive = None
        if self._spool is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._spool)
            self._spool = None
        if self._spool_lock is not None:
            os.close(self._spool_lock)
            self._spool_lock = None
        if self._client is not None and self._own_client:
            self._client.close()
        self._client = None


_METADATA_ONLY = frozenset(
    {
        "ARG",
        "CMD",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
    }
)
"""Dockerfile instructions that never make a layer."""


def _has_bytes(entry: dict[str, Any]) -> bool:
    size = entry.get("Size")
    return isinstance(size, int) and size > 0


def _made_layer(entry: dict[str, Any]) -> bool:
    """A history entry with bytes, or one whose command could have changed files: the
    classic builder's and buildah's ``/bin/sh -c #(nop) ENV …`` and BuildKit's ``ENV …`` set
    metadata only, where a ``RUN`` (``/bin/sh -c rm …``, ``RUN …``), ``COPY`` or ``ADD`` may
    have changed files without adding bytes."""
    if _has_bytes(entry):
        return True
    command = str(entry.get("CreatedBy") or "").removeprefix("/bin/sh -c ").strip()
    command = command.removeprefix("#(nop)").strip()
    return bool(command) and command.split(" ", 1)[0].upper() not in _METADATA_ONLY


SPOOL_PREFIX = "export-"
SPOOL_GRACE = 60.0
"""Seconds a spooled export must be old before another process may sweep it."""


def sweep_spool(directory: str) -> int:
    """Remove exports left by processes that died (``kill -9`` in the middle of a sync):
    each live export is locked by the process reading it; an unlocked one older than
    ``SPOOL_GRACE`` seconds has no reader left. How many were removed."""
    removed = 0
    now = time.time()
    for name in os.listdir(directory):
        if not name.startswith(SPOOL_PREFIX):
            continue
        path = os.path.join(directory, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if now - os.fstat(fd).st_mtime < SPOOL_GRACE:
                continue
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.unlink(path)
            removed += 1
        except OSError:
            continue  # locked: a live export
        finally:
            os.close(fd)
    return removed
