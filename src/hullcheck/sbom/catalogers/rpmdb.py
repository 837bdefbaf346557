"""Readers for the three rpmdb formats, yielding RPM header blobs.

* SQLite (``rpmdb.sqlite``, RHEL 9+, Fedora 33+, Mariner): table ``Packages(hnum, blob)``.
* Berkeley DB hash (``Packages``, RHEL ≤ 8, CentOS): header blobs on overflow pages.
* NDB (``Packages.db``, SUSE): slot pages pointing at ``BlbS`` blobs.

Everything is read from bytes in memory; nothing is written to disk. Layouts follow
libdb's ``db_page.h`` and rpm's ``lib/backend/ndb/rpmpkg.c``.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator

from hullcheck.sbom.catalogers.interface import ParseError

_SQLITE_MAGIC = b"SQLite format 3\x00"
_BDB_HASH_MAGIC = 0x061561
_NDB_MAGIC = b"RpmP"
_BDB_PAGE_HEADER = 26
_BDB_HASH_PAGES = (2, 13)  # P_HASH_UNSORTED, P_HASH
_BDB_OVERFLOW = 7
_BDB_HOFFPAGE = 3
_MAX_HEADER = 64 * 1024 * 1024


def header_blobs(data: bytes) -> Iterator[bytes]:
    """Yield every package header blob in an rpmdb of any supported format."""
    if data.startswith(_SQLITE_MAGIC):
        yield from _sqlite_blobs(data)
    elif data[:4] == _NDB_MAGIC:
        yield from _ndb_blobs(data)
    elif len(data) >= 512 and _bdb_magic(data) is not None:
        yield from _bdb_blobs(data)
    else:
        raise ParseError("not an rpmdb in SQLite, Berkeley DB or NDB format")


def _sqlite_blobs(data: bytes) -> Iterator[bytes]:
    if len(data) > 19 and data[18:20] == b"\x02\x02":
        # WAL-mode database: an in-memory copy can only be opened in rollback-journal mode
        data = data[:18] + b"\x01\x01" + data[20:]
    connection = sqlite3.connect(":memory:")
    try:
        connection.deserialize(data)
        rows = connection.execute("SELECT blob FROM Packages").fetchall()
    except sqlite3.DatabaseError as exc:
        raise ParseError(f"unreadable SQLite rpmdb ({exc})") from None
    finally:
        connection.close()
    for (blob,) in rows:
        if isinstance(blob, bytes):
            yield blob


def _bdb_magic(data: bytes) -> str | None:
    for order in ("<", ">"):
        (magic,) = struct.unpack_from(order + "I", data, 12)
        if magic == _BDB_HASH_MAGIC:
            return order
    return None


def _bdb_blobs(data: bytes) -> Iterator[bytes]:
    order = _bdb_magic(data) or "<"
    (page_size,) = struct.unpack_from(order + "I", data, 20)
    (last_page,) = struct.unpack_from(order + "I", data, 32)
    if page_size not in {512 << i for i in range(8)} or data[24] != 0:
        raise ParseError(f"Berkeley DB with unsupported page size {page_size} or encryption")
    pages = min(last_page + 1, len(data) // page_size)
    for number in range(pages):
        page = data[number * page_size : (number + 1) * page_size]
        if page[25] not in _BDB_HASH_PAGES:
            continue
        (entries,) = struct.unpack_from(order + "H", page, 20)
        if entries % 2:
            raise ParseError(f"Berkeley DB page {number}: odd number of hash entries")
        for pair in range(entries // 2):
            (offset,) = struct.unpack_from(order + "H", page, _BDB_PAGE_HEADER + pair * 4 + 2)
            if offset + 12 <= page_size and page[offset] == _BDB_HOFFPAGE:
                (first,) = struct.unpack_from(order + "I", page, offset + 4)
                yield _bdb_overflow(data, first, page_size, order)


def _bdb_overflow(data: bytes, page_no: int, page_size: int, order: str) -> bytes:
    chunks: list[bytes] = []
    seen: set[int] = set()
    total = 0
    while page_no:
        if page_no in seen or (page_no + 1) * page_size > len(data):
            raise ParseError(f"Berkeley DB overflow chain broken at page {page_no}")
        seen.add(page_no)
        page = data[page_no * page_size : (page_no + 1) * page_size]
        if page[25] != _BDB_OVERFLOW:
            raise ParseError(f"Berkeley DB page {page_no} is not an overflow page")
        (next_page,) = struct.unpack_from(order + "I", page, 16)
        (used,) = struct.unpack_from(order + "H", page, 22)
        chunk = page[_BDB_PAGE_HEADER : _BDB_PAGE_HEADER + used] if not next_page else page[26:]
        chunks.append(chunk)
        total += len(chunk)
        if total > _MAX_HEADER:
            raise ParseError("Berkeley DB value larger than any RPM header")
        page_no = next_page
    return b"".join(chunks)


def _ndb_blobs(data: bytes) -> Iterator[bytes]:
    if len(data) < 32:
        raise ParseError("NDB rpmdb shorter than its header")
    _magic, version, _generation, slot_pages = struct.unpack_from("<4sIII", data, 0)
    if version != 0 or not 0 < slot_pages <= 2048:
        raise ParseError(f"NDB rpmdb version {version} with {slot_pages} slot pages unsupported")
    slots = slot_pages * 256 - 2
    for index in range(slots):
        offset = 32 + index * 16
        if offset + 16 > len(data):
            raise ParseError("NDB rpmdb truncated inside its slot pages")
        magic, package, block, _count = struct.unpack_from("<4sIII", data, offset)
        if magic != b"Slot":
            raise ParseError(f"NDB slot {index} has a bad magic")
        if package == 0:
            continue
        start = block * 16
        if start + 16 > len(data):
            raise ParseError(f"NDB blob of package {package} lies past the end")
        blob_magic, blob_package, _checksum, length = struct.unpack_from("<4sIII", data, start)
        if blob_magic != b"BlbS" or blob_package != package or start + 16 + length > len(data):
            raise ParseError(f"NDB blob of package {package} is damaged")
        yield data[start + 16 : start + 16 + length]
