"""The human table: name, version, type, source package, introducing layer."""

from __future__ import annotations

from hullcheck.model import Sbom
from hullcheck.report.text import render_table as text_table
from hullcheck.report.text import safe


def render_table(sbom: Sbom, *, width: int | None = None, color: bool = False) -> str:
    layers = {}
    if sbom.image is not None:
        layers = {layer.diff_id: layer for layer in sbom.image.layers}
    rows = []
    for package in sbom.packages:
        source = package.source_name if package.source_name != package.name else ""
        if source and package.source_version:
            source += f" ({package.source_version})"
        layer = layers.get(package.introduced_by or "")
        where = ""
        if layer is not None:
            where = f"{layer.index} {layer.diff_id.removeprefix('sha256:')[:12]}"
            if layer.created_by:
                where += f" {_short(layer.created_by)}"
        rows.append((package.name, package.version, package.type.value, source or "", where))
    headers = ("NAME", "VERSION", "TYPE", "SOURCE", "LAYER")
    warnings = [safe(f"warning: {w.path}: {w.message}") + "\n" for w in sbom.warnings]
    table = text_table(headers, rows, width=width, color=color)
    return safe(_summary(sbom)) + "\n" + table + "".join(warnings)


def _short(command: str) -> str:
    text = " ".join(command.replace("/bin/sh -c #(nop) ", "").replace("/bin/sh -c ", "").split())
    return text if len(text) <= 40 else text[:39] + "…"


def _summary(sbom: Sbom) -> str:
    parts = [f"{sbom.source.kind}:{sbom.source.reference}"]
    if sbom.distro is not None:
        parts.append(sbom.distro.pretty_name or sbom.distro.ecosystem or sbom.distro.id)
    counts: dict[str, int] = {}
    for package in sbom.packages:
        counts[package.type.value] = counts.get(package.type.value, 0) + 1
    summary = ", ".join(f"{n} {t}" for t, n in sorted(counts.items())) or "no packages"
    parts.append(f"{len(sbom.packages)} packages ({summary})")
    if sbom.warnings:
        parts.append(f"{len(sbom.warnings)} warnings")
    return " · ".join(parts)
