"""SBOMs written by another tool (Syft, the anchor of the field) scanned as hullcheck scans
the image itself: same packages matched, same findings, on every ecosystem of the test data.

Syft (installed for the benchmark) writes all its formats (CycloneDX JSON and XML, SPDX JSON
and tag-value, Syft JSON) of the real test images here;
nothing is recorded, so a new Syft is tested as it comes. Its files carry what matching needs
only in standard places: the operating-system component, and the purl qualifiers ``distro=``
(the release), ``upstream=`` (the source package Debian and Alpine advisories name) and
``arch=``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from hullcheck import api
from hullcheck.model import Sbom, ScanReport
from hullcheck.store import Store
from tests.conftest import Images
from tests.infra.cli import hullcheck
from tests.infra.vulndata import vuln_path

pytestmark = pytest.mark.docker

SYFT = os.path.join(os.path.dirname(sys.executable), "syft")
CASES = {  # image: (feed, what it must find, the release Syft names)
    "alpine": (("alpine",), {("CVE-2025-26519", "musl")}, "Alpine:v3.18"),
    "wheezy-bash": (
        ("shellshock", "debian-derived"),
        {("CVE-2014-6271", "bash"), ("DSA-3035-1", "bash")},
        "Debian:7",
    ),
    "python": (("feeds", "PyPI-all.zip"), {("CVE-2024-3651", "idna")}, None),
    "npm": (("npm",), {("CVE-2024-29041", "express")}, None),
}


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:  # type: ignore[no-untyped-def]
    """One SQLite store: what is tested here is reading, not the database."""
    opened = api.open_store(f"sqlite:///{tmp_path}/hc.db")
    yield opened
    opened.close()


def _findings(report: ScanReport) -> set[tuple[str, str, str, str | None]]:
    return {(f.id, f.package.name, f.package.version, f.fixed_version) for f in report.findings}


SYFT_FORMATS = ("cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tag-value", "syft-json")


@pytest.fixture(scope="module")
def syft_outputs(images: Images, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], str]:
    """Syft run once per image, writing every format; ``image`` → its directory."""
    done: dict[str, str] = {}

    def outputs(image: str) -> str:
        if image not in done:
            directory = tmp_path_factory.mktemp(f"syft-{image}")
            subprocess.run(
                [SYFT, f"docker-archive:{images.archive(image)}", "-q"]
                + [arg for fmt in SYFT_FORMATS for arg in ("-o", f"{fmt}={directory}/{fmt}")],
                check=True,
                timeout=300,
                env={**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"},
            )
            done[image] = str(directory)
        return done[image]

    return outputs


@pytest.mark.parametrize("image", sorted(CASES))
@pytest.mark.parametrize("fmt", SYFT_FORMATS)
def test_a_syft_sbom_finds_what_the_image_finds(
    images: Images, store: Store, syft_outputs: Callable[[str], str], image: str, fmt: str
) -> None:
    feed, expected, release = CASES[image]
    api.import_vulnerabilities(store, vuln_path(*feed))
    written = os.path.join(syft_outputs(image), fmt)
    from_image = api.scan(f"docker-archive:{images.archive(image)}", store=store)
    from_syft = api.scan(written, store=store)
    assert {(i, n) for i, n, _, _ in _findings(from_image)} >= expected
    assert _findings(from_syft) == _findings(from_image)
    assert from_syft.sbom.tool.startswith("syft 1.")
    assert from_syft.sbom.image is not None, "the image digest Syft names is kept"
    if release is not None:
        assert from_syft.sbom.distro is not None and from_syft.sbom.distro.ecosystem == release
        os_packages = [p for p in from_syft.sbom.packages if p.type.value in ("deb", "apk")]
        assert os_packages and all(p.distro == release for p in os_packages)


def test_distro_packages_without_a_release_fail_the_gate_unless_allowed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A real dpkg database with no os-release beside it (nor, in an SBOM file, a distro=
    qualifier): its packages cannot be matched, and a gate does not pass what it could not
    check."""
    root = tmp_path / "root" / "var" / "lib" / "dpkg"
    root.mkdir(parents=True)
    with open(vuln_path("..", "fixtures", "dpkg", "ubuntu-18.04_var_lib_dpkg_status"), "rb") as f:
        (root / "status").write_bytes(f.read())
    env = {"HULLCHECK_DB": f"sqlite:///{tmp_path}/hc.db"}
    assert hullcheck("db", "import", vuln_path("ubuntu"), env=env).returncode == 0
    target = f"dir:{tmp_path / 'root'}"
    gated = hullcheck("scan", target, "--fail-on", "critical", "-f", "json", env=env)
    assert gated.returncode == 1
    assert "packages could not be matched (no distro release)" in gated.stderr
    document = json.loads(gated.stdout)
    assert document["gate"]["failed"] and len(document["skipped"]) == 90
    assert {s["reason"] for s in document["skipped"]} == {"no distro release"}
    allowed = hullcheck("scan", target, "--fail-on", "critical", "--allow-incomplete", env=env)
    assert allowed.returncode == 0, allowed.stderr
    assert "90 deb packages name no distro release" in allowed.stdout


def test_debian_licences_from_copyright_files_match_syft(
    images: Images, store: Store, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """dpkg records no licence; both tools read ``/usr/share/doc/*/copyright``. hullcheck
    gives a licence to every package Syft gives one to, and says it in SPDX where it can
    (DEP-5 short names translated: ``GPL-2+`` is ``GPL-2.0-or-later``)."""
    archive = images.archive("debian")
    written = str(tmp_path / "syft.cdx.json")
    subprocess.run(
        [SYFT, f"docker-archive:{archive}", "-o", f"cyclonedx-json={written}", "-q"],
        check=True,
        timeout=300,
        env={**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"},
    )
    with open(written) as handle:
        syft = json.load(handle)
    licensed_by_syft = {
        c["name"]
        for c in syft["components"]
        if c.get("licenses") and str(c.get("purl", "")).startswith("pkg:deb/")
    }
    ours = api.generate_sbom(f"docker-archive:{archive}", store=store)
    debs = [p for p in ours.packages if p.type.value == "deb"]
    licensed = {p.name for p in debs if p.licenses}
    assert len(licensed_by_syft) > 50 and licensed >= licensed_by_syft
    expressions = [p for p in debs if p.license_expression]
    assert len(expressions) >= len(debs) * 0.75, "most Debian licences are machine-readable"
    apt = next(p for p in debs if p.name == "apt")  # DEP-5: GPL-2+, GPL-2, BSD-3-clause, Expat
    assert apt.license_expression == "GPL-2.0-or-later AND GPL-2.0-only AND BSD-3-Clause AND MIT"
    libc = next(p for p in debs if p.name == "libc6")  # free-form: "or later" is not said
    assert libc.licenses == ("LGPL-2.1", "GPL-2") and libc.license_expression is None
    from hullcheck.report import render

    components = {c["name"]: c for c in json.loads(render(ours, "cyclonedx-json"))["components"]}
    assert components["apt"]["licenses"] == [{"expression": apt.license_expression}]
    assert components["libc6"]["licenses"] == [
        {"license": {"name": "LGPL-2.1"}},
        {"license": {"name": "GPL-2"}},
    ]
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    spdx = tmp_path / "debian.spdx.json"
    spdx.write_text(render(ours, "spdx-json"))
    assert validate_full_spdx_document(parse_file(str(spdx))) == []


TRIVY = os.path.join(os.path.dirname(__file__), "..", "data", "sboms", "trivy")


@pytest.mark.parametrize(
    "name", ["centos-7-cyclonedx.json", "centos-7-spdx.json", "centos-7-spdx.txt"]
)
def test_trivy_test_sboms_give_the_same_packages_in_every_format(tmp_path, name: str) -> None:  # type: ignore[no-untyped-def]
    """Trivy's published test SBOMs of its CentOS 7 image (recorded unchanged): the same
    packages at the rpm versions of the purls, the release, the image ID and the tool, from
    CycloneDX JSON, SPDX JSON and SPDX tag-value — and, hullcheck having no CentOS
    advisories, a gate that fails closed saying so rather than passing."""
    path = os.path.join(TRIVY, name)
    sbom = api.generate_sbom(path)
    assert {(p.name, p.version, p.type.value) for p in sbom.packages} == {
        ("bash", "4.2.46-31.el7", "rpm"),
        ("openssl-libs", "1:1.0.2k-16.el7", "rpm"),
    }
    assert sbom.distro is not None and (sbom.distro.id, sbom.distro.version_id) == (
        "centos",
        "7.6.1810",
    )
    assert sbom.image is not None and sbom.image.id.startswith("sha256:f1cb7c7d58b7")
    assert sbom.tool == "trivy dev"
    assert not sbom.warnings
    env = {"HULLCHECK_DB": f"sqlite:///{tmp_path}/hc.db"}
    assert hullcheck("db", "import", vuln_path("alpine"), env=env).returncode == 0
    gated = hullcheck("scan", path, "--fail-on", "critical", "-f", "json", env=env)
    assert gated.returncode == 1, gated.stderr
    assert "could not be matched (no advisories for centos 7.6.1810)" in gated.stderr
    assert [s["name"] for s in json.loads(gated.stdout)["skipped"]] == ["bash", "openssl-libs"]


@pytest.mark.parametrize("image", ["debian", "python", "npm"])
def test_the_dependency_graph_has_every_edge_syft_finds(
    images: Images, store: Store, syft_outputs: Callable[[str], str], image: str
) -> None:
    """dpkg ``Depends`` (216 edges in Debian 12 minbase) give Syft's edges exactly; Python
    ``Requires-Dist`` resolved within the image give all of Syft's and one it misses; npm
    ``dependencies`` resolved by node's lookup give edges where Syft gives none."""
    with open(os.path.join(syft_outputs(image), "syft-json")) as handle:
        syft = json.load(handle)
    by_id = {a["id"]: a for a in syft["artifacts"]}
    theirs = {
        (by_id[r["child"]]["name"], by_id[r["parent"]]["name"])
        for r in syft["artifactRelationships"]
        if r["type"] == "dependency-of" and r["parent"] in by_id and r["child"] in by_id
    }
    sbom = api.generate_sbom(f"docker-archive:{images.archive(image)}", store=store)
    ours = {(sbom.packages[a].name, sbom.packages[b].name) for a, b in sbom.dependencies}
    assert sorted(theirs - ours) == [] and len(theirs) >= 216
    if image == "npm":
        assert ("hc-test-app", "express") in ours and len(ours - theirs) > 100
    elif image == "python":  # Jinja2's "Requires-Dist: MarkupSafe>=2.0", which Syft misses
        assert ("Jinja2", "MarkupSafe") in ours - theirs
    else:
        assert ours == theirs


@pytest.mark.parametrize("fmt", ["json", "cyclonedx-json", "spdx-json"])
def test_the_graph_and_the_application_survive_a_round_trip(
    images: Images, store: Store, tmp_path, fmt: str
) -> None:  # type: ignore[no-untyped-def]
    from hullcheck.report import render

    sbom = api.generate_sbom(f"docker-archive:{images.archive('npm')}", store=store)
    path = tmp_path / "sbom"
    path.write_text(render(sbom, fmt))
    again = api.generate_sbom(str(path))

    def named(s: Sbom) -> set[tuple[str, str, str, str]]:
        return {
            (s.packages[a].name, s.packages[a].version, s.packages[b].name, s.packages[b].version)
            for a, b in s.dependencies
        }

    assert named(again) == named(sbom) and len(named(sbom)) > 300
    assert [p.name for p in again.packages if p.application] == ["hc-test-app"]
