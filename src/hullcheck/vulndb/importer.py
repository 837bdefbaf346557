"""``db import``: OSV records from a zip (``all.zip``), a directory, or single JSON/YAML files.

Reading is streaming and bounded: a member larger than :data:`MAX_RECORD_BYTES` is skipped, a
zip that is not one is refused naming the file. Malformed records, unknown ecosystems and
versions the ecosystem's rules cannot read are skipped and counted; the import goes on and is
stored in one transaction, so a failure leaves the previous database untouched.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from hullcheck.errors import FeedError
from hullcheck.vulndb.index import FeedSource, FeedStore
from hullcheck.vulndb.osv import Record, RecordError, parse_record

MAX_RECORD_BYTES = 16 * 1024 * 1024
MAX_FEED_BYTES = 8 * 1024**3
"""Records of one zip, uncompressed: the largest OSV feeds hold a fraction of this."""
RECORD_SUFFIXES = (".json", ".yaml", ".yml")
_EXAMPLES = 5


@dataclass
class ImportResult:
    """What one import stored and what it left out."""

    source: str
    """Feed or file name the records are stored under."""
    records: int = 0
    """Records stored."""
    skipped: int = 0
    """Records left out."""
    dropped_entries: int = 0
    """``affected`` entries left out of stored records (unsupported ecosystem or versions)."""
    reasons: Counter[str] = field(default_factory=Counter)
    """Why records were left out, by kind."""
    examples: list[str] = field(default_factory=list)
    """The first few skipped records with their reason, for the user."""

    def skip(self, where: str, reason: str) -> None:
        self.skipped += 1
        self.reasons[_kind(reason)] += 1
        if len(self.examples) < _EXAMPLES:
            self.examples.append(f"{where}: {reason}")


def _kind(reason: str) -> str:
    if "withdrawn" in reason:
        return "withdrawn"
    if "unsupported ecosystem" in reason:
        return "unsupported ecosystem"
    if "invalid version" in reason:
        return "invalid version"
    if "not valid" in reason or "too large" in reason or "read" in reason or "regular" in reason:
        return "unreadable"
    return "malformed"


def documents(path: str) -> Iterator[tuple[str, bytes | str]]:
    """``(name, bytes)`` of every record file in a zip, a directory or one file; ``(name,
    reason)`` for a file of a directory that cannot be read, which is skipped."""
    try:
        info = os.stat(path)
    except OSError as exc:
        reason = "no such file or directory" if isinstance(exc, FileNotFoundError) else exc
        raise FeedError(f"{path}: {reason}") from None
    if stat.S_ISDIR(info.st_mode):
        yield from _directory(path)
        return
    if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would block or never end
        raise FeedError(f"{path}: not a regular file")
    if zipfile.is_zipfile(path):
        yield from _zip(path)
    elif path.endswith(".zip"):
        raise FeedError(f"{path}: not a zip archive (corrupt or truncated)")
    else:
        found = _file(path)
        if isinstance(found, str):
            raise FeedError(f"{path}: {found}")
        yield os.path.basename(path), found


def _zip(path: str) -> Iterator[tuple[str, bytes | str]]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [
                info
                for info in archive.infolist()
                if not info.is_dir() and info.filename.endswith(RECORD_SUFFIXES)
            ]
            total = sum(info.file_size for info in members)
            if total > MAX_FEED_BYTES:
                raise FeedError(
                    f"{path}: {total} bytes of records uncompressed, over the "
                    f"{MAX_FEED_BYTES} a feed may hold (a zip bomb?)"
                )
            for info in members:
                if info.file_size > MAX_RECORD_BYTES:
                    yield info.filename, f"too large (over {MAX_RECORD_BYTES} bytes)"
                    continue
                with archive.open(info) as member:
                    yield info.filename, member.read(MAX_RECORD_BYTES + 1)
    except (zipfile.BadZipFile, OSError, EOFError, zipfile.LargeZipFile) as exc:
        raise FeedError(f"{path}: corrupt zip archive ({exc})") from None


def _directory(path: str) -> Iterator[tuple[str, bytes | str]]:
    """Record files under ``path``; links are not followed into directories (a loop would
    never end), and a file that cannot be read is skipped as a bad record is."""
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(RECORD_SUFFIXES):
                full = os.path.join(root, name)
                yield os.path.relpath(full, path), _file(full)


def _file(path: str) -> bytes | str:
    """The bytes of a record file, or why it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO does not block
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        if info.st_size > MAX_RECORD_BYTES:
            return f"too large (over {MAX_RECORD_BYTES} bytes)"
        try:
            return handle.read(MAX_RECORD_BYTES + 1)
        except OSError as exc:
            return f"cannot be read ({exc.strerror})"


def parse_documents(
    items: Iterator[tuple[str, bytes | str]], result: ImportResult
) -> Iterator[tuple[Record, bytes]]:
    """Records with their JSON, counting what is skipped in ``result``."""
    for name, raw in items:
        if isinstance(raw, str):
            result.skip(name, raw)
            continue
        if not raw or len(raw) > MAX_RECORD_BYTES:
            result.skip(name, f"too large (over {MAX_RECORD_BYTES} bytes) or empty")
            continue
        try:
            loaded = _load(name, raw)
        except ValueError as exc:
            result.skip(name, f"not valid JSON/YAML ({exc})")
            continue
        for document in loaded if isinstance(loaded, list) else [loaded]:
            try:
                record = parse_record(document)
            except RecordError as exc:
                result.skip(name, str(exc))
                continue
            result.dropped_entries += record.dropped
            yield record, json.dumps(document, separators=(",", ":")).encode()


def _load(name: str, raw: bytes) -> object:
    if name.endswith((".yaml", ".yml")):
        import yaml

        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ValueError(str(exc).splitlines()[0]) from None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(str(exc)) from None


def import_path(
    repository: FeedStore, path: str, *, feed: FeedSource | None = None
) -> ImportResult:
    """Import every record under ``path``; it replaces what the same source brought before."""
    if feed is None:
        name = f"file:{os.path.basename(os.path.abspath(path))}"
        feed = FeedSource(name, size=os.path.getsize(path) if os.path.isfile(path) else None)
    result = ImportResult(source=feed.name)
    records = parse_documents(documents(path), result)
    result.records = repository.replace(feed, records, skipped=lambda: result.skipped)
    return result
