"""The contract every image source fulfils.

A source turns a reference (a path, an image name) into an :class:`ImageInfo` — read cheaply,
before any layer — and, on demand, the raw byte stream of each layer (compressed or not; the
layer walker detects gzip, zstd or plain tar by their magic bytes). Sources never interpret
layer contents. A rootfs directory is not layered: :class:`TreeSource` names its root and the
walker reads it directly.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from typing import IO, Any, ClassVar, Self

from hullcheck.errors import SourceError
from hullcheck.model import ImageInfo, LayerInfo
from hullcheck.redaction import redact_command

_DIFF_ID = re.compile(r"sha256:[0-9a-f]{64}")
MAX_JSON_BYTES = 16 * 1024 * 1024
"""Manifests, indexes and configs larger than this are refused (they are a few kB in practice)."""


class ImageSource(ABC):
    """A layered image: config first, then layer streams on demand."""

    name: ClassVar[str]
    """Stable plugin name, also the reference scheme (``docker-archive``)."""
    version: ClassVar[str]
    """Plugin version; bump when what it reports changes."""

    def __init__(self, reference: str) -> None:
        self.reference = reference

    @abstractmethod
    def image(self) -> ImageInfo:
        """Read the manifest and config; no layer is touched."""

    @abstractmethod
    def open_layer(self, layer: LayerInfo) -> IO[bytes]:
        """Open the stored blob of one layer; the caller closes it."""

    def settings(self) -> dict[str, Any]:
        """The image config's run settings (``User``, ``Env``, ``Healthcheck``,
        ``ExposedPorts`` …: the config's ``config`` object), once :meth:`image` was read;
        empty when the source has none. Env values are read by the review's rules and never
        kept."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook, most sources hold nothing
        """Release files, temporary exports and connections."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TreeSource(ABC):
    """An unpacked filesystem tree read in place."""

    name: ClassVar[str]
    version: ClassVar[str]

    def __init__(self, reference: str) -> None:
        self.reference = reference

    @property
    @abstractmethod
    def root(self) -> str:
        """Absolute path of the tree's root directory."""


def parse_json_value(data: bytes, what: str) -> Any:
    """Decode a JSON document; ``what`` names the input in the error."""
    if len(data) > MAX_JSON_BYTES:
        raise SourceError(f"{what}: {len(data)} bytes is too large for a manifest or config")
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"{what}: not valid JSON ({exc})") from None


def parse_json_document(data: bytes, what: str) -> dict[str, Any]:
    """Decode a JSON object; ``what`` names the input in the error."""
    value = parse_json_value(data, what)
    if not isinstance(value, dict):
        raise SourceError(f"{what}: expected a JSON object")
    return value


def image_info_from_config(
    config: dict[str, Any],
    config_digest: str,
    what: str,
    *,
    blobs: list[tuple[str | None, int | None, str | None]] | None = None,
    repo_tags: tuple[str, ...] = (),
    repo_digests: tuple[str, ...] = (),
) -> ImageInfo:
    """Build :class:`ImageInfo` from an OCI/Docker image config.

    ``blobs`` gives per layer (digest, size, media type) from the manifest, in order.
    """
    rootfs = config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list):
        raise SourceError(f"{what}: image config has no rootfs.diff_ids list")
    check_diff_ids(diff_ids, what)
    if blobs is not None and len(blobs) != len(diff_ids):
        raise SourceError(
            f"{what}: manifest lists {len(blobs)} layers but the config has {len(diff_ids)}"
        )
    created_by = _layer_history(config, len(diff_ids))
    layers = []
    for index, diff_id in enumerate(diff_ids):
        digest, size, media_type = blobs[index] if blobs is not None else (None, None, None)
        layers.append(
            LayerInfo(
                index=index,
                diff_id=diff_id,
                digest=digest,
                size=size,
                media_type=media_type,
                created_by=created_by[index],
            )
        )
    inner = config.get("config") if isinstance(config.get("config"), dict) else {}
    labels = inner.get("Labels") if isinstance(inner, dict) else None
    return ImageInfo(
        id=config_digest,
        layers=tuple(layers),
        repo_tags=repo_tags,
        repo_digests=repo_digests,
        os=_str_or_none(config.get("os")),
        architecture=_str_or_none(config.get("architecture")),
        created=_str_or_none(config.get("created")),
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
    )


def check_diff_ids(diff_ids: list[Any], what: str) -> None:
    """Each diffID must be a sha256 digest: they key the layer cache and are printed."""
    for diff_id in diff_ids:
        if not isinstance(diff_id, str) or not _DIFF_ID.fullmatch(diff_id):
            shown = diff_id[:80] if isinstance(diff_id, str) else type(diff_id).__name__
            raise SourceError(f"{what}: {shown!r} is not a layer diffID (sha256:<64 hex>)")


def _layer_history(config: dict[str, Any], count: int) -> list[str | None]:
    """Map non-empty history entries to layers; ``None`` where the history does not fit."""
    history = config.get("history")
    result: list[str | None] = [None] * count
    if not isinstance(history, list):
        return result
    layered = [h for h in history if isinstance(h, dict) and not h.get("empty_layer")]
    if len(layered) != count:
        return result
    return [redact_command(_str_or_none(h.get("created_by"))) for h in layered]


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
