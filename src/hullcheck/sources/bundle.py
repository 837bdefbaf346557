"""Read-only access to files inside an image bundle: a tar archive or a directory.

Both docker-archive and OCI layouts are bundles of small JSON documents and large blobs.
Names are checked before use: a name that leaves the bundle (``..``, absolute) or a member
that is not a regular file is refused, and nothing is ever extracted to disk.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import tarfile
from abc import ABC, abstractmethod
from typing import IO, Any

from hullcheck.digests import mismatch, unmatched
from hullcheck.errors import SourceError
from hullcheck.sources.interface import MAX_JSON_BYTES, parse_json_document, parse_json_value

_DIGEST = re.compile(r"^(sha256|sha384|sha512):([0-9a-f]{32,128})$")


def blob_path(digest: str, what: str) -> str:
    """``blobs/<alg>/<hex>`` for a well-formed digest; anything else is refused."""
    match = _DIGEST.match(digest)
    if match is None:
        raise SourceError(f"{what}: invalid digest {digest!r}")
    return f"blobs/{match.group(1)}/{match.group(2)}"


def check_digest(data: bytes, digest: str, what: str) -> None:
    """``data`` must hash to ``digest`` (``sha256:…``, ``sha384:…`` or ``sha512:…``)."""
    wrong = unmatched(data, digest, what)
    if wrong is not None:
        raise SourceError(wrong)


class VerifiedBlob(io.RawIOBase):
    """A blob read as a stream and hashed as it goes: at its end, its digest must be the one
    its descriptor names, else :class:`SourceError`. Whoever reads it must read to the end
    (the layer walker does, trailing bytes included)."""

    def __init__(self, inner: IO[bytes], digest: str, what: str) -> None:
        super().__init__()
        blob_path(digest, what)  # refuses what is not a digest
        self._inner = inner
        self._digest = digest
        self._what = what
        algorithm = digest.partition(":")[0]
        self._hash = hashlib.new(algorithm)
        self._checked = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        if not data:
            self._check()
            return 0
        self._hash.update(data)
        buffer[: len(data)] = data
        return len(data)

    def _check(self) -> None:
        if self._checked:
            return
        self._checked = True
        actual = self._hash.hexdigest()
        if actual != self._digest.partition(":")[2]:
            raise SourceError(mismatch(self._what, self._digest, actual))

    def close(self) -> None:
        self._inner.close()
        super().close()


def _clean_name(name: str, what: str) -> str:
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if name.startswith("/") or ".." in parts:
        raise SourceError(f"{what}: refusing path {name!r} that leaves the archive")
    return "/".join(parts)


class Bundle(ABC):
    """Files of an image bundle by relative name."""

    def __init__(self, path: str) -> None:
        self.path = path

    @abstractmethod
    def exists(self, name: str) -> bool:
        """Whether a regular file of that name is present."""

    @abstractmethod
    def open(self, name: str) -> IO[bytes]:
        """Open a regular file; :class:`SourceError` names it when missing."""

    @abstractmethod
    def size(self, name: str) -> int:
        """Size in bytes of a regular file."""

    def read_bytes(self, name: str) -> bytes:
        """A small file (a manifest or a config) whole, bounded in size."""
        if self.size(name) > MAX_JSON_BYTES:
            raise SourceError(f"{self.path}: {name} is too large for a manifest or config")
        with self.open(name) as handle:
            return handle.read()

    def read_json(self, name: str) -> dict[str, Any]:
        """Read a JSON object, bounded in size."""
        return parse_json_document(self.read_bytes(name), f"{self.path}: {name}")

    def read_blob_json(self, digest: str, size: int | None = None) -> tuple[dict[str, Any], bytes]:
        """The JSON object stored as the blob ``digest`` and its bytes, which must hash to
        that digest (and be ``size`` bytes long, when the descriptor says)."""
        name = blob_path(digest, self.path)
        data = self.read_bytes(name)
        what = f"{self.path}: blob {digest}"
        if size is not None and len(data) != size:
            raise SourceError(f"{what}: {len(data)} bytes, not the {size} its descriptor says")
        check_digest(data, digest, what)
        return parse_json_document(data, what), data

    def read_json_list(self, name: str) -> list[Any]:
        """Read a JSON array, bounded in size."""
        value = parse_json_value(self.read_bytes(name), f"{self.path}: {name}")
        if not isinstance(value, list):
            raise SourceError(f"{self.path}: {name} is not a JSON array")
        return value

    def close(self) -> None:  # noqa: B027 - directories hold nothing open
        """Release the archive."""


class TarBundle(Bundle):
    """A tar archive opened for random access (members are located once, never extracted)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        try:
            self._tar = tarfile.open(path, mode="r:")  # noqa: SIM115 - closed in close()
            members = self._tar.getmembers()
        except FileNotFoundError:
            raise SourceError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise SourceError(f"{path}: is a directory, not an archive") from None
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise SourceError(f"{path}: not a readable tar archive ({exc})") from None
        self._members: dict[str, tarfile.TarInfo] = {}
        for member in members:
            name = _clean_name(member.name, path)
            self._members[name] = member

    def _member(self, name: str) -> tarfile.TarInfo:
        member = self._members.get(_clean_name(name, self.path))
        seen = 0
        while member is not None and (member.issym() or member.islnk()) and seen < 8:
            # docker save links duplicate layers; follow only inside the archive
            base = os.path.dirname(member.name) if member.issym() else ""
            target = _clean_name(os.path.join(base, member.linkname), self.path)
            member = self._members.get(target)
            seen += 1
        if member is None:
            raise SourceError(f"{self.path}: {name} is missing from the archive")
        if not member.isfile():
            raise SourceError(f"{self.path}: {name} is not a regular file")
        return member

    def exists(self, name: str) -> bool:
        try:
            self._member(name)
        except SourceError:
            return False
        return True

    def size(self, name: str) -> int:
        return self._member(name).size

    def open(self, name: str) -> IO[bytes]:
        handle = self._tar.extractfile(self._member(name))
        if handle is None:
            raise SourceError(f"{self.path}: {name} cannot be read")
        return handle

    def close(self) -> None:
        self._tar.close()


class DirBundle(Bundle):
    """A directory (an OCI image layout); symlinks inside it are not followed."""

    def _resolve(self, name: str) -> str:
        clean = _clean_name(name, self.path)
        full = os.path.join(self.path, clean)
        try:
            info = os.lstat(full)
        except FileNotFoundError:
            raise SourceError(f"{self.path}: {clean} is missing") from None
        if not stat.S_ISREG(info.st_mode):
            raise SourceError(f"{self.path}: {clean} is not a regular file")
        return full

    def exists(self, name: str) -> bool:
        try:
            self._resolve(name)
        except SourceError:
            return False
        return True

    def size(self, name: str) -> int:
        return os.lstat(self._resolve(name)).st_size

    def open(self, name: str) -> IO[bytes]:
        return open(self._resolve(name), "rb")  # noqa: SIM115 - the caller closes it
