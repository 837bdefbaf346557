"""``db update`` against a real HTTP server on loopback serving the real feeds."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from hullcheck import api
from hullcheck.store import Store
from tests.infra.feedserver import FeedServer
from tests.infra.vulndata import vuln_path


@pytest.fixture
def server(tmp_path: os.PathLike[str]) -> Iterator[FeedServer]:
    feeds = FeedServer(os.path.join(os.fspath(tmp_path), "bucket"))
    feeds.publish("PyPI", vuln_path("feeds", "PyPI-all.zip"))
    feeds.publish("Go", vuln_path("feeds", "Go-all.zip"))
    feeds.start()
    yield feeds
    feeds.stop()


def test_update_imports_and_then_asks_conditionally(server: FeedServer, store: Store) -> None:
    first = api.update_vulnerabilities(store, ["PyPI", "Go"], base_url=server.url)
    assert [(u.ecosystem, u.status) for u in first] == [("PyPI", "updated"), ("Go", "updated")]
    assert first[0].result is not None and first[0].result.records == 2649
    feed = store.vulns.feed("osv:PyPI")
    assert feed is not None and feed.etag and feed.sha256 and feed.size
    with open(vuln_path("feeds", "PyPI-all.zip"), "rb") as handle:
        import hashlib

        assert feed.sha256 == hashlib.sha256(handle.read()).hexdigest()
    again = api.update_vulnerabilities(store, ["PyPI"], base_url=server.url)
    assert [u.status for u in again] == ["unchanged"]
    assert server.requests[-1]["If-None-Match"] == feed.etag
    assert store.vulns.snapshot().records == 2649 + 4274


def test_interrupted_download_resumes_and_keeps_the_old_database(
    server: FeedServer, store: Store
) -> None:
    api.import_vulnerabilities(store, vuln_path("npm"))
    before = store.vulns.snapshot().records
    server.cut_after = 1_000_000
    failed = api.update_vulnerabilities(store, ["PyPI"], base_url=server.url)
    assert failed[0].status == "failed" and "interrupted" in (failed[0].error or "")
    assert store.vulns.snapshot().records == before  # nothing half-written
    resumed = api.update_vulnerabilities(store, ["PyPI"], base_url=server.url)
    assert resumed[0].status == "updated"
    offset = int(server.requests[-1]["Range"].removeprefix("bytes=").rstrip("-"))
    assert 0 < offset <= 1_000_000  # continued from the bytes kept on disk
    assert resumed[0].result is not None and resumed[0].result.records == 2649


def test_corrupt_feed_is_refused_and_the_database_stays(
    server: FeedServer, store: Store, tmp_path: os.PathLike[str]
) -> None:
    api.update_vulnerabilities(store, ["Go"], base_url=server.url)
    before = store.vulns.snapshot().records
    truncated = os.path.join(os.fspath(tmp_path), "truncated.zip")
    with open(vuln_path("feeds", "Go-all.zip"), "rb") as handle:
        data = handle.read()
    with open(truncated, "wb") as out:
        out.write(data[: len(data) // 2])
    server.publish("Go", truncated)
    result = api.update_vulnerabilities(store, ["Go"], base_url=server.url)
    assert result[0].status == "failed" and "not a zip" in (result[0].error or "")
    assert store.vulns.snapshot().records == before


def test_unreachable_feed_fails_alone(server: FeedServer, store: Store) -> None:
    results = api.update_vulnerabilities(store, ["npm", "PyPI"], base_url=server.url)
    assert [(u.ecosystem, u.status) for u in results] == [("npm", "failed"), ("PyPI", "updated")]
    assert "HTTP 404" in (results[0].error or "")


def test_update_with_no_stored_sbom_and_no_ecosystem_is_a_usage_error(store: Store) -> None:
    from hullcheck.errors import UsageError

    with pytest.raises(UsageError, match="no ecosystem"):
        api.update_vulnerabilities(store, [])
    with pytest.raises(UsageError, match="unknown ecosystem"):
        api.update_vulnerabilities(store, ["Debian:12"])
