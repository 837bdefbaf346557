"""Scan output formats: golden files, SARIF and CycloneDX schema validation."""

from __future__ import annotations

import json
import os

import jsonschema
import pytest

from hullcheck import api
from hullcheck.model import ScanReport, Severity
from hullcheck.report import scan_format_named
from hullcheck.report.registry import scan_formats
from tests.infra.layouts import oci_layout, tar_bytes
from tests.report.test_formats import GOLDEN, _read, _stable

VULN = os.path.join(os.path.dirname(__file__), "..", "data", "vuln")
SARIF_SCHEMA = os.path.join(
    os.path.dirname(__file__), "..", "data", "schemas", "sarif-2.1.0-rtm.5.json"
)


def _report(tmp_path: os.PathLike[str], ignore: str | None = None) -> ScanReport:
    """The real Alpine 3.18 database and express 4.18.2's real package.json, as an OCI image."""
    base = tar_bytes(
        ("file", "lib/apk/db/installed", _read("apk", "alpine-3.18_lib_apk_db_installed")),
        ("file", "etc/alpine-release", b"3.18.0\n"),
    )
    store = api.open_store(f"sqlite:///{os.path.join(os.fspath(tmp_path), 'hc.db')}")
    for part in ("alpine", "npm", "feeds/PyPI-all.zip"):
        api.import_vulnerabilities(store, os.path.join(VULN, part))
    app = tar_bytes(
        (
            "file",
            "app/site/requests-2.34.2.dist-info/METADATA",
            _read("python", "requests-2.34.2.dist-info", "METADATA"),
        ),
        (
            "file",
            "usr/lib/python3/dist-packages/urllib3-2.7.0.dist-info/METADATA",
            _read("python", "urllib3-2.7.0.dist-info", "METADATA"),
        ),
    )
    image = oci_layout(os.path.join(os.fspath(tmp_path), "img"), [base, app])
    gate = api.Gate(fail_on=Severity.HIGH, ignore_file=ignore)
    try:
        return api.scan(f"oci-dir:{image}", store=store, gate=gate)
    finally:
        store.close()


@pytest.fixture
def report(tmp_path: os.PathLike[str]) -> ScanReport:
    return _report(tmp_path)


@pytest.mark.parametrize("fmt", [f.name for f in scan_formats()])
def test_golden(report: ScanReport, fmt: str, tmp_path, update_golden: bool) -> None:  # type: ignore[no-untyped-def]
    text = _stable(scan_format_named(fmt).render(report), str(tmp_path))
    text = text.replace(report.db.updated or "-", "DB-UPDATED") if report.db else text
    path = os.path.join(GOLDEN, f"alpine-scan.{fmt}.txt")
    if update_golden:
        with open(path, "w") as handle:
            handle.write(text)
    with open(path) as handle:
        assert text == handle.read(), f"regenerate with pytest --update-golden and review {path}"


def test_sarif_validates_against_the_2_1_0_schema(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ignore = tmp_path / "ignore.toml"
    ignore.write_text('[[ignore]]\nid = "CVE-2025-26519"\nreason = "iconv is not used"\n')
    report = _report(tmp_path, str(ignore))
    assert report.suppressed, "the ignore rule should leave the musl finding out"
    document = json.loads(scan_format_named("sarif").render(report))
    with open(SARIF_SCHEMA) as handle:
        schema = json.load(handle)
    jsonschema.Draft4Validator(schema).validate(document)
    results = document["runs"][0]["results"]
    suppressed = [r for r in results if r.get("suppressions")]
    assert [r["ruleId"] for r in suppressed] == ["CVE-2025-26519"] * 2  # musl, musl-utils
    assert "iconv is not used" in suppressed[0]["suppressions"][0]["justification"]
    rules = {r["id"] for r in document["runs"][0]["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in results} == rules


def test_cyclonedx_with_vulnerabilities_validates(report: ScanReport) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = scan_format_named("cyclonedx-json").render(report)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    document = json.loads(text)
    refs = {c["bom-ref"]: c["name"] for c in document["components"]}
    affected = {
        (v["id"], refs[a["ref"]]) for v in document["vulnerabilities"] for a in v["affects"]
    }
    assert ("CVE-2025-26519", "musl") in affected
    assert len(document["vulnerabilities"]) == len(report.findings)


def test_json_counts_and_gate(report: ScanReport) -> None:
    document = json.loads(scan_format_named("json").render(report))
    assert document["schema"] == "hullcheck-scan/1"
    assert sum(document["counts"].values()) == len(document["findings"])
    assert document["gate"] == {"fail_on": "high", "failed": report.gate_failed}
    musl = next(f for f in document["findings"] if f["package"]["name"] == "musl")
    assert musl["fixed_version"] == "1.2.4-r3" and musl["advisories"] == ["ALPINE-CVE-2025-26519"]
