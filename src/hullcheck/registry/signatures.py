"""cosign's signatures in a registry: written and found where cosign writes and looks.

- Legacy: the manifest tagged ``sha256-<hex>.sig`` beside the image, one simple signing layer
  per signature (a new signature is appended, as cosign does).
- cosign 3: a Sigstore bundle in a manifest whose ``subject`` is the image (an OCI 1.1
  referrer, ``artifactType`` the bundle's media type); on a registry without the referrers
  API, also listed in the index tagged ``sha256-<hex>`` (the referrers tag schema).

What is signed is the digest the reference names: a tag of a multi-platform image names its
index, as with cosign.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from hullcheck.errors import RegistryError
from hullcheck.registry import cosign
from hullcheck.registry.client import (
    OCI_INDEX,
    OCI_MANIFEST,
    Manifest,
    RegistryClient,
    referrers_tag,
)
from hullcheck.registry.reference import Reference

EMPTY_CONFIG_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_JSON = b"{}"
MAX_SIGNATURES = 64
"""Signatures examined per image; more are ignored (and said so)."""
MAX_SIGNATURE_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Signature:
    """One signature found for an image and what checking it gave."""

    kind: str
    """``legacy`` (the ``.sig`` tag) or ``bundle`` (a cosign 3 referrer)."""
    location: str
    """Where it is: the ``.sig`` tag and layer, or the referrer's digest."""
    signer: str | None
    """The file of the key that verified it; ``None`` when none did."""
    fingerprint: str | None
    reason: str
    """``ok``, or why it does not count."""


@dataclass(frozen=True, slots=True)
class Verification:
    """An image's signatures checked against the keys given."""

    reference: str
    digest: str
    signatures: tuple[Signature, ...]
    truncated: bool = False

    @property
    def verified(self) -> tuple[Signature, ...]:
        return tuple(s for s in self.signatures if s.signer is not None)

    @property
    def ok(self) -> bool:
        return bool(self.verified)


def resolve(client: RegistryClient, ref: Reference) -> Manifest:
    """The manifest (or index) the reference names: its digest is what gets signed."""
    return client.manifest(ref.repository, ref.pointer)


def sign(
    client: RegistryClient,
    ref: Reference,
    key: ec.EllipticCurvePrivateKey,
    *,
    legacy: bool = False,
) -> tuple[str, str]:
    """Sign what ``ref`` names; (the digest signed, where the signature went)."""
    subject = resolve(client, ref)
    if legacy:
        return subject.digest, _sign_legacy(client, ref, subject, key)
    return subject.digest, _sign_bundle(client, ref, subject, key)


def _sign_legacy(
    client: RegistryClient, ref: Reference, subject: Manifest, key: ec.EllipticCurvePrivateKey
) -> str:
    repository = ref.repository
    tag = referrers_tag(subject.digest) + ".sig"
    payload = cosign.simple_signing_payload(ref.name, subject.digest)
    signature = cosign.sign(key, payload)
    what = f"{ref.name}:{tag}"
    layers: list[dict[str, Any]] = []
    existing = client.find_manifest(repository, tag)
    if existing is not None:
        listed = existing.document.get("layers")
        layers = [layer for layer in listed or [] if isinstance(layer, dict)]
    payload_digest = client.push_blob(repository, payload, what)
    layers.append(
        {
            "mediaType": cosign.SIMPLE_SIGNING_TYPE,
            "size": len(payload),
            "digest": payload_digest,
            "annotations": {cosign.SIGNATURE_ANNOTATION: base64.b64encode(signature).decode()},
        }
    )
    config = _json(
        {
            "architecture": "",
            "created": "0001-01-01T00:00:00Z",
            "history": [{"created": "0001-01-01T00:00:00Z"}],
            "os": "",
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
            "config": {},
        }
    )
    config_digest = client.push_blob(repository, config, what)
    manifest = _json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": len(config),
                "digest": config_digest,
            },
            "layers": layers,
        }
    )
    client.push_manifest(repository, tag, manifest, OCI_MANIFEST, what)
    return what


def _sign_bundle(
    client: RegistryClient, ref: Reference, subject: Manifest, key: ec.EllipticCurvePrivateKey
) -> str:
    repository = ref.repository
    what = f"{ref.name}@{subject.digest}: signature"
    document = cosign.bundle(key, ref.name, subject.digest)
    empty = client.push_blob(repository, EMPTY_JSON, what)
    layer = client.push_blob(repository, document, what)
    annotations = {
        "dev.sigstore.bundle.content": "dsse-envelope",
        "dev.sigstore.bundle.predicateType": cosign.SIGN_PREDICATE,
        "org.opencontainers.image.created": datetime.datetime.now(datetime.UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
    }
    manifest = _json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": cosign.BUNDLE_TYPE,
            "config": {"mediaType": EMPTY_CONFIG_TYPE, "digest": empty, "size": len(EMPTY_JSON)},
            "layers": [{"mediaType": cosign.BUNDLE_TYPE, "digest": layer, "size": len(document)}],
            "subject": {
                "mediaType": subject.media_type,
                "digest": subject.digest,
                "size": len(subject.data),
            },
            "annotations": annotations,
        }
    )
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    client.push_manifest(repository, digest, manifest, OCI_MANIFEST, what)
    if not client.has_referrers_api(repository, subject.digest):
        _add_to_referrers_tag(
            client,
            repository,
            subject.digest,
            {
                "mediaType": OCI_MANIFEST,
                "digest": digest,
                "size": len(manifest),
                "artifactType": cosign.BUNDLE_TYPE,
                "annotations": annotations,
            },
            what,
        )
    return f"{ref.name}@{digest}"


def _add_to_referrers_tag(
    client: RegistryClient,
    repository: str,
    subject: str,
    descriptor: dict[str, Any],
    what: str,
) -> None:
    tag = referrers_tag(subject)
    manifests: list[dict[str, Any]] = []
    existing = client.find_manifest(repository, tag, (OCI_INDEX,))
    if existing is not None:
        listed = existing.document.get("manifests")
        manifests = [m for m in listed or [] if isinstance(m, dict)]
    manifests = [m for m in manifests if m.get("digest") != descriptor["digest"]]
    manifests.append(descriptor)
    index = _json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})
    client.push_manifest(repository, tag, index, OCI_INDEX, what)


def verify(client: RegistryClient, ref: Reference, keys: list[cosign.PublicKey]) -> Verification:
    """Every signature of what ``ref`` names, legacy and cosign 3, checked against ``keys``."""
    subject = resolve(client, ref)
    found: list[Signature] = []
    candidates = _legacy_candidates(client, ref, subject.digest)
    candidates += _bundle_candidates(client, ref, subject.digest)
    truncated = len(candidates) > MAX_SIGNATURES
    for kind, location, loader in candidates[:MAX_SIGNATURES]:
        try:
            signer, reason = loader(subject.digest, keys)
        except RegistryError as exc:
            signer, reason = None, str(exc)
        found.append(
            Signature(
                kind,
                location,
                signer.source if signer else None,
                signer.fingerprint if signer else None,
                reason,
            )
        )
    return Verification(f"{ref.name}@{subject.digest}", subject.digest, tuple(found), truncated)


Loader = Callable[[str, list[cosign.PublicKey]], tuple[cosign.PublicKey | None, str]]
"""Reads one signature and checks it: (the subject digest, the keys) → (signer, reason)."""


def _legacy_candidates(
    client: RegistryClient, ref: Reference, digest: str
) -> list[tuple[str, str, Loader]]:
    tag = referrers_tag(digest) + ".sig"
    existing = client.find_manifest(ref.repository, tag)
    if existing is None:
        return []
    listed = existing.document.get("layers")
    found: list[tuple[str, str, Loader]] = []
    for index, layer in enumerate(listed if isinstance(listed, list) else []):
        if not isinstance(layer, dict) or layer.get("mediaType") != cosign.SIMPLE_SIGNING_TYPE:
            continue
        annotations = layer.get("annotations")
        signature = (
            annotations.get(cosign.SIGNATURE_ANNOTATION) if isinstance(annotations, dict) else None
        )
        location = f"{ref.name}:{tag} layer {index}"

        def load(
            subject: str,
            keys: list[cosign.PublicKey],
            layer: dict[str, Any] = layer,
            signature: Any = signature,
            location: str = location,
        ) -> tuple[cosign.PublicKey | None, str]:
            if not isinstance(signature, str):
                return None, "no signature annotation"
            payload = _small_blob(client, ref.repository, layer, location)
            return cosign.check_simple_signing(payload, signature, subject, keys)

        found.append(("legacy", location, load))
    return found


def _bundle_candidates(
    client: RegistryClient, ref: Reference, digest: str
) -> list[tuple[str, str, Loader]]:
    found: list[tuple[str, str, Loader]] = []
    for descriptor in client.referrers(ref.repository, digest, cosign.BUNDLE_TYPE):
        referrer = descriptor.get("digest")
        if not isinstance(referrer, str):
            continue
        location = f"{ref.name}@{referrer}"

        def load(
            subject: str,
            keys: list[cosign.PublicKey],
            referrer: str = referrer,
            location: str = location,
        ) -> tuple[cosign.PublicKey | None, str]:
            manifest = client.manifest(ref.repository, referrer).document
            told = manifest.get("subject")
            if not isinstance(told, dict) or told.get("digest") != subject:
                return None, "its manifest names another subject"
            layers = [
                layer
                for layer in manifest.get("layers") or []
                if isinstance(layer, dict) and layer.get("mediaType") == cosign.BUNDLE_TYPE
            ]
            if not layers:
                return None, "no bundle layer"
            document = _small_blob(client, ref.repository, layers[0], location)
            return cosign.check_bundle(document, subject, keys)

        found.append(("bundle", location, load))
    return found


def _small_blob(
    client: RegistryClient, repository: str, descriptor: dict[str, Any], what: str
) -> bytes:
    digest, size = descriptor.get("digest"), descriptor.get("size")
    if not isinstance(digest, str):
        raise RegistryError(f"{what}: a descriptor without a digest")
    if isinstance(size, int) and size > MAX_SIGNATURE_BYTES:
        raise RegistryError(f"{what}: {size} bytes is too large for a signature")
    return client.blob_bytes(
        repository, digest, size if isinstance(size, int) else MAX_SIGNATURE_BYTES, what
    )


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
