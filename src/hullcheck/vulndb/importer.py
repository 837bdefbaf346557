"""``db import``: OSV records from a zip (``all.zip``), a directory, or single JSON/YAML files.

Reading is streaming and bounded: a member larger than :data:`MAX_RECORD_BYTES` is skipped, a
zip that is not one is refused naming the file. Malformed records, unknown ecosystems and
versions the ecosystem's rules cannot read are skipped and counted; the import goes on and is
stored in one transaction, so a failure leaves the previous database untouched.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from hullcheck.errors import FeedError
from hullcheck.store.vulns import FeedSource, VulnRepository
from hullcheck.vulndb.osv import Record, RecordError, parse_record

MAX_RECORD_BYTES = 16 * 1024 * 1024
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
    if "not valid" in reason or "too large" in reason:
        return "unreadable"
    return "malformed"


def documents(path: str) -> Iterator[tuple[str, bytes]]:
    """``(name, bytes)`` of every record file in a zip, a directory or one file."""
    if os.path.isdir(path):
        yield from _directory(path)
    elif zipfile.is_zipfile(path):
        yield from _zip(path)
    elif path.endswith(".zip"):
        raise FeedError(f"{path}: not a zip archive (corrupt or truncated)")
    elif os.path.isfile(path):
        yield from _file(path, os.path.basename(path))
    else:
        raise FeedError(f"{path}: no such file or directory")


def _zip(path: str) -> Iterator[tuple[str, bytes]]:
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.is_dir() or not info.filename.endswith(RECORD_SUFFIXES):
                    continue
                if info.file_size > MAX_RECORD_BYTES:
                    yield info.filename, b""  # reported as too large below
                    continue
                with archive.open(info) as member:
                    yield info.filename, member.read(MAX_RECORD_BYTES + 1)
    except (zipfile.BadZipFile, OSError, EOFError, zipfile.LargeZipFile) as exc:
        raise FeedError(f"{path}: corrupt zip archive ({exc})") from None


def _directory(path: str) -> Iterator[tuple[str, bytes]]:
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(RECORD_SUFFIXES):
                full = os.path.join(root, name)
                yield from _file(full, os.path.relpath(full, path))


def _file(path: str, name: str) -> Iterator[tuple[str, bytes]]:
    try:
        if os.path.getsize(path) > MAX_RECORD_BYTES:
            yield name, b""
            return
        with open(path, "rb") as handle:
            yield name, handle.read()
    except OSError as exc:
        raise FeedError(f"{path}: cannot be read ({exc.strerror})") from None


def parse_documents(
    items: Iterator[tuple[str, bytes]], result: ImportResult
) -> Iterator[tuple[Record, bytes]]:
    """Records with their JSON, counting what is skipped in ``result``."""
    for name, raw in items:
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
    repository: VulnRepository, path: str, *, feed: FeedSource | None = None
) -> ImportResult:
    """Import every record under ``path``; it replaces what the same source brought before."""
    if feed is None:
        name = f"file:{os.path.basename(os.path.abspath(path))}"
        feed = FeedSource(name, size=os.path.getsize(path) if os.path.isfile(path) else None)
    result = ImportResult(source=feed.name)
    records = parse_documents(documents(path), result)
    result.records = repository.replace(feed, records, skipped=lambda: result.skipped)
    return result
