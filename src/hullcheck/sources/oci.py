"""OCI image layouts: a directory (``oci-dir:``) or a tar of one (``oci-archive:``)."""

from __future__ import annotations

import os
import platform
from typing import IO, Any

from hullcheck.errors import LayerError, SourceError
from hullcheck.model import ImageInfo, LayerInfo
from hullcheck.sources.bundle import Bundle, DirBundle, TarBundle, VerifiedBlob, blob_path
from hullcheck.sources.interface import ImageSource, image_info_from_config

INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
REF_NAME = "org.opencontainers.image.ref.name"
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}


class _OciLayoutSource(ImageSource):
    """Shared logic: index.json → (nested index →) manifest → config and layer blobs."""

    def __init__(self, reference: str) -> None:
        super().__init__(reference)
        self.path, self.ref = _split_ref(reference)
        self._bundle: Bundle | None = None

    def _make_bundle(self) -> Bundle:
        raise NotImplementedError

    @property
    def bundle(self) -> Bundle:
        if self._bundle is None:
            self._bundle = self._make_bundle()
        return self._bundle

    def image(self) -> ImageInfo:
        if not self.bundle.exists("index.json"):
            raise SourceError(f"{self.path}: no index.json; not an OCI image layout")
        descriptor = self._select(self.bundle.read_json("index.json"), "index.json", depth=0)
        manifest = self._blob_json(descriptor)
        config_desc = manifest.get("config")
        layers = manifest.get("layers")
        if not isinstance(config_desc, dict) or not isinstance(layers, list):
            raise SourceError(f"{self.path}: manifest {descriptor.get('digest')} lacks layers")
        config = self._blob_json(config_desc)
        blobs = [
            (_str(layer.get("digest")), _int(layer.get("size")), _str(layer.get("mediaType")))
            for layer in layers
            if isinstance(layer, dict)
        ]
        for digest, size, _media in blobs:
            if digest is None or not self.bundle.exists(blob_path(digest, self.path)):
                raise SourceError(f"{self.path}: manifest points at missing layer blob {digest}")
            stored = self.bundle.size(blob_path(digest, self.path))
            if size is not None and stored != size:  # checked here too for cached layers
                state = "truncated: " if stored < size else ""
                raise LayerError(
                    f"{self.path}: layer blob {digest} is {state}{stored} bytes, not the "
                    f"{size} its manifest says"
                )
        ref_name = _dict(descriptor.get("annotations")).get(REF_NAME)
        self._settings = _dict(config.get("config"))
        return image_info_from_config(
            config,
            str(config_desc.get("digest")),
            f"{self.path}: config {config_desc.get('digest')}",
            blobs=blobs,
            repo_tags=(ref_name,) if isinstance(ref_name, str) else (),
        )

    def settings(self) -> dict[str, Any]:
        found: dict[str, Any] = getattr(self, "_settings", {})
        return found

    def open_layer(self, layer: LayerInfo) -> IO[bytes]:
        if layer.digest is None:
            raise SourceError(f"{self.path}: layer {layer.index} has no blob digest")
        name = blob_path(layer.digest, self.path)
        what = f"{self.path}: layer {layer.index} blob"
        return VerifiedBlob(self.bundle.open(name), layer.digest, what)  # type: ignore[return-value]  # a binary stream

    def _blob_json(self, descriptor: dict[str, Any]) -> dict[str, Any]:
        digest = descriptor.get("digest")
        if not isinstance(digest, str):
            raise SourceError(f"{self.path}: descriptor without a digest")
        name = blob_path(digest, self.path)
        if not self.bundle.exists(name):
            raise SourceError(f"{self.path}: blob {digest} is missing")
        return self.bundle.read_blob_json(digest, _int(descriptor.get("size")))[0]

    def _select(self, index: dict[str, Any], what: str, depth: int) -> dict[str, Any]:
        listed = index.get("manifests")
        manifests = [m for m in listed if isinstance(m, dict)] if isinstance(listed, list) else []
        if not manifests:
            raise SourceError(f"{self.path}: {what} lists no manifest")
        if self.ref is not None and depth == 0:
            manifests = [m for m in manifests if _matches(m, self.ref)]
            if not manifests:
                raise SourceError(f"{self.path}: no manifest named {self.ref!r}")
        chosen = _by_platform(manifests) if len(manifests) > 1 else manifests[0]
        if chosen is None:
            raise SourceError(
                f"{self.path}: {what} holds {len(manifests)} images; name one as PATH:REF"
            )
        if _str(chosen.get("mediaType")) in INDEX_TYPES:
            if depth > 4:
                raise SourceError(f"{self.path}: image indexes nested too deep")
            return self._select(self._blob_json(chosen), str(chosen.get("digest")), depth + 1)
        return chosen

    def close(self) -> None:
        if self._bundle is not None:
            self._bundle.close()
            self._bundle = None


class OciDirSource(_OciLayoutSource):
    """``oci-dir:PATH[:REF]`` — an OCI image layout directory (``skopeo copy … oci:DIR``)."""

    name = "oci-dir"
    version = "1"

    def _make_bundle(self) -> Bundle:
        if not os.path.isdir(self.path):
            raise SourceError(f"{self.path}: not a directory")
        return DirBundle(self.path)


class OciArchiveSource(_OciLayoutSource):
    """``oci-archive:PATH[:REF]`` — a tar of an OCI image layout."""

    name = "oci-archive"
    version = "1"

    def _make_bundle(self) -> Bundle:
        return TarBundle(self.path)


def _split_ref(reference: str) -> tuple[str, str | None]:
    if os.path.exists(reference) or ":" not in reference:
        return reference, None
    path, _, ref = reference.rpartition(":")
    return path, ref or None


def _matches(descriptor: dict[str, Any], ref: str) -> bool:
    name = _dict(descriptor.get("annotations")).get(REF_NAME)
    return ref in (name, descriptor.get("digest"))


def host_architecture() -> str:
    """This machine's architecture as OCI names it (``amd64``, ``arm64`` …)."""
    return _ARCH.get(platform.machine(), platform.machine())


def _by_platform(manifests: list[dict[str, Any]]) -> dict[str, Any] | None:
    arch = host_architecture()
    for descriptor in manifests:
        plat = _dict(descriptor.get("platform"))
        if plat.get("os") == "linux" and plat.get("architecture") == arch:
            return descriptor
    return None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
