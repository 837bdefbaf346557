"""cosign's key-based signatures, in cosign's own formats, built on ``cryptography`` and
PyNaCl (sigstore-python cannot verify with a bare public key).

- Keys: ECDSA P-256, cosign's default. A private key in cosign's encrypted format
  (``ENCRYPTED SIGSTORE PRIVATE KEY``, or ``ENCRYPTED COSIGN PRIVATE KEY`` of older cosigns: a
  JSON document of scrypt parameters, a NaCl secretbox nonce and the box of the key's PKCS #8
  DER) or as plain PEM (PKCS #8 or SEC 1); a public key as PEM (SubjectPublicKeyInfo).
- The legacy signature: a *simple signing* payload naming the image's manifest digest,
  signed with ECDSA-SHA256 (ASN.1 DER, base64 in the layer's
  ``dev.cosignproject.cosign/signature`` annotation).
- cosign 3's bundle: a Sigstore bundle v0.3 whose DSSE envelope carries an in-toto statement
  (predicate type ``https://sigstore.dev/cosign/sign/v1``) with the manifest digest as its
  subject, the signature over DSSE's pre-authentication encoding.

No transparency log is written or read (hullcheck works offline): what is checked is the
signature by a key the user names, as ``cosign verify --key K --insecure-ignore-tlog``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from hullcheck.errors import UsageError

SIMPLE_SIGNING_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
SIMPLE_SIGNING_KIND = "cosign container image signature"
BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"
IN_TOTO_TYPE = "application/vnd.in-toto+json"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
ENCRYPTED_TYPES = ("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 65536, 8, 1
MAX_SCRYPT_N = 1 << 20
"""Work an encrypted key may ask of scrypt: 1 GiB of memory at r=8; more is refused."""
_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)\s*-----END \1-----", re.DOTALL)


class KeyFileError(UsageError):
    """A key file that cannot be read, decrypted or used."""


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A verification key and where it came from."""

    key: ec.EllipticCurvePublicKey
    source: str

    @property
    def fingerprint(self) -> str:
        """``sha256:`` of the key's SubjectPublicKeyInfo DER (what a policy and a report name)."""
        der = self.key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return "sha256:" + hashlib.sha256(der).hexdigest()


# -- keys -------------------------------------------------------------------------------------
def _pem_blocks(data: bytes, path: str) -> list[tuple[str, bytes]]:
    blocks = []
    for match in _PEM.finditer(data):
        try:
            body = base64.b64decode(b"".join(match.group(2).split()), validate=True)
        except binascii.Error:
            raise KeyFileError(f"{path}: a PEM block that is not base64") from None
        blocks.append((match.group(1).decode(), body))
    if not blocks:
        raise KeyFileError(f"{path}: no PEM key in the file")
    return blocks


def _read_key_file(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(1024 * 1024 + 1)
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot be read ({exc.strerror})") from None
    if len(data) > 1024 * 1024:
        raise KeyFileError(f"{path}: too large for a key file")
    return data


def load_private_key(path: str, password: bytes) -> ec.EllipticCurvePrivateKey:
    """A signing key from ``path``: cosign's encrypted format or plain PEM."""
    kind, body = _pem_blocks(_read_key_file(path), path)[0]
    if kind in ENCRYPTED_TYPES:
        der = decrypt_private_key(body, password, path)
        key: Any = _private_from_der(der, path)
    elif kind in ("PRIVATE KEY", "EC PRIVATE KEY"):
        key = _private_from_der(body, path)
    else:
        raise KeyFileError(f"{path}: a {kind}, not a private key")
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeyFileError(f"{path}: not an ECDSA P-256 key (the kind cosign makes)")
    return key


def _private_from_der(der: bytes, path: str) -> Any:
    try:
        return serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError):
        raise KeyFileError(f"{path}: the private key cannot be parsed") from None


def decrypt_private_key(document: bytes, password: bytes, path: str) -> bytes:
    """The PKCS #8 DER inside cosign's encrypted key document."""
    from nacl.exceptions import CryptoError
    from nacl.secret import SecretBox

    try:
        envelope = json.loads(document)
        kdf, cipher = envelope["kdf"], envelope["cipher"]
        params = kdf["params"]
        n, r, p = int(params["N"]), int(params["r"]), int(params["p"])
        salt = base64.b64decode(kdf["salt"])
        nonce = base64.b64decode(cipher["nonce"])
        boxed = base64.b64decode(envelope["ciphertext"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise KeyFileError(f"{path}: not cosign's encrypted key format") from None
    if kdf.get("name") != "scrypt" or cipher.get("name") != "nacl/secretbox":
        raise KeyFileError(f"{path}: encrypted with {kdf.get('name')}/{cipher.get('name')}")
    if not (1 < n <= MAX_SCRYPT_N and n & (n - 1) == 0 and 0 < r <= 32 and 0 < p <= 16):
        raise KeyFileError(f"{path}: scrypt parameters out of bounds (N={n}, r={r}, p={p})")
    if len(nonce) != SecretBox.NONCE_SIZE:
        raise KeyFileError(f"{path}: the secretbox nonce is not {SecretBox.NONCE_SIZE} bytes")
    secret = Scrypt(salt=salt, length=SecretBox.KEY_SIZE, n=n, r=r, p=p).derive(password)
    try:
        return bytes(SecretBox(secret).decrypt(boxed, nonce))
    except CryptoError:
        raise KeyFileError(f"{path}: wrong password, or the key file was altered") from None


def encrypt_private_key(key: ec.EllipticCurvePrivateKey, password: bytes) -> bytes:
    """``key`` in cosign's encrypted format, as PEM (``ENCRYPTED SIGSTORE PRIVATE KEY``)."""
    from nacl.secret import SecretBox

    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    salt, nonce = os.urandom(32), os.urandom(SecretBox.NONCE_SIZE)
    secret = Scrypt(salt=salt, length=SecretBox.KEY_SIZE, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    boxed = SecretBox(secret.derive(password)).encrypt(der, nonce).ciphertext
    document = {
        "kdf": {
            "name": "scrypt",
            "params": {"N": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P},
            "salt": base64.b64encode(salt).decode(),
        },
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(boxed).decode(),
    }
    return _pem(ENCRYPTED_TYPES[0], json.dumps(document).encode())


def public_pem(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def generate_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def load_public_key(path: str) -> PublicKey:
    """A verification key: a PEM public key, or the public half of a certificate."""
    from cryptography import x509

    kind, body = _pem_blocks(_read_key_file(path), path)[0]
    try:
        if kind == "PUBLIC KEY":
            key: Any = serialization.load_der_public_key(body)
        elif kind == "CERTIFICATE":
            key = x509.load_der_x509_certificate(body).public_key()
        else:
            raise KeyFileError(f"{path}: a {kind}, not a public key")
    except ValueError:
        raise KeyFileError(f"{path}: the public key cannot be parsed") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise KeyFileError(f"{path}: not an ECDSA key (cosign's default)")
    return PublicKey(key, path)


def _pem(kind: str, body: bytes) -> bytes:
    encoded = base64.b64encode(body).decode()
    lines = "\n".join(encoded[i : i + 64] for i in range(0, len(encoded), 64))
    return f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----\n".encode()


# -- payloads ---------------------------------------------------------------------------------
def simple_signing_payload(docker_reference: str, manifest_digest: str) -> bytes:
    """cosign's payload for an image (the bytes signed and stored as the layer)."""
    return json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": docker_reference},
                "image": {"docker-manifest-digest": manifest_digest},
                "type": SIMPLE_SIGNING_KIND,
            },
            "optional": None,
        },
        separators=(",", ":"),
    ).encode()


def sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """ECDSA-SHA256, ASN.1 DER (what cosign writes)."""
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def signature_valid(key: PublicKey, data: bytes, signature: bytes) -> bool:
    try:
        key.key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what an envelope's signature covers."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def statement(repository: str, manifest_digest: str) -> bytes:
    algorithm, _, value = manifest_digest.partition(":")
    return json.dumps(
        {
            "_type": STATEMENT_V1,
            "subject": [{"name": repository, "digest": {algorithm: value}}],
            "predicateType": SIGN_PREDICATE,
            "predicate": {},
        },
        separators=(",", ":"),
    ).encode()


def bundle(key: ec.EllipticCurvePrivateKey, repository: str, manifest_digest: str) -> bytes:
    """A Sigstore bundle v0.3 signing ``manifest_digest`` as cosign 3 does, without a
    transparency log entry; the key named by its fingerprint as the hint."""
    payload = statement(repository, manifest_digest)
    signature = sign(key, pae(IN_TOTO_TYPE, payload))
    hint = PublicKey(key.public_key(), "").fingerprint
    return json.dumps(
        {
            "mediaType": BUNDLE_TYPE,
            "verificationMaterial": {"publicKey": {"hint": hint}, "tlogEntries": []},
            "dsseEnvelope": {
                "payload": base64.b64encode(payload).decode(),
                "payloadType": IN_TOTO_TYPE,
                "signatures": [{"sig": base64.b64encode(signature).decode(), "keyid": ""}],
            },
        },
        separators=(",", ":"),
    ).encode()


# -- verification -----------------------------------------------------------------------------
def check_simple_signing(
    payload: bytes, signature_b64: str, manifest_digest: str, keys: list[PublicKey]
) -> tuple[PublicKey | None, str]:
    """The key that signed ``payload`` for ``manifest_digest``; else ``None`` and why."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return None, "the signature annotation is not base64"
    signer = next((k for k in keys if signature_valid(k, payload, signature)), None)
    if signer is None:
        return None, "signed by none of the keys given"
    try:
        critical = json.loads(payload)["critical"]
        named = critical["image"]["docker-manifest-digest"]
        kind = critical["type"]
    except (ValueError, KeyError, TypeError):
        return None, "the signed payload is not a simple signing document"
    if kind != SIMPLE_SIGNING_KIND:
        return None, f"the signed payload is of type {str(kind)[:60]!r}"
    if named != manifest_digest:
        return None, f"signs {str(named)[:80]}, another image"
    return signer, "ok"


def check_bundle(
    document: bytes, manifest_digest: str, keys: list[PublicKey]
) -> tuple[PublicKey | None, str]:
    """The key whose DSSE signature in the bundle covers a statement about
    ``manifest_digest``; else ``None`` and why."""
    try:
        found = json.loads(document)
        envelope = found["dsseEnvelope"]
        payload_type = envelope["payloadType"]
        payload = base64.b64decode(envelope["payload"], validate=True)
        signatures = [base64.b64decode(s["sig"], validate=True) for s in envelope["signatures"]]
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None, "not a Sigstore bundle with a DSSE envelope"
    signed = pae(str(payload_type), payload)
    signer = next((k for k in keys for s in signatures if signature_valid(k, signed, s)), None)
    if signer is None:
        return None, "signed by none of the keys given"
    if payload_type != IN_TOTO_TYPE:
        return None, f"the envelope carries {str(payload_type)[:60]!r}, not an in-toto statement"
    try:
        told = json.loads(payload)
        predicate = told["predicateType"]
        subjects = told["subject"]
        algorithm, _, value = manifest_digest.partition(":")
        named = [s["digest"].get(algorithm) for s in subjects if isinstance(s, dict)]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, "the signed statement cannot be read"
    if predicate != SIGN_PREDICATE:
        return None, f"an attestation of {str(predicate)[:80]}, not a signature"
    if value not in named:
        return None, "signs another image"
    return signer, "ok"
