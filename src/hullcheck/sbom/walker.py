"""The layer walker: one streaming pass over each layer, reading only wanted files.

Every tar entry name is normalised; a name that climbs out of the root (``..``) or is
absolute makes the whole layer hostile (:class:`LayerError`). Links are recorded, never
followed here; the squash resolves them inside the image root. Nothing is written to disk.
The decompressed stream is metered (size and ratio limits against decompression bombs) and
hashed, and its sha256 must equal the layer's diffID. Tar headers are read by
:mod:`hullcheck.sbom.tarstream`, which skips the data of unwanted entries without copying it.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import stat
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, NoReturn, cast

from isal import igzip, isal_zlib

from hullcheck.errors import LayerError, SourceError
from hullcheck.sbom.catalogers.interface import Cataloger, FileResult, ParseContext, ParseError
from hullcheck.sbom.catalogers.registry import Selector
from hullcheck.sbom.layerscan import LayerScan
from hullcheck.sbom.licenses import with_expressions
from hullcheck.sbom.tarstream import Entry, TarStream

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_KEEP_FOR_HARDLINKS = 8 * 1024 * 1024
_CHUNK = 1024 * 1024
_PARSE_FAILURES = (ParseError, ValueError, KeyError, IndexError, UnicodeError, OverflowError)


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that keep a hostile layer from exhausting memory or time."""

    max_layer_bytes: int = 32 * 1024**3
    """Largest uncompressed layer accepted."""
    max_ratio: int = 200
    """Largest uncompressed/compressed ratio accepted once past ``ratio_floor`` bytes."""
    ratio_floor: int = 256 * 1024**2
    verify_diff_ids: bool = True
    """Check each layer's sha256 against its diffID (cache entries are keyed by it)."""


class _Meter(io.RawIOBase):
    """Counts, hashes and bounds a decompressed stream."""

    def __init__(self, inner: IO[bytes], what: str, limit: int, hashing: bool) -> None:
        super().__init__()
        self._inner = inner
        self._what = what
        self._limit = limit
        self.total = 0
        self._hash = hashlib.sha256() if hashing else None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size if size >= 0 else _CHUNK)
        self.total += len(data)
        if self.total > self._limit:
            raise LayerError(
                f"{self._what}: uncompressed size exceeds {self._limit} bytes "
                "(decompression bomb?)",
                hint="raise the limit with --max-layer-size if the image is legitimate",
            )
        if self._hash is not None:
            self._hash.update(data)
        return data

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass

    def digest(self) -> str | None:
        return f"sha256:{self._hash.hexdigest()}" if self._hash is not None else None


def _decompressed(raw: IO[bytes], what: str) -> tuple[IO[bytes], bool, IO[bytes]]:
    """The tar stream in ``raw``, whether it was compressed, and ``raw`` buffered."""
    buffered = cast(
        io.BufferedReader,
        raw if hasattr(raw, "peek") else io.BufferedReader(cast(io.RawIOBase, raw)),
    )
    head = buffered.peek(4)[:4]
    if head.startswith(GZIP_MAGIC):
        # ISA-L's inflate: 2.3x zlib's on a 120 MB Debian layer (a gzip image's largest cost)
        return cast(IO[bytes], igzip.GzipFile(fileobj=buffered, mode="rb")), True, buffered  # type: ignore[no-untyped-call]
    if head.startswith(ZSTD_MAGIC):
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(buffered, read_across_frames=True)
        return cast(IO[bytes], reader), True, buffered
    return cast(IO[bytes], buffered), False, buffered


def normalize(name: str, what: str) -> str:
    """Tar entry name → absolute path inside the image; escapes are hostile."""
    if name.startswith("/"):
        raise LayerError(f"{what}: entry {name!r} is an absolute path (hostile layer)")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise LayerError(f"{what}: entry {name!r} climbs out of the image root (hostile layer)")
    return "/" + "/".join(parts)


class _Cataloging:
    """Per-layer state: parse wanted files, record warnings."""

    def __init__(self, selector: Selector) -> None:
        self.selector = selector
        self.scan = LayerScan()
        self.kept: dict[str, bytes] = {}
        """Bytes of small data files, for hardlinks to them later in the layer."""
        self.binaries: dict[str, tuple[str, FileResult]] = {}
        """Results of executables (their parse does not depend on the path): kept instead
        of the bytes, so a layer full of binaries is not held in memory."""
        self.ctx = ParseContext(interesting=selector.interesting)

    def parse(self, cataloger: Cataloger, path: str, data: bytes) -> None:
        try:
            result = cataloger.parse(path, data, self.ctx)
        except _PARSE_FAILURES as exc:
            self.scan.warnings.append((path, f"{cataloger.name}: {exc or type(exc).__name__}"))
            result = FileResult(cataloger.name)
        if cataloger.artifact and result.packages:
            result.data["sha256"] = hashlib.sha256(data).hexdigest()
        with_expressions(result)
        self._record(cataloger, path, result)
        if cataloger.executables:
            self.binaries[path] = (cataloger.name, result)
        elif len(data) <= _KEEP_FOR_HARDLINKS:
            self.kept[path] = data

    def _record(self, cataloger: Cataloger, path: str, result: FileResult) -> None:
        if result.packages or result.owned or result.data or result.warnings:
            self.scan.files[path] = result
        for warning in result.warnings:
            self.scan.warnings.append((path, f"{cataloger.name}: {warning}"))

    def link(self, cataloger: Cataloger, path: str, target: str) -> None:
        """A hardlink to a file read earlier in this layer."""
        if target in self.kept:
            self.parse(cataloger, path, self.kept[target])
        elif target in self.binaries and self.binaries[target][0] == cataloger.name:
            self._record(cataloger, path, self.binaries[target][1])

    def too_large(self, cataloger: Cataloger, path: str, size: int) -> bool:
        if size <= cataloger.max_bytes:
            return False
        message = f"{cataloger.name}: {size} bytes is over the {cataloger.max_bytes} limit, skipped"
        self.scan.warnings.append((path, message))
        return True


def walk_layer(
    raw: IO[bytes],
    what: str,
    selector: Selector,
    *,
    diff_id: str | None = None,
    compressed_size: int | None = None,
    limits: Limits = Limits(),
    progress: Callable[[int], None] | None = None,
    also: Callable[[TarStream, Entry], None] | None = None,
) -> LayerScan:
    """Read one layer stream (gzip, zstd or plain tar) in a single pass; ``also`` sees each
    entry after the catalogers."""
    state = _Cataloging(selector)

    def visit(tar: TarStream, member: Entry) -> None:
        _member(tar, member, what, state)
        if also is not None:
            also(tar, member)

    walk_entries(
        raw,
        what,
        visit,
        diff_id=diff_id,
        compressed_size=compressed_size,
        limits=limits,
        progress=progress,
    )
    return state.scan


def walk_entries(
    raw: IO[bytes],
    what: str,
    visit: Callable[[TarStream, Entry], None],
    *,
    diff_id: str | None = None,
    compressed_size: int | None = None,
    limits: Limits = Limits(),
    progress: Callable[[int], None] | None = None,
) -> None:
    """Every entry of one layer stream (gzip, zstd or plain tar) shown to ``visit``, which
    may read the entry's data from the stream; metered against ``limits`` and checked
    against ``diff_id``. :func:`normalize` gives an entry's path (a hostile one raises)."""
    try:
        stream, compressed, blob = _decompressed(raw, what)
    except OSError as exc:
        raise LayerError(f"{what}: cannot be read ({exc})") from None
    limit = limits.max_layer_bytes
    if compressed and compressed_size:
        limit = min(limit, max(limits.ratio_floor, compressed_size * limits.max_ratio))
    meter = _Meter(stream, what, limit, limits.verify_diff_ids and diff_id is not None)
    try:
        tar = TarStream(meter.read, what)
        for member in tar:
            visit(tar, member)
            if progress is not None:
                progress(meter.total)
        meter.drain()
        while blob.read(_CHUNK):  # to the blob's end: bytes after the stream are hashed too
            pass
    except Exception as exc:  # translated below; anything unknown is re-raised there
        if not isinstance(exc, SourceError):
            _blob_verdict(blob)
        _translate(exc, what)
    digest = meter.digest()
    if digest is not None and digest != diff_id:
        raise LayerError(f"{what}: content sha256 {digest} does not match diffID {diff_id}")


def _blob_verdict(blob: IO[bytes]) -> None:
    """A stream that broke midway is read to its end: a source that checks its blobs'
    digests (registries, OCI layouts) then says the blob was replaced, which is the cause
    to name rather than the broken gzip it shows as. Reading stops at the first error."""
    try:
        while blob.read(_CHUNK):
            pass
    except SourceError:
        raise
    except Exception:  # noqa: BLE001 - the stream's first error is the one reported
        return


def _translate(exc: Exception, what: str) -> NoReturn:
    """Turn what gzip, zstd and the OS raise into one :class:`LayerError` (the tar reader
    raises its own)."""
    if isinstance(exc, LayerError):
        raise exc
    if isinstance(exc, EOFError | zlib.error | isal_zlib.error | gzip.BadGzipFile):
        raise LayerError(f"{what}: corrupt or truncated compressed stream ({exc})") from None
    if isinstance(exc, OSError):
        raise LayerError(f"{what}: cannot be read ({exc})") from None
    if type(exc).__name__ == "ZstdError":
        raise LayerError(f"{what}: corrupt zstd stream ({exc})") from None
    raise exc


def _member(tar: TarStream, member: Entry, what: str, state: _Cataloging) -> None:
    path = normalize(member.name, what)
    slash = path.rfind("/")
    base = path[slash + 1 :]
    if base.startswith(".wh."):
        parent = path[:slash] or "/"
        if base == ".wh..wh..opq":
            state.scan.opaque.append(parent)
        else:
            state.scan.whiteouts.append(f"{path[:slash]}/{base[4:]}")
        return
    if member.issym():
        state.scan.symlinks[path] = member.linkname
        return
    if member.islnk():
        target = normalize(member.linkname, what)
        cataloger = state.selector.select(path, member.mode)
        if cataloger is not None:
            state.link(cataloger, path, target)
        return
    if not member.isreg():
        return
    cataloger = state.selector.select(path, member.mode)
    if cataloger is None or state.too_large(cataloger, path, member.size):
        return
    if member.sparse:
        state.scan.warnings.append((path, f"{cataloger.name}: a sparse file, not read"))
        return
    if cataloger.executables and not cataloger.exact_paths:
        head = tar.read(4)
        if head != b"\x7fELF":
            return
        data = head + tar.read()
    else:
        data = tar.read()
    state.parse(cataloger, path, data)


def walk_directory(root: str, selector: Selector, what: str) -> LayerScan:
    """Read an unpacked root filesystem in place, never following a symlink."""
    state = _Cataloging(selector)
    stack = [""]
    while stack:
        relative = stack.pop()
        try:
            entries = list(os.scandir(os.path.join(root, relative.lstrip("/")) or root))
        except OSError as exc:
            state.scan.warnings.append((relative or "/", f"cannot list: {exc.strerror}"))
            continue
        for entry in entries:
            path = f"{relative}/{entry.name}"
            _directory_entry(entry, path, stack, state)
    return state.scan


def _directory_entry(
    entry: os.DirEntry[str], path: str, stack: list[str], state: _Cataloging
) -> None:
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return
    if stat.S_ISLNK(info.st_mode):
        with contextlib.suppress(OSError):
            state.scan.symlinks[path] = os.readlink(entry.path)
    elif stat.S_ISDIR(info.st_mode):
        stack.append(path)
    elif stat.S_ISREG(info.st_mode):
        cataloger = state.selector.select(path, info.st_mode & 0o777)
        if cataloger is None or state.too_large(cataloger, path, info.st_size):
            return
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as handle:
                data = handle.read(cataloger.max_bytes + 1)
        except OSError as exc:
            state.scan.warnings.append((path, f"cannot read: {exc.strerror}"))
            return
        if cataloger.executables and not data.startswith(b"\x7fELF"):
            return
        state.parse(cataloger, path, data)
