"""CycloneDX 1.6 JSON with a ``vulnerabilities`` section: the SBOM plus what affects it.

Each finding is one vulnerability entry affecting its package's component; suppressed ones
carry an ``analysis`` (``not_affected`` for VEX and ignore rules, with the reason).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hullcheck.model import Finding, ScanReport, Severity
from hullcheck.report.cyclonedx import build_bom

_CVSS_METHODS = {"CVSS:4": "CVSS_V4", "CVSS:3.1": "CVSS_V3_1", "CVSS:3": "CVSS_V3"}


def render_scan_cyclonedx(report: ScanReport) -> str:
    from cyclonedx.output.json import JsonV1Dot6

    bom, components = build_bom(report.sbom)
    refs = {
        package.key: component.bom_ref
        for package, component in zip(report.sbom.packages, components, strict=True)
    }
    entries = [(f, None) for f in report.findings] + [
        (s.finding, f"{s.by}: {s.reason}") for s in report.suppressed
    ]
    for index, (finding, suppressed) in enumerate(entries):
        bom.vulnerabilities.add(_vulnerability(index, finding, refs, suppressed))
    return str(JsonV1Dot6(bom).output_as_string(indent=2)) + "\n"


def _vulnerability(
    index: int, finding: Finding, refs: dict[Any, Any], suppressed: str | None
) -> Any:
    from cyclonedx.model import Property, XsUri
    from cyclonedx.model.impact_analysis import ImpactAnalysisState
    from cyclonedx.model.vulnerability import (
        BomTarget,
        Vulnerability,
        VulnerabilityAdvisory,
        VulnerabilityAnalysis,
        VulnerabilitySource,
    )

    ref = refs.get(finding.package.key)
    properties = [Property(name="hullcheck:status", value=finding.status.value)]
    properties += [Property(name="hullcheck:alias", value=a) for a in finding.aliases]
    properties += [Property(name="hullcheck:advisory", value=a) for a in finding.advisories]
    return Vulnerability(
        bom_ref=f"vuln-{index}:{finding.id}",
        id=finding.id,
        source=VulnerabilitySource(name="OSV", url=XsUri(finding.url) if finding.url else None),
        ratings=_ratings(finding),
        description=finding.summary,
        recommendation=(
            f"Upgrade {finding.package.name} to {finding.fixed_version}"
            if finding.fixed_version
            else None
        ),
        advisories=[VulnerabilityAdvisory(url=XsUri(finding.url))] if finding.url else None,
        affects=[BomTarget(ref=str(ref))] if ref is not None else None,
        analysis=(
            VulnerabilityAnalysis(state=ImpactAnalysisState.NOT_AFFECTED, detail=suppressed)
            if suppressed
            else None
        ),
        properties=properties,
    )


def _ratings(finding: Finding) -> list[Any]:
    from cyclonedx.model.vulnerability import (
        VulnerabilityRating,
        VulnerabilityScoreSource,
        VulnerabilitySeverity,
    )

    severity = (
        VulnerabilitySeverity.INFO
        if finding.severity is Severity.NEGLIGIBLE
        else VulnerabilitySeverity(finding.severity.value)
    )
    ratings = [VulnerabilityRating(severity=severity, method=VulnerabilityScoreSource.OTHER)]
    if finding.cvss_score is not None and finding.cvss_vector:
        method = next(
            (m for prefix, m in _CVSS_METHODS.items() if finding.cvss_vector.startswith(prefix)),
            "CVSS_V2",
        )
        ratings.append(
            VulnerabilityRating(
                score=Decimal(str(finding.cvss_score)),
                method=VulnerabilityScoreSource[method],
                vector=finding.cvss_vector,
            )
        )
    return ratings
