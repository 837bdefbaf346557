"""The human table of a scan: most severe first, with the fixed version and the layer."""

from __future__ import annotations

from hullcheck.model import ScanReport
from hullcheck.report.scanjson import severity_counts
from hullcheck.report.text import Cell, render_table, safe

_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def render_scan_table(report: ScanReport, *, width: int | None = None, color: bool = False) -> str:
    sbom = report.sbom
    layers = {layer.diff_id: layer for layer in sbom.image.layers} if sbom.image else {}
    rows: list[tuple[Cell, ...]] = []
    for finding in report.findings:
        package = finding.package
        layer = layers.get(package.introduced_by or "")
        name = package.name
        if package.source_name and package.source_name != package.name:
            name += f" ({package.source_name})"
        severity = finding.severity.value
        rows.append(
            (
                finding.id,
                (severity, _STYLES.get(severity, "")),
                name,
                package.version,
                finding.fixed_version or "unfixed",
                str(layer.index) if layer is not None else "",
                ", ".join(finding.advisories),
            )
        )
    text = ""
    if report.findings:
        headers = ("ID", "SEVERITY", "PACKAGE", "INSTALLED", "FIXED", "LAYER", "ADVISORIES")
        text = render_table(headers, rows, width=width, color=color)
    after = [
        f"ignored: {s.finding.id} in {s.finding.package.name} ({s.by}: {s.reason})"
        for s in report.suppressed
    ]
    after += [f"note: {note}" for note in report.notes]
    if report.fail_on is not None:
        verdict = "FAILED" if report.gate_failed else "passed"
        after.append(f"gate: {verdict} (--fail-on {report.fail_on.value})")
    return safe(_headline(report)) + "\n" + text + "".join(f"{safe(line)}\n" for line in after)


def _headline(report: ScanReport) -> str:
    sbom = report.sbom
    parts = [f"{sbom.source.kind}:{sbom.source.reference}"]
    if sbom.distro is not None:
        parts.append(sbom.distro.pretty_name or sbom.distro.ecosystem or sbom.distro.id)
    parts.append(f"{len(sbom.packages)} packages")
    counts = severity_counts(report.findings)
    listed = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    parts.append(f"{len(report.findings)} vulnerabilities" + (f" ({listed})" if listed else ""))
    if report.suppressed:
        parts.append(f"{len(report.suppressed)} ignored")
    if report.db is not None:
        parts.append(f"db: {report.db.records} records")
    return " · ".join(parts)
