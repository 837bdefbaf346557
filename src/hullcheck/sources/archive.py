"""docker-archive: the tar written by ``docker save`` (legacy layout and the OCI one of 25+)."""

from __future__ import annotations

import hashlib
import os
import re
from typing import IO, Any

from hullcheck.errors import SourceError
from hullcheck.model import ImageInfo, LayerInfo
from hullcheck.sources.bundle import TarBundle, VerifiedBlob, blob_path, check_digest
from hullcheck.sources.interface import ImageSource, image_info_from_config, parse_json_document


class DockerArchiveSource(ImageSource):
    """``docker-archive:PATH[:repo:tag]`` — an image saved with ``docker save``."""

    name = "docker-archive"
    version = "1"

    def __init__(self, reference: str) -> None:
        super().__init__(reference)
        self.path, self.tag = _split_tag(reference)
        self._bundle: TarBundle | None = None
        self._layer_files: dict[str, str] = {}

    def _open_bundle(self) -> TarBundle:
        if self._bundle is None:
            self._bundle = TarBundle(self.path)
        return self._bundle

    def image(self) -> ImageInfo:
        bundle = self._open_bundle()
        if not bundle.exists("manifest.json"):
            raise SourceError(f"{self.path}: no manifest.json; not a docker-archive")
        manifest = _pick(bundle.read_json_list("manifest.json"), self.tag, self.path)
        config_name = manifest.get("Config")
        layers = manifest.get("Layers")
        if not isinstance(config_name, str) or not isinstance(layers, list):
            raise SourceError(f"{self.path}: manifest.json entry lacks Config or Layers")
        config, digest = _config(bundle, config_name, self.path)
        tags = manifest.get("RepoTags")
        info = image_info_from_config(
            config,
            digest,
            f"{self.path}: {config_name}",
            blobs=[(None, _safe_size(bundle, str(n)), None) for n in layers],
            repo_tags=tuple(t for t in tags if isinstance(t, str))
            if isinstance(tags, list)
            else (),
        )
        self._layer_files = {layer.diff_id: str(layers[layer.index]) for layer in info.layers}
        inner = config.get("config")
        self._settings = inner if isinstance(inner, dict) else {}
        return info

    def settings(self) -> dict[str, Any]:
        found: dict[str, Any] = getattr(self, "_settings", {})
        return found

    def holds(self, image_id: str) -> bool:
        """Whether this archive is the image an engine calls ``image_id``.

        Classic image stores and Podman name an image by its config digest. Docker's
        containerd image store (optional in 24–28, the default since 29) names it by the
        digest of its manifest — or of its index, for a multi-platform image — and ``docker
        save`` then writes those blobs too: the blob named ``image_id`` must hash to it and
        lead (itself, or through one of the index's manifests) to this archive's config.
        """
        config = self.image().id
        if image_id == config:
            return True
        bundle = self._open_bundle()
        try:
            if not bundle.exists(blob_path(image_id, self.path)):
                return False
            document, _ = bundle.read_blob_json(image_id)
            manifests = [document] if "config" in document else []
            for entry in document.get("manifests") or []:
                digest = entry.get("digest") if isinstance(entry, dict) else None
                if isinstance(digest, str) and bundle.exists(blob_path(digest, self.path)):
                    manifests.append(bundle.read_blob_json(digest, entry.get("size"))[0])
        except SourceError:
            return False
        return any(
            isinstance(m.get("config"), dict) and m["config"].get("digest") == config
            for m in manifests
        )

    def open_layer(self, layer: LayerInfo) -> IO[bytes]:
        if not self._layer_files:
            self.image()
        name = self._layer_files.get(layer.diff_id)
        if name is None:
            raise SourceError(f"{self.path}: layer {layer.index} is not in the manifest")
        handle = self._open_bundle().open(name)
        digest = _named_digest(name)
        if digest is None:  # the legacy layout's <id>/layer.tar: the diffID is checked
            return handle
        what = f"{self.path}: {name}"
        return VerifiedBlob(handle, digest, what)  # type: ignore[return-value]  # a binary stream

    def close(self) -> None:
        if self._bundle is not None:
            self._bundle.close()
            self._bundle = None


def _safe_size(bundle: TarBundle, name: str) -> int | None:
    try:
        return bundle.size(name)
    except SourceError:
        return None


def _config(bundle: TarBundle, name: str, path: str) -> tuple[dict[str, Any], str]:
    """The image config and the image ID, the sha256 of its bytes: the name a docker-archive
    gives it (``<hex>.json``, ``blobs/sha256/<hex>``) must be that digest."""
    data = bundle.read_bytes(name)
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    named = _named_digest(name)
    if named is not None:
        check_digest(data, named, f"{path}: {name}")
    return parse_json_document(data, f"{path}: {name}"), digest


_HEX_NAME = re.compile(r"(?:^|/)(?:blobs/sha256/)?([0-9a-f]{64})(?:\.json)?$")


def _named_digest(name: str) -> str | None:
    """The digest a member's name claims (``blobs/sha256/<hex>``, ``<hex>.json``), if any."""
    match = _HEX_NAME.search(name)
    if match is None or (not name.startswith("blobs/") and not name.endswith(".json")):
        return None
    return f"sha256:{match.group(1)}"


def _split_tag(reference: str) -> tuple[str, str | None]:
    """``archive.tar:repo:tag`` → path and tag; a path containing colons is kept whole."""
    if os.path.exists(reference) or ":" not in reference:
        return reference, None
    path, _, tag = reference.partition(":")
    return path, tag or None


def _pick(entries: list[Any], tag: str | None, path: str) -> dict[str, Any]:
    images = [e for e in entries if isinstance(e, dict)]
    if not images:
        raise SourceError(f"{path}: manifest.json lists no image")
    if tag is None:
        if len(images) > 1:
            names = ", ".join(t for e in images for t in e.get("RepoTags") or [])
            raise SourceError(
                f"{path}: holds {len(images)} images; name one as {path}:REPO:TAG",
                hint=f"tags in the archive: {names or 'none'}",
            )
        return images[0]
    for entry in images:
        if tag in (entry.get("RepoTags") or []):
            return entry
    raise SourceError(f"{path}: no image tagged {tag!r} in the archive")
