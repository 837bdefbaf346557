"""Image references read as Docker reads them (distribution's ``reference`` grammar).

``nginx`` is ``docker.io/library/nginx:latest``; the first component is a registry when it
holds a dot or a colon or is ``localhost``; a ``@sha256:…`` digest pins the manifest.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from hullcheck.errors import UsageError

DOCKER_HUB = "docker.io"
HUB_API = "registry-1.docker.io"
HUB_AUTH_KEY = "https://index.docker.io/v1/"
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})")
_DOMAIN = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?")


@dataclass(frozen=True, slots=True)
class Reference:
    """``domain/repository[:tag][@digest]``."""

    domain: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def api_host(self) -> str:
        """Where the registry's API answers (Docker Hub's is not ``docker.io``)."""
        return HUB_API if self.domain == DOCKER_HUB else self.domain

    @property
    def name(self) -> str:
        """``domain/repository``."""
        return f"{self.domain}/{self.repository}"

    @property
    def pointer(self) -> str:
        """What the manifest is asked by: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.domain, self.repository, self.tag, digest)

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.domain, self.repository, tag, None)

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str) -> Reference:
    """Read ``text`` as Docker does; anything else is a :class:`UsageError` naming it."""
    if not text or len(text) > 4096 or text != text.strip():
        raise UsageError(f"{text[:80]!r}: not an image reference")
    rest, at, digest = text.partition("@")
    if at and not _DIGEST.fullmatch(digest):
        raise UsageError(f"{text}: {digest[:80]!r} is not a digest (sha256:<64 hex>)")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, remainder
    else:
        domain, path = DOCKER_HUB, rest
    if domain == "index.docker.io":
        domain = DOCKER_HUB
    tag = None
    last_slash = path.rfind("/")
    colon = path.rfind(":")
    if colon > last_slash:
        path, tag = path[:colon], path[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise UsageError(f"{text}: {tag[:80]!r} is not a tag")
    if not _DOMAIN.fullmatch(domain):
        raise UsageError(f"{text}: {domain[:80]!r} is not a registry host")
    components = path.split("/")
    if not path or not all(_COMPONENT.fullmatch(c) for c in components):
        raise UsageError(
            f"{text}: {path[:80]!r} is not a repository name (lowercase letters, digits and "
            "separators)"
        )
    if domain == DOCKER_HUB and len(components) == 1:
        path = f"library/{path}"
    if tag is None and not at:
        tag = "latest"
    return Reference(domain, path, tag, digest if at else None)


def is_loopback(domain: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ``[::1]``, with any port: Docker talks plain HTTP to
    these when HTTPS fails."""
    host = domain.rsplit(":", 1)[0] if not domain.endswith("]") else domain
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
