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
from hullcheck.report.advisories import database

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


def _rule(finding: Finding, packages: list[Finding]) -> dict[str, Any]:
    score = finding.cvss_score
    if score is None:
        score = _REPRESENTATIVE[finding.severity]
    text = finding.summary or f"{finding.id} in {finding.package.name}"
    described = finding.description
    full = described.details if described is not None and described.details else text
    rule: dict[str, Any] = {
        "id": finding.id,
        "name": finding.id.replace("-", ""),
        "shortDescription": {"text": text},
        "fullDescription": {"text": full},
        "defaultConfiguration": {"level": _LEVELS.get(finding.severity, "note")},
        "help": {"text": f"{finding.id}: {full}", "markdown": _markdown(finding, full, packages)},
        "properties": {
            "security-severity": f"{score:.1f}",
            "tags": ["security", "vulnerability", finding.severity.value]
            + [f"external/cwe/cwe-{cwe}" for cwe in (described.cwes if described else ())],
        },
    }
    if finding.url:
        rule["helpUri"] = finding.url
    return rule


def _markdown(finding: Finding, full: str, packages: list[Finding]) -> str:
    """The help GitHub shows beside an alert: what, which packages, the fix, links to every
    id."""
    rows = dict.fromkeys(
        f"| {_escaped(f.package.name)} | {_escaped(f.package.version)} | "
        f"{_escaped(f.fixed_version or 'no fixed version yet')} |\n"
        for f in packages
    )
    ids = [finding.id, *finding.advisories, *finding.aliases]
    links = ", ".join(f"[{i}]({database(i).url})" for i in ids)
    return (
        f"**{finding.id}** ({finding.severity.value}"
        + (f", CVSS {finding.cvss_score:.1f}" if finding.cvss_score is not None else "")
        # OSV details are markdown already (GitHub advisories write them so); GitHub
        # sanitises what it renders. Table cells are escaped: they come from the image.
        + f")\n\n{full}\n\n"
        "| Package | Installed | Fixed in |\n| --- | --- | --- |\n"
        + "".join(rows)
        + f"\nKnown as: {links}\n"
    )


_MARKDOWN_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>|"} | {"\n": " "})


def _escaped(text: str) -> str:
    """Text from an image as literal markdown in one table cell."""
    return text.translate(_MARKDOWN_SPECIAL)


def _result(finding: Finding, report: ScanReport) -> dict[str, Any]:
    package = finding.package
    fix = f"fixed in {finding.fixed_version}" if finding.fixed_version else "no fix yet"
    sbom = report.sbom
    subject = sbom.image.id if sbom.image else sbom.source.reference
    # the file the package was read from, inside the image; for an SBOM input, the SBOM
    uri = package.location.path.lstrip("/") or sbom.source.reference.lstrip("/") or "."
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
                    "artifactLocation": {"uri": uri},
                    # code scanning needs a line; a package is the whole file that lists it
                    "region": {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1},
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
    by_id: dict[str, list[Finding]] = {}
    for finding in findings:
        by_id.setdefault(finding.id, []).append(finding)
    rules = {key: _rule(group[0], group) for key, group in by_id.items()}
    results = [_result(f, report) for f in report.findings]
    for suppressed in report.suppressed:
        result = _result(suppressed.finding, report)
        result["suppressions"] = [
            {"kind": "external", "justification": f"{suppressed.by}: {suppressed.reason}"}
        ]
        results.append(result)
    return sarif_document(list(rules.values()), results)


def sarif_document(rules: list[dict[str, Any]], results: list[dict[str, Any]]) -> str:
    """A SARIF 2.1.0 log of one run of hullcheck with these rules and results."""
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "hullcheck",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
