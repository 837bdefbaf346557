"""Content digests (``sha256:…``, ``sha384:…``, ``sha512:…``) and the one way a content that
is not its digest is reported, wherever it was read from."""

from __future__ import annotations

import hashlib

ALGORITHMS = frozenset({"sha256", "sha384", "sha512"})


def mismatch(what: str, digest: str, actual: str, named_by: str = "its manifest names") -> str:
    """The message for content that hashed to ``actual`` (hex) where ``digest`` was named."""
    algorithm = digest.partition(":")[0]
    return (
        f"{what}: content is {algorithm}:{actual[:16]}…, not the {digest[:23]}… {named_by} "
        "(edited or corrupt)"
    )


def unmatched(data: bytes, digest: str, what: str) -> str | None:
    """Why ``data`` is not ``digest``; ``None`` when it is."""
    algorithm, _, expected = digest.partition(":")
    if algorithm not in ALGORITHMS:
        return f"{what}: unsupported digest algorithm {algorithm[:20]!r}"
    actual = hashlib.new(algorithm, data).hexdigest()
    return None if actual == expected else mismatch(what, digest, actual, "it is named by")
