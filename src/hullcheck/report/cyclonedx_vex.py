"""CycloneDX 1.6 JSON with a ``vulnerabilities`` section: the SBOM plus what affects it.

Each finding is one vulnerability entry affecting its package's component; suppressed ones
carry an ``analysis`` (``not_affected`` for VEX and ignore rules, with the reason).
"""

from __future__ import annotations

from typing import Any

from hullcheck.model import Finding, ScanReport, Severity
from hullcheck.report.cyclonedx import build_bom, dump

_CVSS_METHODS = {"CVSS:4": "CVSSv4", "CVSS:3.1": "CVSSv31", "CVSS:3": "CVSSv3"}


def render_scan_cyclonedx(report: ScanReport) -> str:
    bom, components = build_bom(report.sbom)
    refs = {package.key: ref for package, ref in zip(report.sbom.packages, components, strict=True)}
    entries = [(f, None) for f in report.findings] + [
        (s.finding, f"{s.by}: {s.reason}") for s in report.suppressed
    ]
    bom["vulnerabilities"] = [
        _vulnerability(index, finding, refs, suppressed)
        for index, (finding, suppressed) in enumerate(entries)
    ]
    return dump(bom)


def _vulnerability(
    index: int, finding: Finding, refs: dict[Any, str], suppressed: str | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "bom-ref": f"vuln-{index}:{finding.id}",
        "id": finding.id,
        "source": {"name": "OSV", **({"url": finding.url} if finding.url else {})},
        "ratings": _ratings(finding),
    }
    if finding.summary:
        entry["description"] = finding.summary
    if finding.fixed_version:
        entry["recommendation"] = f"Upgrade {finding.package.name} to {finding.fixed_version}"
    if finding.url:
        entry["advisories"] = [{"url": finding.url}]
    ref = refs.get(finding.package.key)
    if ref is not None:
        entry["affects"] = [{"ref": ref}]
    if suppressed:
        entry["analysis"] = {"state": "not_affected", "detail": suppressed}
    properties = [("status", finding.status.value)]
    properties += [("alias", alias) for alias in finding.aliases]
    properties += [("advisory", advisory) for advisory in finding.advisories]
    entry["properties"] = [{"name": f"hullcheck:{k}", "value": v} for k, v in properties]
    return entry


def _ratings(finding: Finding) -> list[dict[str, Any]]:
    severity = "info" if finding.severity is Severity.NEGLIGIBLE else finding.severity.value
    ratings: list[dict[str, Any]] = [{"severity": severity, "method": "other"}]
    if finding.cvss_score is not None and finding.cvss_vector:
        method = next(
            (m for prefix, m in _CVSS_METHODS.items() if finding.cvss_vector.startswith(prefix)),
            "CVSSv2",
        )
        # the vector without its "CVSS:3.1/" prefix, which the method names already
        vector = finding.cvss_vector.split("/", 1)[1] if method != "CVSSv2" else finding.cvss_vector
        ratings.append({"score": finding.cvss_score, "method": method, "vector": vector})
    return ratings
