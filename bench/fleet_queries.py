"""`make bench`, part 4: fleet queries over a synthetic store of 100 hosts × 1,000 containers.

Issue 4's targets: `affected CVE-…` and `packages NAME` under 0.5 s, the hygiene report under
2 s, on SQLite and on PostgreSQL, over ≈5,000 distinct images and ≈2,000,000 package rows.

The store is filled directly (no engine could hold 100,000 containers here) from real data:
- 20 base images made from real package databases in tests/data/fixtures — a Debian 12 host's
  dpkg status (8 bases), Ubuntu 18.04's dpkg status (6), Alpine 3.18's and 3.16's installed
  databases (3 each). Each base keeps a deterministic ~80 % of its database's packages; from
  one base to the next, one package in ten gets a rebuilt version (``+hcN``), so `bash`,
  `libc6` … come in several versions across the fleet.
- 5,000 application images, each a base plus two layers with 100 PyPI packages drawn from the
  names and versions the real PyPI OSV feed lists as affected — so ≈400 packages per image.
- findings: each app image's PyPI packages carry the real OSV ids of the records they were
  drawn from; each base carries 40 findings with ids ``HC-BENCH-<base>-<n>`` on its packages.
  The real PyPI, Go and AlmaLinux feeds are imported, so alias lookups search 12,560 records.
- inventory: 100 hosts, each with 1,000 containers of 200 images (50 used fleet-wide, 150 of
  the host's own), 80 % running; container and image documents are the real inspect documents
  in bench/data (dockerd 20.10.24), re-labelled; the stopped ones exited 0–29 days before the
  bench's "now" (so a report finds garbage), one running container in ten has a 512 MiB memory
  limit, images were built 0–729 days before; 2 resource samples per running container, an
  hour apart, a third of them idle.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import insert
from tests.infra.vulndata import FIXTURES, make_rootfs, vuln_path

from bench.sbom import machine
from hullcheck import api
from hullcheck.engine.documents import summary
from hullcheck.store import Store
from hullcheck.store.models import (
    FindingRow,
    HostRow,
    ImageLayerRow,
    ImageRow,
    InventoryDocumentRow,
    InventoryRow,
    PackageRow,
    SampleRow,
)
from hullcheck.vulndb import versions

HOSTS = int(os.environ.get("BENCH_HOSTS", "100"))
CONTAINERS_PER_HOST = 1000
IMAGES = int(os.environ.get("BENCH_IMAGES", "5000"))
APP_PACKAGES = 100
DATA = os.path.join(os.path.dirname(__file__), "data")
NOW = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=datetime.UTC)


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _template(name: str) -> dict[str, Any]:
    with open(os.path.join(DATA, f"{name}.json"), encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document


def _base_packages() -> list[tuple[str, str, list[tuple[str, str, str | None]]]]:
    """(distro, purl type, [(name, version, source)]) of the real package databases, read by
    hullcheck's own catalogers."""
    work = tempfile.mkdtemp(prefix="hc-bench-roots-")
    found = []
    for release, kind, database, path in (
        (
            "debian-12",
            "deb",
            "/var/lib/dpkg/status",
            "dpkg/debian-12-buildhost_var_lib_dpkg_status",
        ),
        ("ubuntu-18.04", "deb", "/var/lib/dpkg/status", "dpkg/ubuntu-18.04_var_lib_dpkg_status"),
        ("alpine-3.18", "apk", "/lib/apk/db/installed", "apk/alpine-3.18_lib_apk_db_installed"),
        ("alpine-3.16", "apk", "/lib/apk/db/installed", "apk/alpine-3.16_lib_apk_db_installed"),
    ):
        root = make_rootfs(work, release, {database: os.path.join(FIXTURES, path)})
        sbom = api.generate_sbom(root)
        distro = next(p.distro for p in sbom.packages if p.distro)
        found.append((distro, kind, [(p.name, p.version, p.source_name) for p in sbom.packages]))
    return found


def _pypi_pool() -> list[tuple[str, str, str]]:
    """(name, version, OSV id) for versions the real PyPI feed lists as affected."""
    pool = []
    with zipfile.ZipFile(vuln_path("feeds", "PyPI-all.zip")) as archive:
        for member in archive.namelist():
            record = json.loads(archive.read(member))
            for affected in record.get("affected") or []:
                name = str((affected.get("package") or {}).get("name"))
                versions = (affected.get("versions") or [])[-3:]
                pool.extend((name, str(v), str(record["id"])) for v in versions)
    return pool


class Fleet:
    """The synthetic fleet, as rows for every table."""

    def __init__(self) -> None:
        rng = random.Random(4)
        databases = _base_packages()
        layout = [0] * 8 + [1] * 6 + [2] * 3 + [3] * 3
        self.bases: list[dict[str, Any]] = []
        for index, which in enumerate(layout):
            distro, kind, entries = databases[which]
            kept = [e for e in entries if rng.random() < 0.8 or e[0] in ("bash", "libc6")]
            packages = [
                (n, f"{v}+hc{index}" if rng.random() < 0.1 or n == "bash" else v, s)
                for n, v, s in kept
            ]
            layers = [_digest(f"base-{index}-{i}") for i in range(1 + index % 3)]
            self.bases.append(
                {"distro": distro, "type": kind, "packages": packages, "layers": layers}
            )
        self.pool = _pypi_pool()
        self.images: list[dict[str, Any]] = []
        for index in range(IMAGES):
            base = self.bases[index % len(self.bases)]
            picks = rng.sample(self.pool, APP_PACKAGES)
            layers = base["layers"] + [_digest(f"app-{index}-{i}") for i in range(2)]
            self.images.append(
                {
                    "id": _digest(f"image-{index}"),
                    "base": index % len(self.bases),
                    "tag": f"registry.example.com/team-{index % 97}/app-{index}:1.{index % 7}",
                    "layers": layers,
                    "app": picks,
                }
            )
        for index, base in enumerate(self.bases):  # the base images are stored and present too
            self.images.append(
                {
                    "id": _digest(f"base-image-{index}"),
                    "base": index,
                    "tag": f"registry.example.com/base/{base['distro'].lower()}:{index}",
                    "layers": base["layers"],
                    "app": [],
                }
            )

    def package_rows(self) -> Iterator[dict[str, Any]]:
        for image in self.images:
            base = self.bases[image["base"]]
            for name, version, source in base["packages"]:
                yield {
                    "image_id": image["id"],
                    "name": name,
                    "version": version,
                    "type": base["type"],
                    "purl": f"pkg:{base['type']}/{name}@{version}",
                    "source_name": source or name,
                    "distro": base["distro"],
                    "path": "/var/lib/dpkg/status",
                    "layer": base["layers"][0],
                    "introduced_by": base["layers"][0],
                }
            for name, version, _ in image["app"]:
                yield {
                    "image_id": image["id"],
                    "name": name,
                    "version": version,
                    "type": "python",
                    "purl": f"pkg:pypi/{name}@{version}",
                    "source_name": None,
                    "distro": None,
                    "path": f"/usr/lib/python3/site-packages/{name}.dist-info/METADATA",
                    "layer": image["layers"][-1],
                    "introduced_by": image["layers"][-1],
                }

    def finding_rows(self) -> Iterator[dict[str, Any]]:
        for image in self.images:
            base = self.bases[image["base"]]
            for n, (name, version, _) in enumerate(base["packages"][:40]):
                yield _finding(
                    image["id"], f"HC-BENCH-{image['base']}-{n}", name, version, "Debian"
                )
            for name, version, osv_id in image["app"]:
                yield _finding(image["id"], osv_id, name, version, "PyPI")


def _finding(image_id: str, vuln: str, name: str, version: str, eco: str) -> dict[str, Any]:
    return {
        "image_id": image_id,
        "vuln_id": vuln,
        "advisories": [],
        "severity": "high",
        "status": "fixed",
        "fixed_version": version + ".1",
        "ecosystem": eco,
        "package_name": name,
        "package_version": version,
        "package_type": "python" if eco == "PyPI" else "deb",
        "purl": f"pkg:x/{name}@{version}",
        "matched_at": NOW,
    }


def _bulk(store: Store, table: Any, rows: Iterator[dict[str, Any]], size: int = 20000) -> int:
    engine = store.vulns.engine
    count = 0
    batch: list[dict[str, Any]] = []
    with engine.begin() as connection:
        for row in rows:
            batch.append(row)
            if len(batch) >= size:
                connection.execute(insert(table), batch)
                count += len(batch)
                batch = []
        if batch:
            connection.execute(insert(table), batch)
            count += len(batch)
    return count


def _bulk_inventory(store: Store, rows: Iterator[dict[str, Any]], size: int = 5000) -> int:
    """Inventory rows and their documents (the ``data`` of each row), batch by batch."""
    count = 0
    batch: list[dict[str, Any]] = []

    def flush(connection: Any) -> None:
        connection.execute(
            insert(InventoryRow), [{k: v for k, v in r.items() if k != "data"} for r in batch]
        )
        connection.execute(
            insert(InventoryDocumentRow),
            [{k: r[k] for k in ("host", "kind", "object_id", "data")} for r in batch],
        )

    with store.vulns.engine.begin() as connection:
        for row in rows:
            batch.append(row)
            if len(batch) >= size:
                flush(connection)
                count += len(batch)
                batch = []
        if batch:
            flush(connection)
            count += len(batch)
    return count


def _inventory(fleet: Fleet) -> tuple[Iterator[dict[str, Any]], Iterator[dict[str, Any]]]:
    running_doc, stopped_doc = _template("container-running"), _template("container-stopped")
    image_doc = _template("image")
    shared = list(range(50))

    def rows() -> Iterator[dict[str, Any]]:
        for host in range(HOSTS):
            name = f"host-{host:03d}"
            own = [50 + (host * 150 + i) % (IMAGES - 50) for i in range(150)]
            used = shared + own
            for index in used:
                image = fleet.images[index]
                built = _engine_time(NOW - datetime.timedelta(days=index % 730))
                doc = dict(image_doc, Id=image["id"], RepoTags=[image["tag"]], Created=built)
                doc["RootFS"] = {"Type": "layers", "Layers": image["layers"]}
                yield _row(name, "image", image["id"], image["tag"], image["id"], None, doc)
            for number in range(CONTAINERS_PER_HOST):
                image = fleet.images[used[number % len(used)]]
                running = number % 5 != 0
                template = running_doc if running else stopped_doc
                cid = hashlib.sha256(f"{name}-{number}".encode()).hexdigest()
                doc = dict(template, Id=cid, Name=f"/svc-{number}", Image=image["id"])
                doc["Config"] = dict(template["Config"], Image=image["tag"])
                doc["Config"]["Labels"] = {"owner": f"team-{number % 13}"} if number % 3 else {}
                if running and number % 10 == 1:  # a 512 MiB limit over ~50 MiB in use
                    doc["HostConfig"] = dict(template["HostConfig"], Memory=512 * 1024**2)
                if not running:  # stopped 0–29 days ago
                    finished = NOW - datetime.timedelta(days=number % 30, hours=1)
                    doc["State"] = dict(
                        template["State"],
                        Status="exited",
                        ExitCode=number % 2,
                        FinishedAt=_engine_time(finished),
                    )
                state = "running" if running else "exited"
                yield _row(name, "container", cid, f"svc-{number}", image["id"], state, doc)

    def samples() -> Iterator[dict[str, Any]]:
        for host in range(HOSTS):
            for number in range(CONTAINERS_PER_HOST):
                if number % 5 == 0:
                    continue
                cid = hashlib.sha256(f"host-{host:03d}-{number}".encode()).hexdigest()
                busy = number % 3 != 0
                for hour, scale in ((2, 1), (1, 2)):
                    yield {
                        "host": f"host-{host:03d}",
                        "container_id": cid,
                        "taken_at": (NOW - datetime.timedelta(hours=hour)).timestamp(),
                        "cpu_ns": 10**9 * (scale if busy else 1),
                        "memory_bytes": 50 * 1024**2,
                        "memory_limit": 8 * 1024**3,
                        "net_rx": 10**6 * (scale if busy else 1),
                        "net_tx": 10**5,
                        "block_read": 0,
                        "block_write": 0,
                    }

    return rows(), samples()


def _engine_time(moment: datetime.datetime) -> str:
    """``2026-11-22T12:00:00.000000000Z``, as the engine writes times."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def _row(
    host: str, kind: str, oid: str, name: str, image: str, state: str | None, doc: dict[str, Any]
) -> dict[str, Any]:
    return {
        "host": host,
        "kind": kind,
        "object_id": oid,
        "name": name,
        "image_id": image,
        "state": state,
        "first_seen": NOW,
        "last_seen": NOW,
        "gone_at": None,
        "summary": json.dumps(summary(kind, doc), separators=(",", ":")),
        "data": zlib.compress(json.dumps(doc).encode(), 6),
    }


def fill(store: Store, fleet: Fleet) -> dict[str, int]:
    """Every table of the synthetic fleet; returns row counts."""
    for ecosystem in ("PyPI", "Go", "AlmaLinux"):
        api.import_vulnerabilities(store, vuln_path("feeds", f"{ecosystem}-all.zip"))
    empty = zlib.compress(b"{}")
    counts = {
        "images": _bulk(
            store,
            ImageRow,
            (
                {
                    "id": i["id"],
                    "repo_tags": [i["tag"]],
                    "repo_digests": [],
                    "os": "linux",
                    "architecture": "amd64",
                    "created": "2026-11-01T00:00:00Z",
                    "distro": fleet.bases[i["base"]]["distro"],
                    "scanner_key": "bench",
                    "scanned_at": NOW,
                    "sbom": empty,
                }
                for i in fleet.images
            ),
        ),
    }
    counts["image_layers"] = _bulk(
        store,
        ImageLayerRow,
        (
            {"image_id": i["id"], "idx": n, "diff_id": d, "digest": d, "size": 1, "created_by": ""}
            for i in fleet.images
            for n, d in enumerate(i["layers"])
        ),
    )
    counts["packages"] = _bulk(store, PackageRow, fleet.package_rows())
    counts["findings"] = _bulk(store, FindingRow, fleet.finding_rows())
    _bulk(
        store,
        HostRow,
        (
            {
                "name": f"host-{h:03d}",
                "url": f"tcp://10.0.{h // 250}.{h % 250}:2376",
                "tls_ca": None,
                "tls_cert": None,
                "tls_key": None,
                "timeout": 30.0,
                "added_at": NOW,
                "synced_at": NOW,
                "last_error": None,
            }
            for h in range(HOSTS)
        ),
    )
    inventory, samples = _inventory(fleet)
    counts["inventory"] = _bulk_inventory(store, inventory)
    counts["samples"] = _bulk(store, SampleRow, samples)
    engine = store.vulns.engine
    if engine.dialect.name == "postgresql":
        # what autovacuum would do next, in the middle of the timings: statistics, the
        # visibility map and hint bits of 2 million fresh rows
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE)")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    return counts


def _median(action: Callable[[], object], runs: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        result = None  # freeing the previous answer is not part of the next one
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def run_queries(store: Store, fleet: Fleet) -> list[tuple[str, str, float]]:
    from hullcheck.fleet.hygiene import Settings, report
    from hullcheck.fleet.queries import package_spread

    counts: dict[str, int] = {}
    for image in fleet.images[:IMAGES]:
        for _, _, osv_id in image["app"]:
            counts[osv_id] = counts.get(osv_id, 0) + 1
    common = max(counts, key=lambda k: counts[k])
    # the newest bash of the Debian bases: every older one is listed
    debian = [b for b in fleet.bases if b["distro"].startswith("Debian")]
    found = {v for b in debian for n, v, _ in b["packages"] if n == "bash"}
    bash = functools.reduce(lambda a, b: a if versions.compare("deb", a, b) > 0 else b, found)
    settings = Settings(now=NOW)
    cases: list[tuple[str, Callable[[], list[Any]]]] = [
        (f"affected {common} (most widespread PyPI record)", lambda: api.affected(store, common)),
        (
            "affected HC-BENCH-0-7 (a base-image finding)",
            lambda: api.affected(store, "HC-BENCH-0-7"),
        ),
        (
            f"affected --package bash --below {bash} --ecosystem Debian",
            lambda: api.affected(store, package="bash", below=bash, ecosystem="Debian"),
        ),
        ("packages bash", lambda: package_spread(store, "bash")),
        ("packages openssl", lambda: package_spread(store, "openssl")),
        ("fleet report (hygiene)", lambda: report(store, settings)),
    ]
    results = []
    for label, action in cases:
        seconds, rows = _median(action)
        size = len(rows)  # type: ignore[arg-type]
        results.append((label, f"{size:,} rows", seconds))
    return results


def main() -> int:
    from tests.infra.postgres import PrivatePostgres

    fleet = Fleet()
    tables: dict[str, list[tuple[str, str, float]]] = {}
    counts: dict[str, int] = {}
    fills: dict[str, float] = {}
    work = tempfile.mkdtemp(prefix="hc-bench-queries-")
    postgres = PrivatePostgres()
    postgres.start()
    try:
        for label, url in (
            ("SQLite", f"sqlite:///{work}/fleet.db"),
            ("PostgreSQL", postgres.database()),
        ):
            store = api.open_store(url)
            started = time.perf_counter()
            counts = fill(store, fleet)
            fills[label] = time.perf_counter() - started
            store.close()  # queries run on a store at rest, as a new `hullcheck` process finds it
            store = api.open_store(url)
            tables[label] = run_queries(store, fleet)
            store.close()
    finally:
        postgres.stop()
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nFleet query benchmark · {now} · {machine()}\n")
    print(
        f"Store: {HOSTS} hosts × {CONTAINERS_PER_HOST:,} containers · rows: "
        + ", ".join(f"{n:,} {t}" for t, n in counts.items())
        + " · filled in "
        + ", ".join(f"{label} {s:.0f} s" for label, s in fills.items())
        + "\n"
    )
    print("| query | result | SQLite | PostgreSQL | target |")
    print("|---|---|---|---|---|")
    for (label, size, sqlite), (_, _, pg) in zip(
        tables["SQLite"], tables["PostgreSQL"], strict=True
    ):
        target = "< 2 s" if label.startswith("fleet report") else "< 0.5 s"
        if "--below" in label:
            target = "(none named)"
        print(f"| {label} | {size} | {sqlite:.3f} s | {pg:.3f} s | {target} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
