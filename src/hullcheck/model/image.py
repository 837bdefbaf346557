"""Images, layers and the distribution they are built on."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class LayerInfo:
    """One filesystem layer of an image, bottom (0) to top."""

    index: int
    """Position in the image, 0 is the base layer."""
    diff_id: str
    """sha256 of the uncompressed tar stream (``sha256:…``); the cache key."""
    digest: str | None = None
    """Digest of the stored blob (compressed for registries and OCI layouts), when known."""
    size: int | None = None
    """Size of the stored blob in bytes, when known."""
    media_type: str | None = None
    """OCI or Docker media type of the blob, when known."""
    created_by: str | None = None
    """The build instruction that created the layer, from the image history."""


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What an image source tells about an image before any layer is read."""

    id: str
    """The image ID: digest of the image config (``sha256:…``)."""
    layers: tuple[LayerInfo, ...]
    """Ordered layers, base first."""
    repo_tags: tuple[str, ...] = ()
    """Names the image is known by (``repo:tag``)."""
    repo_digests: tuple[str, ...] = ()
    """Registry references by manifest digest (``repo@sha256:…``)."""
    os: str | None = None
    """Operating system from the config (``linux``)."""
    architecture: str | None = None
    """CPU architecture from the config (``amd64``)."""
    created: str | None = None
    """Creation time from the config, RFC 3339."""
    labels: dict[str, str] = field(default_factory=dict)
    """Image labels from the config."""


@dataclass(frozen=True, slots=True)
class Distro:
    """The Linux distribution an image is built on, from os-release or its fallbacks."""

    id: str
    """os-release ``ID`` (``debian``, ``ubuntu``, ``alpine``, ``almalinux``)."""
    version_id: str | None
    """os-release ``VERSION_ID`` (``12``, ``22.04``, ``3.18.4``)."""
    pretty_name: str | None = None
    """os-release ``PRETTY_NAME``."""
    version_codename: str | None = None
    """os-release ``VERSION_CODENAME`` (``bookworm``)."""
    id_like: tuple[str, ...] = ()
    """os-release ``ID_LIKE``."""

    @property
    def ecosystem(self) -> str | None:
        """The OSV ecosystem string for distro packages (``Debian:12``, ``Alpine:v3.18``)."""
        version = self.version_id or ""
        names = {
            "debian": "Debian",
            "ubuntu": "Ubuntu",
            "alpine": "Alpine",
            "almalinux": "AlmaLinux",
            "rocky": "Rocky Linux",
            "rhel": "Red Hat",
            "mariner": "Mariner",
            "azurelinux": "Azure Linux",
            "opensuse-leap": "openSUSE",
            "sles": "SUSE",
            "wolfi": "Wolfi",
            "chainguard": "Chainguard",
        }
        name = names.get(self.id)
        if name is None:
            return None
        if self.id == "alpine":
            major_minor = ".".join(version.split(".")[:2])
            return f"{name}:v{major_minor}" if major_minor else name
        if self.id in ("almalinux", "rocky", "rhel"):
            return f"{name}:{version.split('.')[0]}" if version else name
        if self.id in ("wolfi", "chainguard"):
            return name
        return f"{name}:{version}" if version else name
