"""cosign's own keys and signatures, recorded from cosign's and sigstore-rs's test data
(tests/data/cosign/README.md), read and verified by hullcheck."""

from __future__ import annotations

import base64
import json
import os

import pytest
from cryptography import x509

from hullcheck.errors import UsageError
from hullcheck.registry import cosign

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "cosign")
BUSYBOX = "sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b"


def _data(name: str) -> str:
    return os.path.join(DATA, name)


def test_cosigns_encrypted_keys_open_with_their_password_only() -> None:
    key = cosign.load_private_key(_data("cosign-keys_test-pemsigstorekey.key"), b"hello")
    empty = cosign.load_private_key(
        _data("sigstore-rs-cosign_generated_encrypted_empty_private.key"), b""
    )
    assert key.curve.name == empty.curve.name == "secp256r1"
    with pytest.raises(UsageError) as wrong:
        cosign.load_private_key(_data("cosign-keys_test-pemsigstorekey.key"), b"hullo")
    assert str(wrong.value).endswith(
        "cosign-keys_test-pemsigstorekey.key: wrong password, or the key file was altered"
    )


def test_a_key_hullcheck_encrypts_opens_as_cosign_lays_it_out(tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = cosign.generate_key()
    written = cosign.encrypt_private_key(key, b"s3cret")
    assert written.startswith(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    body = b"".join(written.splitlines()[1:-1])
    envelope = json.loads(base64.b64decode(body))
    # the layout of cosign's own key (tests/data/cosign): scrypt N=65536 r=8 p=1, secretbox
    with open(_data("sigstore-rs-cosign_generated_encrypted_empty_private.key"), "rb") as recorded:
        theirs = json.loads(base64.b64decode(b"".join(recorded.read().splitlines()[1:-1])))
    assert envelope["kdf"]["params"] == theirs["kdf"]["params"] == {"N": 65536, "r": 8, "p": 1}
    assert envelope["kdf"]["name"] == theirs["kdf"]["name"] == "scrypt"
    assert envelope["cipher"]["name"] == theirs["cipher"]["name"] == "nacl/secretbox"
    path = tmp_path / "k.key"
    path.write_bytes(written)
    again = cosign.load_private_key(str(path), b"s3cret")
    assert again.private_numbers() == key.private_numbers()


def test_a_cosign_signature_verifies_with_its_public_key_for_its_image_only() -> None:
    key = cosign.load_public_key(_data("sigstore-rs-busybox.pub"))
    with open(_data("sigstore-rs-busybox.payload.json"), "rb") as handle:
        payload = handle.read()
    with open(_data("sigstore-rs-busybox.sig")) as handle:
        signature = handle.read().strip()
    signer, reason = cosign.check_simple_signing(payload, signature, BUSYBOX, [key])
    assert (signer, reason) == (key, "ok")
    # the same signature presented for another image does not count
    other = "sha256:" + "0" * 64
    assert cosign.check_simple_signing(payload, signature, other, [key]) == (
        None,
        f"signs {BUSYBOX}, another image",
    )
    # one byte of the payload changed: no key signed that
    edited = payload.replace(b"busybox", b"busyb0x")
    assert cosign.check_simple_signing(edited, signature, BUSYBOX, [key]) == (
        None,
        "signed by none of the keys given",
    )


def test_a_sigstore_dsse_envelope_verifies_with_its_signers_key() -> None:
    with open(_data("sigstore-rs-dsse.sigstore.json"), "rb") as handle:
        document = handle.read()
    chain = json.loads(document)["verificationMaterial"]["x509CertificateChain"]
    leaf = x509.load_der_x509_certificate(base64.b64decode(chain["certificates"][0]["rawBytes"]))
    signer = cosign.PublicKey(leaf.public_key(), "leaf")  # type: ignore[arg-type]
    stranger = cosign.PublicKey(cosign.generate_key().public_key(), "stranger")
    # the envelope's signature is the leaf's: then what it signs is read (an SLSA
    # provenance, so it is not an image signature)
    assert cosign.check_bundle(document, BUSYBOX, [stranger, signer]) == (
        None,
        "an attestation of https://slsa.dev/provenance/v0.2, not a signature",
    )
    assert cosign.check_bundle(document, BUSYBOX, [stranger]) == (
        None,
        "signed by none of the keys given",
    )
