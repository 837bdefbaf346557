"""CycloneDX 1.6 JSON with a ``vulnerabilities`` section: the SBOM plus what affects it.

Each finding is one vulnerability entry affecting its package's component, as
Dependency-Track and the CycloneDX tools read it: the database that published the id as
``source``, every other id (CVE, GHSA, PYSEC, DSA, USN …) as a ``reference`` with its own
database, one rating per source (the record the CVSS vector comes from, and hullcheck's
merged severity), CWEs, publication and update times, the full text, and the affected
version. A suppressed finding carries an ``analysis``: an OpenVEX statement's state and
justification, an accepted risk (ignore file) or a missing fix (``--ignore-unfixed``).
"""

from __future__ import annotations

from typing import Any

from hullcheck.model import Finding, ScanReport, Severity, Suppressed
from hullcheck.report.advisories import database
from hullcheck.report.cyclonedx import build_bom, dump

_CVSS_METHODS = {"CVSS:4": "CVSSv4", "CVSS:3.1": "CVSSv31", "CVSS:3": "CVSSv3"}
_HULLCHECK = {"name": "hullcheck"}
_JUSTIFICATIONS = {
    # OpenVEX justification → CycloneDX impact analysis justification (CISA's mapping)
    "component_not_present": "code_not_present",
    "vulnerable_code_not_present": "code_not_present",
    "vulnerable_code_not_in_execute_path": "code_not_reachable",
    "vulnerable_code_cannot_be_controlled_by_adversary": "protected_at_runtime",
    "inline_mitigations_already_exist": "protected_by_mitigating_control",
}


def render_scan_cyclonedx(report: ScanReport) -> str:
    bom, components = build_bom(report.sbom)
    refs = {package.key: ref for package, ref in zip(report.sbom.packages, components, strict=True)}
    entries: list[tuple[Finding, Suppressed | None]] = [(f, None) for f in report.findings]
    entries += [(s.finding, s) for s in report.suppressed]
    bom["vulnerabilities"] = [
        _vulnerability(index, finding, refs, suppressed)
        for index, (finding, suppressed) in enumerate(entries)
    ]
    return dump(bom)


def _vulnerability(
    index: int, finding: Finding, refs: dict[Any, str], suppressed: Suppressed | None
) -> dict[str, Any]:
    described = finding.description
    home = database(finding.id)
    entry: dict[str, Any] = {
        "bom-ref": f"vuln-{index}:{finding.id}",
        "id": finding.id,
        "source": {"name": home.name, "url": home.url},
    }
    others = [*finding.advisories, *finding.aliases]
    if others:
        entry["references"] = [
            {"id": other, "source": dict(database(other)._asdict())} for other in others
        ]
    entry["ratings"] = _ratings(finding)
    if described is not None and described.cwes:
        entry["cwes"] = list(described.cwes)
    if finding.summary:
        entry["description"] = finding.summary
    if described is not None and described.details and described.details != finding.summary:
        entry["detail"] = described.details
    if finding.fixed_version:
        entry["recommendation"] = f"Upgrade {finding.package.name} to {finding.fixed_version}"
    urls = list(described.references) if described is not None else []
    if finding.url and finding.url not in urls:
        urls.insert(0, finding.url)
    if urls:
        entry["advisories"] = [{"url": url} for url in urls]
    if described is not None and described.published:
        entry["published"] = described.published
    if described is not None and described.modified:
        entry["updated"] = described.modified
    ref = refs.get(finding.package.key)
    if ref is not None:
        entry["affects"] = [
            {"ref": ref, "versions": [{"version": finding.package.version, "status": "affected"}]}
        ]
    if suppressed is not None:
        entry["analysis"] = _analysis(suppressed)
    entry["properties"] = [
        {"name": "hullcheck:status", "value": finding.status.value},
        {"name": "hullcheck:ecosystem", "value": finding.ecosystem},
    ]
    return entry


def _analysis(suppressed: Suppressed) -> dict[str, Any]:
    """What CycloneDX calls the impact analysis of a finding the gate left out."""
    detail = f"{suppressed.by}: {suppressed.reason}"
    if suppressed.vex_status == "fixed":
        return {"state": "resolved", "detail": detail}
    if suppressed.vex_status == "not_affected":
        analysis: dict[str, Any] = {"state": "not_affected"}
        justification = _JUSTIFICATIONS.get(suppressed.vex_justification or "")
        if justification:
            analysis["justification"] = justification
        return analysis | {"detail": detail}
    if suppressed.by == "--ignore-unfixed":
        return {"state": "exploitable", "response": ["can_not_fix"], "detail": detail}
    # an ignore rule: a risk accepted with a reason, not a claim that the code is safe
    return {"state": "exploitable", "response": ["will_not_fix"], "detail": detail}


def _ratings(finding: Finding) -> list[dict[str, Any]]:
    ratings: list[dict[str, Any]] = []
    if finding.cvss_score is not None and finding.cvss_vector:
        method = next(
            (m for prefix, m in _CVSS_METHODS.items() if finding.cvss_vector.startswith(prefix)),
            "CVSSv2",
        )
        rating: dict[str, Any] = {}
        if finding.cvss_source:
            rating["source"] = dict(database(finding.cvss_source)._asdict())
        # the vector without its "CVSS:3.1/" prefix, which the method names already
        vector = finding.cvss_vector.split("/", 1)[1] if method != "CVSSv2" else finding.cvss_vector
        ratings.append(rating | {"score": finding.cvss_score, "method": method, "vector": vector})
    severity = "info" if finding.severity is Severity.NEGLIGIBLE else finding.severity.value
    ratings.append({"source": _HULLCHECK, "severity": severity, "method": "other"})
    return ratings
