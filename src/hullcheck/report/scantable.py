"""The human table of a scan: most severe first, with the fixed version and the layer."""

from __future__ import annotations

import io

from hullcheck.model import ScanReport
from hullcheck.report.scanjson import severity_counts
from hullcheck.report.table import text_console

_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def render_scan_table(report: ScanReport, *, width: int | None = None, color: bool = False) -> str:
    from rich.table import Table  # imported when a table is drawn

    sbom = report.sbom
    layers = {layer.diff_id: layer for layer in sbom.image.layers} if sbom.image else {}
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("ID", "SEVERITY", "PACKAGE", "INSTALLED", "FIXED", "LAYER", "ADVISORIES"):
        table.add_column(column, overflow="fold")
    for finding in report.findings:
        package = finding.package
        layer = layers.get(package.introduced_by or "")
        name = package.name
        if package.source_name and package.source_name != package.name:
            name += f" ({package.source_name})"
        severity = finding.severity.value
        table.add_row(
            finding.id,
            f"[{_STYLES.get(severity, '')}]{severity}[/]" if severity in _STYLES else severity,
            name,
            package.version,
            finding.fixed_version or "unfixed",
            str(layer.index) if layer is not None else "",
            ", ".join(finding.advisories),
        )
    buffer = io.StringIO()
    console = text_console(buffer, width, color)
    console.print(_headline(report), markup=False)
    if report.findings:
        console.print(table)
    for suppressed in report.suppressed:
        console.print(
            f"ignored: {suppressed.finding.id} in {suppressed.finding.package.name} "
            f"({suppressed.by}: {suppressed.reason})",
            markup=False,
        )
    for note in report.notes:
        console.print(f"note: {note}", markup=False)
    if report.fail_on is not None:
        verdict = "FAILED" if report.gate_failed else "passed"
        console.print(f"gate: {verdict} (--fail-on {report.fail_on.value})", markup=False)
    return buffer.getvalue()


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
