"""What the consumers of hullcheck's scan outputs read from them: Dependency-Track and the
CycloneDX tools (vulnerability references, rating sources, CWEs, dates, VEX analysis), GitHub
code scanning (positions, full text, markdown help), and OpenVEX documents as vexctl, Trivy
and Grype write them (products named by an encoded ``pkg:oci`` purl)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hullcheck import api
from hullcheck.errors import UsageError
from hullcheck.model import ScanReport
from hullcheck.report import scan_format_named
from hullcheck.store import Store
from tests.conftest import Images
from tests.infra.cli import hullcheck
from tests.infra.vulndata import vuln_path

pytestmark = pytest.mark.docker

EXPRESS = "CVE-2024-29041"  # express 4.18.2 in the npm test image; GHSA-rv95-896h-c2vc


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:  # type: ignore[no-untyped-def]
    opened = api.open_store(f"sqlite:///{tmp_path}/hc.db")
    api.import_vulnerabilities(opened, vuln_path("npm"))
    yield opened
    opened.close()


def _vex(tmp_path, *statements: dict[str, Any]) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / "vex.json"
    path.write_text(
        json.dumps(
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "@id": "https://example.org/vex/2",
                "author": "platform team",
                "timestamp": "2026-11-01T00:00:00Z",
                "version": 1,
                "statements": list(statements),
            }
        )
    )
    return str(path)


def _vulnerability(document: dict[str, Any], vuln_id: str) -> dict[str, Any]:
    return next(v for v in document["vulnerabilities"] if v["id"] == vuln_id)


def test_cyclonedx_vulnerabilities_carry_what_dependency_track_reads(
    images: Images, store: Store
) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    report = api.scan(f"docker-archive:{images.archive('npm')}", store=store)
    text = scan_format_named("cyclonedx-json").render(report)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    express = _vulnerability(json.loads(text), EXPRESS)
    assert express["source"] == {
        "name": "NVD",
        "url": f"https://nvd.nist.gov/vuln/detail/{EXPRESS}",
    }
    assert {
        "id": "GHSA-rv95-896h-c2vc",
        "source": {
            "name": "GitHub Advisory Database",
            "url": "https://github.com/advisories/GHSA-rv95-896h-c2vc",
        },
    } in express["references"]
    assert express["cwes"] == [601, 1286]
    assert express["published"] == "2024-03-25T19:40:26Z"
    assert express["updated"] == "2024-03-25T22:24:57Z"
    cvss = next(r for r in express["ratings"] if r["method"].startswith("CVSS"))
    assert cvss["source"]["name"] == "GitHub Advisory Database" and cvss["vector"]
    assert len(express["detail"]) > 200, "the full text, not a line cut at 200 characters"
    assert express["affects"][0]["versions"] == [{"version": "4.18.2", "status": "affected"}]


def test_sarif_results_have_the_positions_and_help_github_needs(
    images: Images, store: Store
) -> None:
    report = api.scan(f"docker-archive:{images.archive('npm')}", store=store)
    document = json.loads(scan_format_named("sarif").render(report))
    run = document["runs"][0]
    result = next(r for r in run["results"] if r["ruleId"] == EXPRESS)
    location = result["locations"][0]["physicalLocation"]
    assert location["region"]["startLine"] == 1
    assert location["artifactLocation"]["uri"].endswith("node_modules/express/package.json")
    rule = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == EXPRESS)
    assert "external/cwe/cwe-601" in rule["properties"]["tags"]
    assert rule["fullDescription"]["text"] == report_text(report, EXPRESS)
    markdown = rule["help"]["markdown"]
    assert "| express | 4.18.2 | 4.19.2 |" in markdown
    assert "[GHSA-rv95-896h-c2vc](https://github.com/advisories/GHSA-rv95-896h-c2vc)" in markdown


def report_text(report: ScanReport, vuln_id: str) -> str:
    finding = next(f for f in report.findings if f.id == vuln_id)
    assert finding.description is not None and finding.description.details
    return finding.description.details


def test_sarif_of_an_sbom_file_points_at_the_file(images: Images, store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A package read from an SBOM that does not say which file in the image listed it (any
    other tool's) is located at the SBOM file itself, not at ``"."``."""
    sbom = api.generate_sbom(f"docker-archive:{images.archive('npm')}", store=store)
    document = json.loads(scan_format_named("cyclonedx-json").render(ScanReport(sbom, ())))
    document.pop("vulnerabilities")
    for component in document["components"]:
        component.pop("properties", None)  # hullcheck's own annotations, with the path
    path = tmp_path / "app.cdx.json"
    path.write_text(json.dumps(document))
    from_file = api.scan(str(path), store=store)
    sarif = json.loads(scan_format_named("sarif").render(from_file))
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
    }
    assert uris == {str(path).lstrip("/")}


def test_openvex_of_vexctl_names_the_image_by_an_encoded_oci_purl(
    images: Images, store: Store, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    archive = f"docker-archive:{images.archive('npm')}"
    image_id = api.generate_sbom(archive, store=store).image.id  # type: ignore[union-attr]
    algorithm, digest = image_id.split(":")
    vex = _vex(
        tmp_path,
        {
            "vulnerability": {"name": EXPRESS},
            "products": [
                {
                    "@id": f"pkg:oci/npm@{algorithm}%3A{digest}?repository_url=example.org",
                    "subcomponents": [{"@id": "pkg:npm/express@4.18.2"}],
                }
            ],
            "status": "not_affected",
            "justification": "vulnerable_code_not_in_execute_path",
        },
        {
            "vulnerability": {"name": "CVE-1999-0001"},
            "products": [{"@id": "pkg:npm/express"}],
            "status": "fixed",
        },
    )
    report = api.scan(archive, store=store, gate=api.Gate(vex=(vex,)))
    assert EXPRESS not in {f.id for f in report.findings}
    assert EXPRESS in {s.finding.id for s in report.suppressed}
    assert any("statement 2" in n and "matched no finding" in n for n in report.notes)
    analysis = _vulnerability(
        json.loads(scan_format_named("cyclonedx-json").render(report)), EXPRESS
    )["analysis"]
    assert analysis["state"] == "not_affected"
    assert analysis["justification"] == "code_not_reachable"
    assert str(tmp_path) in analysis["detail"] or "statement 1" in analysis["detail"]


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ({"status": "not_affected"}, "must give a justification or an impact_statement"),
        ({"status": "not_affected", "justification": "trust_me"}, "unknown justification"),
        ({"status": "affected"}, "must give an action_statement"),
        ({"status": "safe"}, "unknown status 'safe'"),
    ],
)
def test_openvex_statements_against_the_specification_are_refused(
    tmp_path, statement: dict[str, Any], message: str
) -> None:  # type: ignore[no-untyped-def]
    vex = _vex(tmp_path, {"vulnerability": {"name": EXPRESS}, "products": [], **statement})
    from hullcheck.vulndb.suppress import read_vex

    with pytest.raises(UsageError, match=message):
        read_vex(vex)
    result = hullcheck("scan", str(tmp_path), "--vex", vex)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr
