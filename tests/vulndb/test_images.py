"""Vulnerabilities of real images built in the private engine, against real records."""

from __future__ import annotations

from typing import Any

import pytest

from hullcheck import api
from hullcheck.model import FixStatus, PackageType
from hullcheck.store import Store
from tests.conftest import Images
from tests.infra.engine import PrivateEngine
from tests.infra.vulndata import vuln_path

pytestmark = pytest.mark.docker


@pytest.fixture
def on_engine(engine: PrivateEngine, images: Images, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``docker:`` references to the test images in the engine under test."""
    monkeypatch.setenv("DOCKER_HOST", engine.host)
    return lambda name: f"docker:{images.on(engine, name)}"


def test_shellshock_on_debian_7(on_engine: Any, store: Store) -> None:
    api.import_vulnerabilities(store, vuln_path("shellshock", "debian-derived"))
    report = api.scan(on_engine("wheezy-bash"), store=store)
    assert report.sbom.distro is not None and report.sbom.distro.ecosystem == "Debian:7"
    bash = {f.id: f for f in report.findings if f.package.name == "bash"}
    shellshock = bash["CVE-2014-6271"]
    assert shellshock.package.version == "4.2+dfsg-0.1"
    assert shellshock.advisories == ("DSA-3032-1",)
    assert shellshock.fixed_version == "4.2+dfsg-0.1+deb7u1"
    assert shellshock.status is FixStatus.FIXED
    # DSA-3035-1 covers three CVEs at once: one finding of its own, listing them
    follow_up = bash["DSA-3035-1"]
    assert follow_up.fixed_version == "4.2+dfsg-0.1+deb7u3"
    assert {"CVE-2014-7169", "CVE-2014-7186", "CVE-2014-7187"} <= set(follow_up.aliases)
    # the squeeze advisories (Debian:6) do not apply to a wheezy image
    assert not {"DLA-59-1", "DLA-63-1"} & {a for f in report.findings for a in f.advisories}
    assert set(bash) == {"CVE-2014-6271", "DSA-3035-1"}


def test_patched_bash_is_not_affected(on_engine: Any, store: Store) -> None:
    api.import_vulnerabilities(store, vuln_path("shellshock", "debian-derived"))
    report = api.scan(on_engine("wheezy-bash-fixed"), store=store)
    bash = [p for p in report.sbom.packages if p.name == "bash"]
    assert [p.version for p in bash] == ["4.2+dfsg-0.1+deb7u3"]
    assert report.findings == ()


def test_python_image_against_the_whole_pypi_feed(images: Images, store: Store) -> None:
    api.import_vulnerabilities(store, vuln_path("feeds", "PyPI-all.zip"))
    report = api.scan(f"docker-archive:{images.archive('python')}", store=store)
    found = {
        (f.package.name, f.id, f.fixed_version)
        for f in report.findings
        if f.package.type is PackageType.PYTHON
    }
    assert found == PYPI_EXPECTED
    # Debian packages are never matched against PyPI records
    assert all(f.ecosystem == "PyPI" for f in report.findings)


def test_npm_image_express(images: Images, store: Store) -> None:
    api.import_vulnerabilities(store, vuln_path("npm"))
    report = api.scan(f"docker-archive:{images.archive('npm')}", store=store)
    express = [f for f in report.findings if f.package.name == "express"]
    assert [(f.id, f.advisories, f.fixed_version) for f in express] == [
        ("CVE-2024-29041", ("GHSA-rv95-896h-c2vc",), "4.19.2")
    ]
    assert express[0].package.version == "4.18.2"


def test_findings_of_a_stored_image_follow_the_database(images: Images, store: Store) -> None:
    """Rematch: findings change with the database, no image is read again."""
    sbom = api.generate_sbom(f"docker-archive:{images.archive('npm')}", store=store)
    assert sbom.image is not None
    before = {r.image_id: r.counts for r in api.rematch_stored(store)}
    assert before == {sbom.image.id: {}}
    api.import_vulnerabilities(store, vuln_path("npm"))
    after = {r.image_id: r.counts for r in api.rematch_stored(store)}
    assert sum(after[sbom.image.id].values()) >= 1
    assert store.findings.counts()[sbom.image.id] == after[sbom.image.id]


# Read off the feed by hand: of the ten pip packages, only idna 3.4 falls in a PYSEC range
# (PYSEC-2024-60, fixed 3.7). urllib3 2.0.7 is exactly the fix of PYSEC-2023-212, requests
# 2.31.0 the fix of PYSEC-2023-74, certifi 2023.7.22 the fix of PYSEC-2023-135.
PYPI_EXPECTED = {("idna", "CVE-2024-3651", "3.7")}


def test_stored_findings_read_back(images: Images, store: Store) -> None:
    """Findings written in bulk read back through the ORM with their times and lists."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from hullcheck.store.models import FindingRow

    api.import_vulnerabilities(store, vuln_path("npm"))
    report = api.scan(f"docker-archive:{images.archive('npm')}", store=store)
    with Session(store.vulns.engine) as session:
        rows = session.scalars(select(FindingRow)).all()
    assert {(r.vuln_id, r.package_name, tuple(r.advisories)) for r in rows} == {
        (f.id, f.package.name, f.advisories) for f in report.findings
    }
    assert all(r.matched_at.year >= 2026 for r in rows)


def test_go_toolchain_of_a_real_binary(images: Images, store: Store) -> None:
    """Debian's runc was built with Go 1.19.8: the Go feed's stdlib records apply to it."""
    api.import_vulnerabilities(store, vuln_path("feeds", "Go-all.zip"))
    report = api.scan(f"docker-archive:{images.archive('binaries')}", store=store)
    stdlib = [f for f in report.findings if f.package.name == "stdlib"]
    assert stdlib and all(f.package.version == "go1.19.8" for f in stdlib)
    assert all(f.ecosystem == "Go" and f.advisories[0].startswith("GO-") for f in stdlib)
    # every fix is a later Go release than the one the binary was built with
    from hullcheck.vulndb import versions

    assert all(
        f.fixed_version and versions.compare("semver", f.fixed_version, "1.19.8") > 0
        for f in stdlib
    )
    fixes = {f.id: f.fixed_version for f in stdlib}
    assert fixes["CVE-2023-24540"] == "1.19.9"  # html/template, GO-2023-1752
    # cmd/go's own flaws are recorded for the "toolchain" module, not for binaries it built
    assert "CVE-2023-29405" not in fixes
