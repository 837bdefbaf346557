"""A lean, strict reader of layer tar streams: every header, and the data of wanted entries.

A layer walk reads every header of a layer (a Debian base has 6,700) but the data of a
handful of them. Python's ``tarfile`` in stream mode spent most of a cold scan's time in its
own buffering and in building a ``TarInfo`` per header; this reader parses each 512-byte header
in place from large chunks of the decompressed stream and skips unwanted data without
copying it.

It reads what container layers are made of — POSIX ustar, GNU (long names and links, base-256
numbers) and pax (path, linkpath and size records, global headers) — with ``tarfile``'s
semantics, which a differential test holds it to. It is stricter where ``tarfile`` is lenient,
as Docker's own reader (Go's ``archive/tar``) is:

- a header with a bad checksum ends ``tarfile``'s walk silently; here it is a broken layer;
- a stream that ends inside a header or inside an entry's data is a truncated layer;
- pax records that do not parse, and a pax size that is not a number, are a broken layer
  (``tarfile`` takes such a size as 0 and reads the entry's data as headers);
- pax and GNU long-name data over 1 MiB, and more than 16 such headers before one entry, are
  refused (``tarfile`` reads any size into memory, and recurses once per header).

Sparse files (GNU ``S`` headers, pax ``GNU.sparse.*``) are listed with ``sparse=True`` and
their data skipped: catalogers never read them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import NamedTuple

from hullcheck.errors import LayerError

BLOCK = 512
_CHUNK = 1024 * 1024
MAX_META_BYTES = 1024 * 1024
"""Largest pax or GNU long-name header data accepted."""
MAX_META_HEADERS = 16
"""Most pax or GNU long-name headers accepted before one entry."""

REGULAR = frozenset((b"0", b"\0", b"7", b"S"))
"""Types whose data is the file's content (``7`` is contiguous, ``S`` GNU sparse)."""
_HEADER_ONLY = frozenset((b"1", b"2", b"3", b"4", b"5", b"6"))
"""Links, devices, directories and FIFOs: their size field is ignored, no data follows."""
_GNU_TYPES = frozenset((b"L", b"K", b"S"))
_PAX = frozenset((b"x", b"X"))
_ZEROS = bytes(BLOCK)
_SIGNED = struct.Struct("148b8x356b")


class Entry(NamedTuple):
    """One tar entry, as its headers describe it."""

    name: str
    """As stored (not normalised), with pax, GNU and ustar-prefix names applied."""
    type: bytes
    """The one-byte type flag (``0`` file, ``1`` hardlink, ``2`` symlink, ``5`` directory …)."""
    size: int
    mode: int
    linkname: str
    sparse: bool = False

    def isreg(self) -> bool:
        return self.type in REGULAR

    def issym(self) -> bool:
        return self.type == b"2"

    def islnk(self) -> bool:
        return self.type == b"1"


class TarStream:
    """Entries of a tar stream read through ``read(size)``, in order; :meth:`read` gives the
    data of the current entry (what is not read is skipped when the next entry is reached)."""

    def __init__(self, read: Callable[[int], bytes], what: str) -> None:
        self._source = read
        self._what = what
        self._buffer = b""
        self._at = 0
        """Position of the next unread byte in ``_buffer``."""
        self._consumed = 0
        """Bytes of the stream before ``_buffer``."""
        self._left = 0
        """Data bytes of the current entry not read yet."""
        self._padding = 0
        """Bytes after the current entry's data, up to the next header."""
        self._globals: dict[str, str] = {}

    @property
    def offset(self) -> int:
        """Position in the stream of the next unread byte."""
        return self._consumed + self._at

    def __iter__(self) -> Iterator[Entry]:
        while True:
            self._skip(self._left + self._padding)
            self._left = self._padding = 0
            entry = self._next()
            if entry is None:
                return
            yield entry

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all when negative) of the current entry's data."""
        size = self._left if size < 0 else min(size, self._left)
        data = self._take(size)
        self._left -= size
        return data

    # -- headers ----------------------------------------------------------------------------
    def _next(self) -> Entry | None:
        pax: dict[str, str] = {}
        long_name: str | None = None
        long_link: str | None = None
        for _ in range(MAX_META_HEADERS + 1):
            start = self.offset
            header = self._take(BLOCK, at_end_ok=True)
            if not header:
                if start == 0:
                    raise LayerError(f"{self._what}: not a tar stream (empty)")
                return None  # the stream ends where an entry could start: no end marker
            if header == _ZEROS:
                return None
            self._check(header, start)
            kind = header[156:157]
            size = self._number(header[124:136], start, "size")
            if kind in _PAX or kind == b"g":
                records = self._pax(self._meta(size, start), start)
                if kind == b"g":
                    self._globals.update(records)
                else:
                    pax = self._globals | pax | records
                continue
            if kind == b"L" or kind == b"K":
                text = _text(self._meta(size, start))
                if kind == b"L":
                    long_name = text
                else:
                    long_link = text
                continue
            return self._entry(header, kind, size, start, pax, long_name, long_link)
        raise LayerError(
            f"{self._what}: more than {MAX_META_HEADERS} pax or long-name headers before "
            f"one entry at offset {self.offset} (hostile layer)"
        )

    def _entry(
        self,
        header: bytes,
        kind: bytes,
        size: int,
        start: int,
        pax: dict[str, str],
        long_name: str | None,
        long_link: str | None,
    ) -> Entry:
        name = _text(header[0:100])
        linkname = _text(header[157:257])
        prefix = _text(header[345:500])
        mode = self._number(header[100:108], start, "mode")
        if kind == b"\0" and name.endswith("/"):
            kind = b"5"  # the old V7 way of writing a directory
        sparse = kind == b"S"
        if sparse and header[482]:
            self._sparse_extensions(start)
        if kind == b"5":
            name = name.rstrip("/")
        if prefix and kind not in _GNU_TYPES:
            name = f"{prefix}/{name}"
        if long_name is not None:
            name = long_name.removesuffix("/") if kind == b"5" else long_name
        if long_link is not None:
            linkname = long_link
        stored = size
        if pax:
            name = pax["path"].rstrip("/") if "path" in pax else name
            linkname = pax.get("linkpath", linkname)
            if "size" in pax:
                stored = size = self._pax_number(pax["size"], start)
            if any(key.startswith("GNU.sparse.") for key in pax):
                sparse = True
        if kind in _HEADER_ONLY:
            stored = 0
        self._left = stored
        self._padding = -stored % BLOCK
        return Entry(name, kind, size, mode, linkname, sparse)

    def _check(self, header: bytes, start: int) -> None:
        stored = self._number(header[148:156], start, "checksum")
        unsigned = sum(header) - sum(header[148:156]) + 256
        if stored != unsigned and stored != sum(_SIGNED.unpack_from(header)) + 256:
            if start == 0:
                raise LayerError(f"{self._what}: not a tar stream (bad header checksum)")
            raise LayerError(
                f"{self._what}: broken tar stream (bad header checksum at offset {start})"
            )

    def _number(self, field: bytes, start: int, what: str) -> int:
        """An octal field, or GNU base-256 (first byte 0x80); negative numbers are refused."""
        if field[0] == 0o200:
            return int.from_bytes(field[1:], "big")
        digits = field.split(b"\0", 1)[0].strip()
        if field[0] != 0o377 and not digits.strip(b"01234567"):
            return int(digits or b"0", 8)
        if start == 0:
            raise LayerError(f"{self._what}: not a tar stream (invalid {what} field)")
        raise LayerError(
            f"{self._what}: broken tar stream (invalid {what} field at offset {start})"
        )

    def _pax_number(self, value: str, start: int) -> int:
        if not value.isascii() or not value.isdigit():
            raise LayerError(
                f"{self._what}: broken tar stream (pax size {value[:40]!r} at offset {start})"
            )
        return int(value)

    def _meta(self, size: int, start: int) -> bytes:
        """The data of a pax or GNU long-name header."""
        if size > MAX_META_BYTES:
            raise LayerError(
                f"{self._what}: a {size}-byte pax or long-name header at offset {start} is over "
                f"the {MAX_META_BYTES}-byte limit (hostile layer)"
            )
        data = self._take(size)
        self._skip(-size % BLOCK)
        return data

    def _pax(self, data: bytes, start: int) -> dict[str, str]:
        """``LENGTH KEY=VALUE\\n`` records; lengths count the whole record."""
        records: dict[str, str] = {}
        at = 0
        while at < len(data) and data[at] != 0:
            space = data.find(b" ", at, at + 21)
            length = int(data[at:space]) if space > at and data[at:space].isdigit() else 0
            end = at + length
            record = data[space + 1 : end - 1]
            key, equals, value = record.partition(b"=")
            if length <= 0 or end > len(data) or data[end - 1] != 0x0A or not equals or not key:
                raise LayerError(
                    f"{self._what}: broken tar stream (malformed pax record at offset {start})"
                )
            records[_text(key)] = _text(value)
            at = end
        return records

    def _sparse_extensions(self, start: int) -> None:
        """Skip an old GNU sparse header's extension blocks (their maps are not needed)."""
        for _ in range(MAX_META_BYTES // BLOCK):
            block = self._take(BLOCK)
            if not block[504]:
                return
        raise LayerError(f"{self._what}: endless sparse map at offset {start} (hostile layer)")

    # -- bytes ------------------------------------------------------------------------------
    def _take(self, size: int, *, at_end_ok: bool = False) -> bytes:
        """Exactly ``size`` bytes (an empty answer at the very end when ``at_end_ok``)."""
        end = self._at + size
        if end <= len(self._buffer):
            data = self._buffer[self._at : end]
            self._at = end
            return data
        parts = [self._buffer[self._at :]]
        have = len(parts[0])
        while have < size:
            chunk = self._source(max(_CHUNK, size - have))
            if not chunk:
                if at_end_ok and have == 0:
                    return b""
                raise LayerError(f"{self._what}: truncated tar stream")
            parts.append(chunk)
            have += len(chunk)
        joined = b"".join(parts)
        self._consumed += self._at  # the new buffer starts at the old one's unread bytes
        self._buffer, self._at = joined, size
        return joined[:size]

    def _skip(self, size: int) -> None:
        left = len(self._buffer) - self._at
        if size <= left:
            self._at += size
            return
        size -= left
        self._consumed += len(self._buffer)
        self._buffer, self._at = b"", 0
        while size:
            chunk = self._source(_CHUNK)
            if not chunk:
                raise LayerError(f"{self._what}: truncated tar stream")
            if len(chunk) > size:
                self._buffer, self._at = chunk, size
                return
            self._consumed += len(chunk)
            size -= len(chunk)


def _text(field: bytes) -> str:
    """A NUL-terminated field as text: UTF-8, undecodable bytes kept as surrogates (what
    ``tarfile`` does with a UTF-8 file system encoding)."""
    end = field.find(b"\0")
    return (field if end < 0 else field[:end]).decode("utf-8", "surrogateescape")
