"""``hullcheck-scan/1``: the findings of a scan as JSON (schema in docs/scan.md)."""

from __future__ import annotations

import json
from typing import Any

from hullcheck.model import Finding, ScanReport, Severity

SCHEMA = "hullcheck-scan/1"


def finding_document(finding: Finding) -> dict[str, Any]:
    package = finding.package
    return {
        "id": finding.id,
        "aliases": list(finding.aliases),
        "advisories": list(finding.advisories),
        "severity": finding.severity.value,
        "cvss": (
            {"score": finding.cvss_score, "vector": finding.cvss_vector}
            if finding.cvss_score is not None
            else None
        ),
        "status": finding.status.value,
        "fixed_version": finding.fixed_version,
        "ecosystem": finding.ecosystem,
        "summary": finding.summary,
        "url": finding.url,
        "package": {
            "name": package.name,
            "version": package.version,
            "type": package.type.value,
            "purl": package.purl,
            "source_name": package.source_name,
            "path": package.location.path,
            "layer": package.introduced_by or package.location.layer,
        },
    }


def severity_counts(findings: tuple[Finding, ...]) -> dict[str, int]:
    counts = {severity.value: 0 for severity in reversed(Severity)}
    for finding in findings:
        counts[finding.severity.value] += 1
    return counts


def to_document(report: ScanReport) -> dict[str, Any]:
    sbom = report.sbom
    return {
        "schema": SCHEMA,
        "source": {"kind": sbom.source.kind, "reference": sbom.source.reference},
        "image": (
            {"id": sbom.image.id, "repo_tags": list(sbom.image.repo_tags)} if sbom.image else None
        ),
        "distro": sbom.distro.ecosystem if sbom.distro else None,
        "packages": len(sbom.packages),
        "db": ({"records": report.db.records, "updated": report.db.updated} if report.db else None),
        "gate": {
            "fail_on": report.fail_on.value if report.fail_on else None,
            "failed": report.gate_failed,
        },
        "counts": severity_counts(report.findings),
        "findings": [finding_document(f) for f in report.findings],
        "suppressed": [
            {**finding_document(s.finding), "reason": s.reason, "by": s.by}
            for s in report.suppressed
        ],
        "skipped": [
            {
                "name": p.name,
                "version": p.version,
                "type": p.type.value,
                "purl": p.purl,
                "reason": report.unmatched_reason,
            }
            for p in report.unmatched
        ],
        "notes": list(report.notes),
    }


def render_scan_json(report: ScanReport) -> str:
    return json.dumps(to_document(report), indent=2, ensure_ascii=False) + "\n"
