"""``db update``: OSV's per-ecosystem ``all.zip`` feeds, fetched with httpx.

- Conditional: the ETag and Last-Modified of the last import are sent back; a 304 leaves
  the database as it is.
- Resumable: bytes arrive in ``{cache}/feeds/NAME.zip.part``; an interrupted download is
  continued with a ``Range`` request (guarded by ``If-Range``) on the next run.
- Checked: the finished file must be a zip and is stored with its sha256 beside the records.
- Safe: the previous database stays intact and usable until the new feed has been read whole
  and stored in one transaction. One failing ecosystem does not stop the others.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import urllib.parse
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hullcheck.errors import FeedError, HullcheckError
from hullcheck.paths import cache_dir
from hullcheck.vulndb.importer import ImportResult, import_path
from hullcheck.vulndb.index import FeedSource, FeedStore

if TYPE_CHECKING:  # httpx costs 0.25 s to import: loaded by `db update` only
    import httpx

DEFAULT_BASE_URL = "https://osv-vulnerabilities.storage.googleapis.com"
"""OSV's public bucket: ``{base}/{ecosystem}/all.zip``."""
CHUNK = 1 << 16

Progress = Callable[[str, int, int | None], None]
"""``(ecosystem, bytes so far, total bytes or None)``."""


@dataclass(frozen=True, slots=True)
class FeedUpdate:
    """What ``db update`` did for one ecosystem."""

    ecosystem: str
    url: str
    status: str
    """``updated``, ``unchanged`` or ``failed``."""
    result: ImportResult | None = None
    error: str | None = None


def feed_url(base_url: str, ecosystem: str) -> str:
    return f"{base_url.rstrip('/')}/{urllib.parse.quote(ecosystem)}/all.zip"


def update(
    repository: FeedStore,
    ecosystems: list[str],
    *,
    base_url: str = DEFAULT_BASE_URL,
    progress: Progress | None = None,
    timeout: float = 60.0,
    transport: httpx.BaseTransport | None = None,
) -> list[FeedUpdate]:
    """Fetch and import the feed of each ecosystem; failures are reported, not raised."""
    import httpx

    results = []
    with httpx.Client(timeout=timeout, transport=transport, follow_redirects=True) as client:
        for ecosystem in ecosystems:
            url = feed_url(base_url, ecosystem)
            try:
                results.append(_update_one(client, repository, ecosystem, url, progress))
            except HullcheckError as exc:
                results.append(FeedUpdate(ecosystem, url, "failed", error=str(exc)))
    return results


def _paths(ecosystem: str) -> tuple[str, str, str]:
    directory = os.path.join(cache_dir(), "feeds")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    stem = os.path.join(directory, urllib.parse.quote(ecosystem, safe=""))
    return f"{stem}.zip", f"{stem}.zip.part", f"{stem}.zip.part.json"


def _update_one(
    client: httpx.Client,
    repository: FeedStore,
    ecosystem: str,
    url: str,
    progress: Progress | None,
) -> FeedUpdate:
    name = f"osv:{ecosystem}"
    known = repository.feed(name)
    final, part, meta = _paths(ecosystem)
    headers = {}
    if known is not None and known.etag:
        headers["If-None-Match"] = known.etag
    if known is not None and known.last_modified:
        headers["If-Modified-Since"] = known.last_modified
    resume = _resume_state(part, meta)
    if resume is not None:
        headers["Range"] = f"bytes={resume[0]}-"
        headers["If-Range"] = resume[1]
    response = _download(client, url, headers, part, meta, resume, ecosystem, progress)
    if response is None:
        repository.touch_feed(name)
        return FeedUpdate(ecosystem, url, "unchanged")
    etag, last_modified = response
    digest, size = _check_zip(part, url)
    os.replace(part, final)
    _remove(meta)
    feed = FeedSource(name, url, etag, last_modified, digest, size)
    return FeedUpdate(ecosystem, url, "updated", result=import_path(repository, final, feed=feed))


def _resume_state(part: str, meta: str) -> tuple[int, str] | None:
    """Bytes already downloaded and the validator they belong to, if a resume is possible."""
    try:
        with open(meta, encoding="utf-8") as handle:
            validator = json.load(handle).get("validator")
        size = os.path.getsize(part)
    except (OSError, ValueError):
        return None
    return (size, validator) if size > 0 and isinstance(validator, str) and validator else None


def _download(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    part: str,
    meta: str,
    resume: tuple[int, str] | None,
    ecosystem: str,
    progress: Progress | None,
) -> tuple[str | None, str | None] | None:
    """Download into ``part``; ``None`` when the server says nothing changed."""
    import httpx

    try:
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return None
            if response.status_code == 416 and resume is not None:
                _remove(part)
                _remove(meta)
                raise FeedError(f"{url}: the partial download is stale; run the update again")
            if response.status_code not in (200, 206):
                raise FeedError(f"{url}: HTTP {response.status_code} {response.reason_phrase}")
            etag = response.headers.get("ETag")
            last_modified = response.headers.get("Last-Modified")
            appending = response.status_code == 206 and resume is not None
            done = resume[0] if appending and resume else 0
            length = response.headers.get("Content-Length")
            total = done + int(length) if length and length.isdigit() else None
            validator = etag or last_modified
            with open(meta, "w", encoding="utf-8") as handle:
                json.dump({"validator": validator, "url": url}, handle)
            with open(part, "ab" if appending else "wb") as handle:
                for chunk in response.iter_bytes(CHUNK):
                    handle.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(ecosystem, done, total)
            if total is not None and done < total:
                raise FeedError(f"{url}: download interrupted at {done} of {total} bytes")
            return etag, last_modified
    except httpx.HTTPError as exc:
        broken = (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout)
        what = "interrupted" if isinstance(exc, broken) else "failed"
        raise FeedError(
            f"{url}: download {what} ({type(exc).__name__}: {exc})",
            hint="run `hullcheck db update` again to resume; the stored database is unchanged",
        ) from None


def _check_zip(part: str, url: str) -> tuple[str, int]:
    if not zipfile.is_zipfile(part):
        _remove(part)
        raise FeedError(f"{url}: the download is not a zip archive; nothing was changed")
    digest = hashlib.sha256()
    with open(part, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest(), os.path.getsize(part)


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
