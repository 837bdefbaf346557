"""`make bench`, part 2: the vulnerability database and matching, against the issue's targets.

- import of the three real feeds in tests/data/vuln/feeds (≈12,600 records)     target < 20 s
- import of a synthetic 200,000-record feed                                      target < 180 s
- match of an SBOM of 1,000 packages against the 200,000-record database         target < 0.5 s
- rematch of 500 stored SBOMs                                                    target < 30 s

The synthetic feed is real records multiplied: each real PyPI, Go and AlmaLinux record is
cloned with a new id and a renamed package (so every name keeps a real number of records),
plus Debian:12 records in the shape of the Debian OSV feed for the source packages of a real
Debian 12 host (``tests/data/fixtures/dpkg/debian-12-buildhost_var_lib_dpkg_status``), one
in fifty of them affecting the installed version (still several times the findings a real
Debian 12 image has). The 1,000-package SBOM is that host's 756 dpkg
packages (read by the real cataloger) plus 244 PyPI packages at versions their records list.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import statistics
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator

from tests.infra.vulndata import FIXTURES, make_rootfs, vuln_path

from bench.sbom import machine
from hullcheck import api
from hullcheck.model import ImageInfo, Location, Package, PackageType, Sbom
from hullcheck.vulndb.matcher import match

SYNTHETIC = int(os.environ.get("BENCH_SYNTHETIC_RECORDS", "200000"))
STORED = int(os.environ.get("BENCH_STORED_SBOMS", "500"))
DEBIAN_SHARE = 0.2
FEEDS = ("PyPI", "Go", "AlmaLinux")


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _real_records() -> list[dict[str, object]]:
    records = []
    for feed in FEEDS:
        with zipfile.ZipFile(vuln_path("feeds", f"{feed}-all.zip")) as archive:
            records.extend(json.loads(archive.read(name)) for name in archive.namelist())
    return records


def _clone(record: dict[str, object], copy: int) -> dict[str, object]:
    clone = json.loads(json.dumps(record))
    clone["id"] = f"{record['id']}-S{copy}"
    for affected in clone.get("affected", []):
        affected["package"]["name"] = f"{affected['package']['name']}-syn{copy}"
    return clone


def _debian(index: int, source: str, installed: str) -> dict[str, object]:
    affecting = index % 50 == 0
    fixed = f"{installed}+bench1" if affecting else "0.0.1-1"
    return {
        "id": f"DEBIAN-BENCH-{index}",
        "aliases": [f"CVE-2099-{index}"],
        "modified": "2026-11-01T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": "Debian:12", "name": source},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                ],
            }
        ],
    }


def synthetic_records(
    real: list[dict[str, object]], sources: dict[str, str]
) -> Iterator[dict[str, object]]:
    debian = int(SYNTHETIC * DEBIAN_SHARE)
    names = sorted(sources)
    for index in range(debian):
        source = names[index % len(names)]
        yield _debian(index, source, sources[source])
    produced, copy = debian, 0
    while produced < SYNTHETIC:
        for record in real:
            if produced >= SYNTHETIC:
                return
            yield record if copy == 0 else _clone(record, copy)
            produced += 1
        copy += 1


def write_zip(path: str, records: Iterator[dict[str, object]]) -> int:
    count = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for record in records:
            archive.writestr(f"{record['id']}.json", json.dumps(record))
            count += 1
    return count


def thousand_package_sbom(work: str, real: list[dict[str, object]]) -> Sbom:
    status = os.path.join(FIXTURES, "dpkg", "debian-12-buildhost_var_lib_dpkg_status")
    release = os.path.join(work, "os-release")
    with open(release, "w") as handle:
        handle.write('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n')
    sbom = api.generate_sbom(make_rootfs(work, "debian-12", {"/var/lib/dpkg/status": status}))
    python: dict[str, str] = {}
    for record in real:
        for affected in record.get("affected", []):  # type: ignore[union-attr]
            listed = affected.get("versions") or []
            name = affected["package"]["name"]
            if affected["package"]["ecosystem"] == "PyPI" and listed and name not in python:
                python[name] = listed[0]
    extra = tuple(
        Package(
            name=name,
            version=version,
            type=PackageType.PYTHON,
            purl=f"pkg:pypi/{name}@{version}",
            found_by="bench",
            location=Location(f"/usr/lib/python3/dist-packages/{name}-{version}.dist-info"),
        )
        for name, version in sorted(python.items())[: 1000 - len(sbom.packages)]
    )
    return dataclasses.replace(sbom, packages=sbom.packages + extra)


def main() -> int:
    rows: list[tuple[str, str, str, str]] = []
    work = tempfile.mkdtemp(prefix="hc-bench-vuln-")
    real = _real_records()
    store = api.open_store(f"sqlite:///{work}/feeds.db")
    seconds = _timed(
        lambda: [
            api.import_vulnerabilities(store, vuln_path("feeds", f"{f}-all.zip")) for f in FEEDS
        ]
    )
    rows.append(
        (
            "import 3 real feeds",
            f"{store.vulns.snapshot().records} records",
            f"{seconds:.1f} s",
            "< 20 s",
        )
    )
    store.close()

    sbom = thousand_package_sbom(work, real)
    sources = {
        p.source_name or p.name: p.source_version or p.version
        for p in sbom.packages
        if p.type is PackageType.DEB
    }
    feed = os.path.join(work, "synthetic-all.zip")
    count = write_zip(feed, synthetic_records(real, sources))
    store = api.open_store(f"sqlite:///{work}/synthetic.db")
    seconds = _timed(lambda: api.import_vulnerabilities(store, feed))
    rows.append(("import synthetic feed", f"{count} records", f"{seconds:.1f} s", "< 180 s"))

    times = []
    findings = 0
    for _ in range(5):
        start = time.perf_counter()
        findings = len(match(sbom.packages, store.vulns).findings)
        times.append(time.perf_counter() - start)
    rows.append(
        (
            "match 1,000-package SBOM",
            f"{len(sbom.packages)} pkgs, {findings} findings",
            f"{statistics.median(times):.3f} s",
            "< 0.5 s",
        )
    )

    for index in range(STORED):
        image = ImageInfo(id=f"sha256:{index:064x}", layers=(), repo_tags=(f"bench/app:{index}",))
        keep = tuple(p for n, p in enumerate(sbom.packages) if (n + index) % 10)
        store.save_sbom(dataclasses.replace(sbom, image=image, packages=keep), "bench")
    seconds = _timed(lambda: api.rematch_stored(store))
    rows.append(
        ("rematch stored SBOMs", f"{STORED} SBOMs × ~900 pkgs", f"{seconds:.1f} s", "< 30 s")
    )
    store.close()

    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nVulnerability benchmark · {now} · {machine()}\n")
    print("| task | size | time | target |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
