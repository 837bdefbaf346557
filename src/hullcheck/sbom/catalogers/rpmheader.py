"""RPM header blobs: the index-and-store structure rpm keeps per installed package."""

from __future__ import annotations

import struct

from hullcheck.sbom.catalogers.interface import ParseError

NAME, VERSION, RELEASE, EPOCH = 1000, 1001, 1002, 1003
VENDOR, LICENSE, SIZE, ARCH, SOURCERPM = 1011, 1014, 1009, 1022, 1044
DIRINDEXES, BASENAMES, DIRNAMES = 1116, 1117, 1118
MODULARITYLABEL = 5096

_INT32, _STRING, _STRING_ARRAY, _I18NSTRING = 4, 6, 8, 9
_WANTED = {
    NAME,
    VERSION,
    RELEASE,
    EPOCH,
    VENDOR,
    LICENSE,
    SIZE,
    ARCH,
    SOURCERPM,
    DIRINDEXES,
    BASENAMES,
    DIRNAMES,
    MODULARITYLABEL,
}

Value = str | list[str] | list[int]


def parse_header(blob: bytes) -> dict[int, Value]:
    """Decode the tags hullcheck needs from one header blob (no lead, no magic)."""
    if len(blob) < 8:
        raise ParseError("RPM header shorter than its preamble")
    count, store_size = struct.unpack_from(">II", blob, 0)
    store = 8 + count * 16
    if count > 100_000 or store + store_size > len(blob):
        raise ParseError("RPM header index does not fit its blob")
    tags: dict[int, Value] = {}
    for i in range(count):
        tag, kind, offset, items = struct.unpack_from(">IIiI", blob, 8 + i * 16)
        if tag not in _WANTED:
            continue
        if not 0 <= offset < store_size:
            raise ParseError(f"RPM header tag {tag} points outside the store")
        start = store + offset
        if kind == _INT32:
            if start + 4 * items > store + store_size:
                raise ParseError(f"RPM header tag {tag} overruns the store")
            tags[tag] = list(struct.unpack_from(f">{items}i", blob, start))
        elif kind in (_STRING, _I18NSTRING):
            tags[tag] = _strings(blob, start, 1, store + store_size)[0]
        elif kind == _STRING_ARRAY:
            tags[tag] = _strings(blob, start, items, store + store_size)
    return tags


def _strings(blob: bytes, start: int, items: int, end: int) -> list[str]:
    values = []
    position = start
    for _ in range(items):
        stop = blob.find(b"\x00", position, end)
        if stop < 0:
            raise ParseError("RPM header string is not terminated")
        values.append(blob[position:stop].decode("utf-8", errors="replace"))
        position = stop + 1
    return values


def file_paths(tags: dict[int, Value]) -> list[str]:
    """Full paths of the files a package owns."""
    basenames = tags.get(BASENAMES)
    dirnames = tags.get(DIRNAMES)
    indexes = tags.get(DIRINDEXES)
    if not isinstance(basenames, list) or not isinstance(dirnames, list):
        return []
    if not isinstance(indexes, list) or len(indexes) != len(basenames):
        return []
    paths = []
    for base, index in zip(basenames, indexes, strict=True):
        if isinstance(index, int) and 0 <= index < len(dirnames):
            paths.append(f"{dirnames[index]}{base}")
    return paths
