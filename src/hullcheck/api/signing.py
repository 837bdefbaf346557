"""Signing and verifying images in registries, in cosign's formats (``registry.signatures``):
``generate-key-pair``, ``sign`` and ``verify``."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass

from hullcheck.errors import RegistryError, UsageError
from hullcheck.registry import cosign, signatures
from hullcheck.registry.client import RegistryClient
from hullcheck.registry.reference import Reference, parse_reference
from hullcheck.registry.signatures import Verification

REGISTRY_SCHEME = "registry:"
MAX_DIGESTS = 8
"""Registry digests of one image tried for a signature, at most."""


@dataclass(frozen=True, slots=True)
class Signed:
    """What ``sign`` did."""

    reference: str
    digest: str
    """The digest signed (the manifest or index the reference names)."""
    location: str
    """Where the signature is: the ``.sig`` tag or the referrer's digest."""
    kind: str
    fingerprint: str


def image_reference(text: str) -> Reference:
    """An image in a registry, with or without ``registry:`` in front."""
    return parse_reference(text.removeprefix(REGISTRY_SCHEME))


def generate_key_pair(prefix: str, password: bytes) -> tuple[str, str]:
    """``PREFIX.key`` (cosign's encrypted format, 0600) and ``PREFIX.pub``; neither replaces
    a file already there."""
    key = cosign.generate_key()
    private, public = f"{prefix}.key", f"{prefix}.pub"
    for path in (private, public):
        if os.path.lexists(path):
            raise UsageError(f"{path}: exists; refusing to replace a key", hint="another --prefix")
    _new_file(private, cosign.encrypt_private_key(key, password), 0o600)
    _new_file(public, cosign.public_pem(key.public_key()), 0o644)
    return private, public


def _new_file(path: str, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    except FileExistsError:
        raise UsageError(f"{path}: exists; refusing to replace a key") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot write ({exc.strerror})") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def sign_image(reference: str, key_path: str, password: bytes, *, legacy: bool = False) -> Signed:
    """Sign the image ``reference`` names in its registry with the key at ``key_path``: a
    cosign 3 bundle referrer, or (``legacy``) a signature in the ``.sig`` tag."""
    ref = image_reference(reference)
    key = cosign.load_private_key(key_path, password)
    with RegistryClient(ref.domain, api_host=ref.api_host) as client:
        digest, location = signatures.sign(client, ref, key, legacy=legacy)
    fingerprint = cosign.PublicKey(key.public_key(), key_path).fingerprint
    return Signed(str(ref), digest, location, "legacy" if legacy else "bundle", fingerprint)


def signature_verdict(
    names: Sequence[str], key_paths: Sequence[str], wanted: str | None = None
) -> tuple[bool, str]:
    """Whether one of the keys signed the image known by ``names`` (``HOST/REPO@DIGEST``:
    the registry digests it was read or pulled by), and what was found; the ``image-unsigned``
    rule reads it. Each digest is tried (those of the repository ``wanted`` names first) until
    one is signed: an image pulled from two registries needs a signature in one."""
    pinned: list[Reference] = []
    for name in names:
        try:
            ref = image_reference(name)
        except UsageError:
            continue
        if ref.digest is not None and all(
            (ref.name, ref.digest) != (seen.name, seen.digest) for seen in pinned
        ):
            pinned.append(ref)
    if not pinned:
        return False, "no registry digest to find its signatures by (review registry:…)"
    if wanted is not None:
        with contextlib.suppress(UsageError):
            repository = image_reference(wanted).name
            pinned.sort(key=lambda ref: ref.name != repository)
    keys = [cosign.load_public_key(path) for path in key_paths]
    failures = []
    for ref in pinned[:MAX_DIGESTS]:
        try:
            with RegistryClient(ref.domain, api_host=ref.api_host) as client:
                found = signatures.verify(client, ref, keys)
        except (RegistryError, UsageError) as exc:
            failures.append(f"its signatures cannot be read ({exc})")
            continue
        if found.ok:
            signer = found.verified[0]
            return True, f"signed by {signer.signer} ({signer.kind})"
        if not found.signatures:
            failures.append(f"no signature of {ref.name}@{ref.digest}")
        else:
            reasons = "; ".join(sorted({s.reason for s in found.signatures}))
            failures.append(
                f"{len(found.signatures)} signatures of {ref.name}@{ref.digest}, none by the "
                f"policy's keys ({reasons})"
            )
    return False, "; ".join(failures)


def verify_image(reference: str, key_paths: Sequence[str]) -> Verification:
    """Every cosign signature of the image ``reference`` names, checked against the keys."""
    if not key_paths:
        raise UsageError("no key to verify with", hint="--key cosign.pub (repeat for several)")
    keys = [cosign.load_public_key(path) for path in key_paths]
    ref = image_reference(reference)
    with RegistryClient(ref.domain, api_host=ref.api_host) as client:
        return signatures.verify(client, ref, keys)
