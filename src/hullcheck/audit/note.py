"""Signed notes and checkpoints, as C2SP specifies them (c2sp.org/signed-note,
c2sp.org/tlog-checkpoint) — the format of Go's checksum database and of transparency-log
witnesses, so that any of their verifiers can check hullcheck's audit checkpoints.

A note is UTF-8 text ending in a newline, a blank line, then one line per signature:
``— NAME BASE64(KEY_HASH || SIGNATURE)``. An Ed25519 key is written
``NAME+HEXHASH+BASE64(0x01 || PUBLIC_KEY)`` (the verifier key) and
``PRIVATE+KEY+NAME+HEXHASH+BASE64(0x01 || SEED)`` (the signer key); its hash is the first
four bytes of ``SHA-256(NAME || "\\n" || 0x01 || PUBLIC_KEY)``.

A checkpoint is a note whose text is the log's origin, its tree size and the base64 of its
root hash, one per line, then optional extension lines.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hullcheck.errors import HullcheckError

ED25519 = 0x01
_DASH = "\u2014 "
MAX_NOTE_BYTES = 1 << 20


class NoteError(HullcheckError):
    """A key or note that cannot be read, or a signature that does not verify."""


def _key_hash(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public).digest()[:4]


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def _parts(key: str, count: int, what: str) -> list[str]:
    parts = key.strip().split("+", count - 1)
    if len(parts) != count:
        raise NoteError(f"{what}: not a key (NAME+HASH+KEY)")
    return parts


def _decoded(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"{what}: not base64") from None


@dataclass(frozen=True)
class VerifierKey:
    name: str
    public: bytes

    @property
    def key_hash(self) -> bytes:
        return _key_hash(self.name, self.public)

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """``NAME+HEXHASH+BASE64(0x01 || PUBLIC_KEY)``; the hash must be the key's."""
        name, hash_hex, encoded = _parts(text, 3, "verifier key")
        raw = _decoded(encoded, f"verifier key {name[:64]!r}")
        if not _valid_name(name) or len(raw) != 33 or raw[0] != ED25519:
            raise NoteError(f"verifier key {name[:64]!r}: not an Ed25519 verifier key")
        key = cls(name, raw[1:])
        if key.key_hash.hex() != hash_hex:
            raise NoteError(f"verifier key {name[:64]!r}: its hash is not {hash_hex[:8]!r}")
        return key

    def __str__(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.public).decode()
        return f"{self.name}+{self.key_hash.hex()}+{encoded}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, text)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class SignerKey:
    name: str
    seed: bytes

    @classmethod
    def generate(cls, name: str) -> SignerKey:
        if not _valid_name(name):
            raise NoteError(f"{name[:64]!r}: a key name has no '+' and no spaces")
        seed = Ed25519PrivateKey.generate().private_bytes_raw()
        return cls(name, seed)

    @classmethod
    def parse(cls, text: str) -> SignerKey:
        """``PRIVATE+KEY+NAME+HEXHASH+BASE64(0x01 || SEED)``; the hash must be the key's."""
        private, marker, name, hash_hex, encoded = _parts(text, 5, "signer key")
        if (private, marker) != ("PRIVATE", "KEY"):
            raise NoteError("signer key: does not start with PRIVATE+KEY+")
        raw = _decoded(encoded, f"signer key {name[:64]!r}")
        if not _valid_name(name) or len(raw) != 33 or raw[0] != ED25519:
            raise NoteError(f"signer key {name[:64]!r}: not an Ed25519 signer key")
        key = cls(name, raw[1:])
        if key.verifier().key_hash.hex() != hash_hex:
            raise NoteError(f"signer key {name[:64]!r}: its hash is not {hash_hex[:8]!r}")
        return key

    def __str__(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier().key_hash.hex()}+{encoded}"

    @functools.cached_property
    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @functools.cached_property
    def _key_hash(self) -> bytes:
        return self.verifier().key_hash

    def verifier(self) -> VerifierKey:
        return VerifierKey(self.name, self._private.public_key().public_bytes_raw())

    def sign(self, text: str) -> str:
        """The note of ``text`` (which must end in a newline) signed with this key."""
        if not text.endswith("\n") or "\n\n" in text:
            raise NoteError("a note's text ends in one newline and has no blank line")
        signature = self._private.sign(text.encode())
        blob = base64.b64encode(self._key_hash + signature).decode()
        return f"{text}\n{_DASH}{self.name} {blob}\n"


def _split(note: str) -> tuple[str, list[str]]:
    if len(note.encode()) > MAX_NOTE_BYTES:
        raise NoteError("note: too large")
    text, separator, signatures = note.rpartition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise NoteError("note: no signature block")
    return text + "\n", signatures[:-1].split("\n")


def note_text(note: str) -> str:
    """The text of a well-formed note, its signatures not checked (``open_note`` checks)."""
    return _split(note)[0]


def open_note(note: str, key: VerifierKey) -> str:
    """The text of ``note`` when ``key`` signed it; other keys' signatures are ignored."""
    text, lines = _split(note)
    for line in lines:
        if not line.startswith(_DASH):
            raise NoteError("note: a signature line does not start with '\u2014 '")
        name, _, encoded = line[len(_DASH) :].partition(" ")
        if name != key.name:
            continue
        blob = _decoded(encoded, f"note: signature of {name[:64]!r}")
        if len(blob) == 4 + 64 and blob[:4] == key.key_hash and key.verify(text.encode(), blob[4:]):
            return text
    raise NoteError(f"note: not signed by {key.name[:64]!r} (or its signature does not verify)")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not lines[0]:
            raise NoteError("checkpoint: not origin, size and root hash, one per line")
        origin, size, encoded, *extensions = lines[:-1]
        if not size.isdigit() or (size != "0" and size.startswith("0")):
            raise NoteError(f"checkpoint {origin[:64]!r}: tree size {size[:24]!r} is not a number")
        root = _decoded(encoded, f"checkpoint {origin[:64]!r}: root hash")
        if len(root) != 32:
            raise NoteError(f"checkpoint {origin[:64]!r}: the root hash is not 32 bytes")
        return cls(origin, int(size), root, tuple(extensions))
