"""``registry:HOST/REPO[:TAG][@DIGEST]`` — an image read straight from a registry (Docker
Registry HTTP API v2), nothing pulled into an engine: the manifest (of the platform asked
for, from a manifest list or OCI index), the config and, on demand, each layer blob; every
one checked against its digest while it streams (``registry.client``)."""

from __future__ import annotations

from typing import IO, Any

from hullcheck.errors import RegistryError, UsageError
from hullcheck.model import ImageInfo, LayerInfo
from hullcheck.registry.client import INDEX_TYPES, Manifest, RegistryClient
from hullcheck.registry.reference import Reference, parse_reference
from hullcheck.sources.interface import (
    ImageSource,
    image_info_from_config,
    parse_json_document,
)
from hullcheck.sources.oci import host_architecture

_VARIANTS = {"arm64": "v8"}
MAX_NESTING = 4


def parse_platform(text: str) -> tuple[str, str, str | None]:
    """``os/arch[/variant]`` → its parts; a :class:`UsageError` for anything else."""
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise UsageError(f"--platform {text!r}: expected os/arch or os/arch/variant")
    return parts[0], parts[1], parts[2] if len(parts) == 3 else None


def host_default() -> str:
    return f"linux/{host_architecture()}"


class RegistrySource(ImageSource):
    """An image in a registry."""

    name = "registry"
    version = "1"

    def __init__(self, reference: str, *, platform: str | None = None) -> None:
        super().__init__(reference)
        self.ref: Reference = parse_reference(reference)
        self.platform = platform or host_default()
        self.platform_asked = platform is not None
        parse_platform(self.platform)
        self._client: RegistryClient | None = None
        self._settings: dict[str, Any] = {}
        self.manifest_digest: str | None = None
        """The digest of the image's own manifest (of its platform), once read."""
        self.top_digest: str | None = None
        """The digest of what the reference names (a manifest list, or the manifest): what
        cosign signs."""

    @property
    def client(self) -> RegistryClient:
        if self._client is None:
            self._client = RegistryClient(self.ref.domain, api_host=self.ref.api_host)
        return self._client

    def image(self) -> ImageInfo:
        ref = self.ref
        top = self.client.manifest(ref.repository, ref.pointer)
        self.top_digest = top.digest
        manifest = self._platform_manifest(top, 0)
        self.manifest_digest = manifest.digest
        document = manifest.document
        config_desc = document.get("config")
        layers = document.get("layers")
        what = f"{ref.name}@{manifest.digest}"
        if not isinstance(config_desc, dict) or not isinstance(layers, list):
            raise RegistryError(f"{what}: the manifest has no config or layers (schema 1?)")
        config_digest = config_desc.get("digest")
        if not isinstance(config_digest, str):
            raise RegistryError(f"{what}: the manifest's config has no digest")
        size = config_desc.get("size")
        config = parse_json_document(
            self.client.blob_bytes(
                ref.repository,
                config_digest,
                size if isinstance(size, int) else None,
                f"{what}: config",
            ),
            f"{what}: config {config_digest}",
        )
        blobs: list[tuple[str | None, int | None, str | None]] = []
        for layer in layers:
            if not isinstance(layer, dict) or not isinstance(layer.get("digest"), str):
                raise RegistryError(f"{what}: a layer descriptor without a digest")
            size = layer.get("size")
            media = layer.get("mediaType")
            blobs.append(
                (
                    layer["digest"],
                    size if isinstance(size, int) else None,
                    media if isinstance(media, str) else None,
                )
            )
        if self.platform_asked and manifest is top:
            self._check_platform(config)
        inner = config.get("config")
        self._settings = inner if isinstance(inner, dict) else {}
        return image_info_from_config(
            config,
            config_digest,
            f"{what}: config {config_digest}",
            blobs=blobs,
            repo_tags=(f"{ref.name}:{ref.tag}",) if ref.tag else (),
            repo_digests=(f"{ref.name}@{manifest.digest}",),
        )

    def _platform_manifest(self, manifest: Manifest, depth: int) -> Manifest:
        if manifest.media_type not in INDEX_TYPES and "manifests" not in manifest.document:
            return manifest
        if depth >= MAX_NESTING:
            raise RegistryError(f"{self.ref}: image indexes nested too deep")
        listed = manifest.document.get("manifests")
        entries = [m for m in listed if isinstance(m, dict)] if isinstance(listed, list) else []
        chosen = _choose(entries, self.platform)
        if chosen is None:
            offered = sorted({_platform_of(m) for m in entries if _platform_of(m)})
            raise RegistryError(
                f"{self.ref}: no image for {self.platform} in its manifest list",
                hint="--platform " + " or ".join(offered[:8]) if offered else None,
            )
        digest = chosen.get("digest")
        if not isinstance(digest, str):
            raise RegistryError(f"{self.ref}: a manifest list entry without a digest")
        return self._platform_manifest(self.client.manifest(self.ref.repository, digest), depth + 1)

    def _check_platform(self, config: dict[str, Any]) -> None:
        """An image of one platform, asked for another (Docker refuses it too)."""
        os_name, arch, variant = parse_platform(self.platform)
        has = (config.get("os"), config.get("architecture"))
        if has != (os_name, arch) or (variant and config.get("variant") not in (None, variant)):
            shown = "/".join(str(part) for part in has)
            raise RegistryError(
                f"{self.ref}: the image is {shown}, not {self.platform} (it has no manifest list)"
            )

    def settings(self) -> dict[str, Any]:
        return self._settings

    def open_layer(self, layer: LayerInfo) -> IO[bytes]:
        if layer.digest is None:
            raise RegistryError(f"{self.ref}: layer {layer.index} has no blob digest")
        return self.client.open_blob(
            self.ref.repository,
            layer.digest,
            layer.size,
            f"{self.ref.name}: layer {layer.index} blob {layer.digest[:19]}",
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _platform_of(entry: dict[str, Any]) -> str:
    found = entry.get("platform")
    if not isinstance(found, dict):
        return ""
    text = f"{found.get('os', '')}/{found.get('architecture', '')}"
    return text + (f"/{found['variant']}" if found.get("variant") else "")


def _choose(entries: list[dict[str, Any]], wanted: str) -> dict[str, Any] | None:
    """The entry for ``wanted`` (``os/arch[/variant]``); a variant left out matches the
    architecture's usual one (arm64 is v8) or none. Attestation manifests (``unknown/unknown``)
    never match."""
    os_name, arch, variant = parse_platform(wanted)
    fitting = []
    for entry in entries:
        plat = entry.get("platform")
        if not isinstance(plat, dict):
            continue
        if plat.get("os") != os_name or plat.get("architecture") != arch:
            continue
        has = plat.get("variant")
        if variant is not None and has != variant:
            continue
        fitting.append((has in (None, _VARIANTS.get(arch)), entry))
    fitting.sort(key=lambda pair: not pair[0])
    return fitting[0][1] if fitting else None
