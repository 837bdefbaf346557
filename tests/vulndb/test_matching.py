"""Matching on real records and real package databases: exact, per release, by source."""

from __future__ import annotations

from collections.abc import Callable

from hullcheck import api
from hullcheck.model import FixStatus, Severity
from hullcheck.store import Store
from tests.infra.vulndata import FIXTURES, all_entries, vuln_path

RootFs = Callable[[str, dict[str, str]], str]


def by_package(report: api.ScanReport) -> dict[tuple[str, str], object]:
    return {(f.package.name, f.id): f for f in report.findings}


def test_ubuntu_1804_matches_only_its_release_through_source_packages(
    store: Store, rootfs: RootFs
) -> None:
    api.import_vulnerabilities(store, vuln_path("ubuntu"))
    image = rootfs(
        "ubuntu-18.04",
        {"/var/lib/dpkg/status": f"{FIXTURES}/dpkg/ubuntu-18.04_var_lib_dpkg_status"},
    )
    report = api.scan(image, store=store)
    found = {(f.package.name, f.package.source_name, f.id) for f in report.findings}
    # glibc and shadow: 18.04 is in extended support, Canonical lists it under Ubuntu:Pro:18.04
    assert found == {
        ("libc6", "glibc", "CVE-2016-20013"),
        ("libc-bin", "glibc", "CVE-2016-20013"),
        ("login", "shadow", "CVE-2023-29383"),
        ("passwd", "shadow", "CVE-2023-29383"),
    }
    libc = next(f for f in report.findings if f.package.name == "libc6")
    assert libc.status is FixStatus.UNFIXED and libc.fixed_version is None
    assert libc.ecosystem == "Ubuntu:Pro:18.04:LTS"
    assert libc.advisories == ("UBUNTU-CVE-2016-20013",)
    # Ubuntu's own priority wins over the CVSS score (7.5) for its own build
    assert libc.severity is Severity.NEGLIGIBLE and libc.cvss_score == 7.5
    # dpkg (USN-7768-1) and libzstd (UBUNTU-CVE-2022-4899) have records for 22.04/24.04 only
    assert not {f.package.name for f in report.findings} & {"dpkg", "libzstd1"}


def test_alpine_musl_by_origin_and_release(store: Store, rootfs: RootFs) -> None:
    api.import_vulnerabilities(store, vuln_path("alpine"))
    for release, installed, fixed in (
        ("alpine-3.18", "1.2.4-r0", "1.2.4-r3"),
        ("alpine-3.16", "1.2.3-r0", "1.2.3-r4"),
    ):
        db = f"{FIXTURES}/apk/{release}_lib_apk_db_installed"
        report = api.scan(rootfs(release, {"/lib/apk/db/installed": db}), store=store)
        musl = [f for f in report.findings if f.package.name == "musl"]
        assert len(musl) == 1, release
        assert musl[0].id == "CVE-2025-26519"
        assert musl[0].advisories == ("ALPINE-CVE-2025-26519",)
        assert (musl[0].package.version, musl[0].fixed_version) == (installed, fixed)
        assert musl[0].ecosystem == f"Alpine:v{release.split('-')[1]}"


def test_alpine_fixed_version_is_not_affected(store: Store) -> None:
    from hullcheck.vulndb.ecosystems import Query
    from hullcheck.vulndb.matcher import _hits

    api.import_vulnerabilities(store, vuln_path("alpine"))
    entries = all_entries(store, "Alpine:v3.18", "musl", "apk")
    assert _hits(Query("Alpine:v3.18", "musl", "1.2.4-r3", "apk"), entries) == []
    assert _hits(Query("Alpine:v3.18", "musl", "1.2.4-r2", "apk"), entries) != []


def test_almalinux_rpm_rules_and_module_streams(store: Store) -> None:
    from hullcheck.vulndb.ecosystems import Query
    from hullcheck.vulndb.matcher import _hits

    result = api.import_vulnerabilities(store, vuln_path("feeds", "AlmaLinux-all.zip"))
    assert result.records == 5637 and result.skipped == 0
    entries = {
        ("AlmaLinux:8", "dnf-plugin-spacewalk"): all_entries(
            store, "AlmaLinux:8", "dnf-plugin-spacewalk", "rpm"
        )
    }
    alba = [e for e in entries[("AlmaLinux:8", "dnf-plugin-spacewalk")] if e[0] == "ALBA-2019:1955"]
    assert len(alba) == 3  # one fixed build per module stream

    def affected(version: str) -> bool:
        query = Query("AlmaLinux:8", "dnf-plugin-spacewalk", version, "rpm")
        return any(h.record_id == "ALBA-2019:1955" for h in _hits(query, alba))

    # release numbers compare numerically, module builds by rpmvercmp segments
    assert affected("2.8.5-10.module_el8.3.0+2053+3ddf2832")
    assert not affected("2.8.5-11.module_el8.4.0+2249+3ddf2832")  # the el8.4 stream's fix
    assert not affected("2.8.5-11.module_el8.5.0+71+8f3a675d")
    assert not affected("2.8.6-1.el8")


def test_npm_ghsa_records_by_range_and_branch(store: Store) -> None:
    from hullcheck.vulndb.ecosystems import Query
    from hullcheck.vulndb.matcher import _hits

    api.import_vulnerabilities(store, vuln_path("npm"))
    minimist = all_entries(store, "npm", "minimist", "semver")
    express = all_entries(store, "npm", "express", "semver")

    def fixes(entries: list[object], name: str, version: str) -> list[str | None]:
        hits = _hits(Query("npm", name, version, "semver"), entries)  # type: ignore[arg-type]
        return [h.verdict.fixed for h in hits]

    assert fixes(minimist, "minimist", "1.2.5") == ["1.2.6"]
    assert fixes(minimist, "minimist", "0.2.1") == ["0.2.4"]
    assert fixes(minimist, "minimist", "1.2.6") == []
    assert fixes(minimist, "minimist", "0.2.4") == []
    assert fixes(express, "express", "4.18.2") == ["4.19.2"]
    assert fixes(express, "express", "5.0.0-beta.1") == ["5.0.0-beta.3"]
    assert fixes(express, "express", "5.0.0") == []


def test_pypi_aliases_merge_into_one_finding(store: Store, rootfs: RootFs) -> None:
    from hullcheck.model import Location, Package, PackageType
    from hullcheck.vulndb.matcher import match

    api.import_vulnerabilities(store, vuln_path("pypi"))
    requests = Package(
        name="requests",
        version="2.30.0",
        type=PackageType.PYTHON,
        purl="pkg:pypi/requests@2.30.0",
        found_by="python-installed",
        location=Location("/usr/lib/python3/dist-packages/requests-2.30.0.dist-info/METADATA"),
    )
    findings = match([requests], store.vulns).findings
    leak = [f for f in findings if f.id == "CVE-2023-32681"]
    # PYSEC-2023-74 and GHSA-j8r2-6x86-q33q are one vulnerability: one finding
    assert len(leak) == 1
    assert set(leak[0].advisories) == {"PYSEC-2023-74", "GHSA-j8r2-6x86-q33q"}
    assert leak[0].fixed_version == "2.31.0"
    fixed = match([_with_version(requests, "2.31.0")], store.vulns).findings
    assert "CVE-2023-32681" not in {f.id for f in fixed}


def _with_version(package: object, version: str) -> object:
    import dataclasses

    return dataclasses.replace(package, version=version)  # type: ignore[type-var]


def test_interleaved_ranges_of_two_branches(store: Store) -> None:
    """PYSEC-2023-212 lists 2.0.0→2.0.7 before 0→1.26.18: events are sorted, not read in order."""
    from hullcheck.vulndb.ecosystems import Query
    from hullcheck.vulndb.matcher import _hits

    api.import_vulnerabilities(store, vuln_path("feeds", "PyPI-all.zip"))
    entries = all_entries(store, "PyPI", "urllib3", "pep440")

    def fix(version: str) -> str | None:
        hits = list(_hits(Query("PyPI", "urllib3", version, "pep440"), entries))
        found = [h.verdict.fixed for h in hits if h.record_id == "PYSEC-2023-212"]
        return found[0] if found else None

    assert fix("2.0.6") == "2.0.7"
    assert fix("1.26.17") == "1.26.18"
    assert fix("2.0.7") is None
    assert fix("1.26.18") is None
