"""SARIF 2.1.0 for code-scanning dashboards: one rule per vulnerability, one result per finding.

Severity maps to ``level`` (critical/high → error, medium → warning, else note) and to the
``security-severity`` property GitHub reads (the CVSS score, or a representative value).
Suppressed findings are kept as results with an external suppression and its justification.
"""

from __future__ import annotations

import json
from typing import Any

from hullcheck import __version__
from hullcheck.model import Finding, ScanReport, Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
}
_REPRESENTATIVE = {
    Severity.CRITICAL: 9.5,
    Severity.HIGH: 8.0,
    Severity.MEDIUM: 5.5,
    Severity.LOW: 2.0,
    Severity.NEGLIGIBLE: 0.5,
    Severity.UNKNOWN: 0.0,
}


def _rule(finding: Finding) -> dict[str, Any]:
    score = finding.cvss_score
    if score is None:
        score = _REPRESENTATIVE[finding.severity]
    text = finding.summary or f"{finding.id} in {finding.package.name}"
    rule: dict[str, Any] = {
        "id": finding.id,
        "name": finding.id.replace("-", ""),
        "shortDescription": {"text": text},
        "fullDescription": {"text": text},
        "defaultConfiguration": {"level": _LEVELS.get(finding.severity, "note")},
        "help": {
            "text": f"{finding.id}: {text}. Advisories: {', '.join(finding.advisories) or '-'}",
        },
        "properties": {
            "security-severity": f"{score:.1f}",
            "tags": ["security", "vulnerability", finding.severity.value],
        },
    }
    if finding.url:
        rule["helpUri"] = finding.url
    return rule


def _result(finding: Finding, report: ScanReport) -> dict[str, Any]:
    package = finding.package
    fix = f"fixed in {finding.fixed_version}" if finding.fixed_version else "no fix yet"
    subject = report.sbom.image.id if report.sbom.image else report.sbom.source.reference
    return {
        "ruleId": finding.id,
        "level": _LEVELS.get(finding.severity, "note"),
        "message": {
            "text": f"{package.name} {package.version} is affected by {finding.id} "
            f"({finding.severity.value}); {fix}"
        },
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": package.location.path.lstrip("/") or "."}
                },
                "logicalLocations": [{"name": subject, "kind": "module"}],
            }
        ],
        "partialFingerprints": {
            "hullcheck/v1": f"{finding.id}|{package.purl}|{package.location.path}"
        },
        "properties": {
            "purl": package.purl,
            "installedVersion": package.version,
            "fixedVersion": finding.fixed_version,
            "advisories": list(finding.advisories),
            "aliases": list(finding.aliases),
        },
    }


def render_sarif(report: ScanReport) -> str:
    findings = list(report.findings) + [s.finding for s in report.suppressed]
    rules: dict[str, dict[str, Any]] = {}
    for finding in findings:
        rules.setdefault(finding.id, _rule(finding))
    results = [_result(f, report) for f in report.findings]
    for suppressed in report.suppressed:
        result = _result(suppressed.finding, report)
        result["suppressions"] = [
            {"kind": "external", "justification": f"{suppressed.by}: {suppressed.reason}"}
        ]
        results.append(result)
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "hullcheck",
                        "version": __version__,
                        "rules": list(rules.values()),
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
