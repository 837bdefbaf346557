"""The human table: name, version, type, source package, introducing layer."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from hullcheck.model import Sbom

if TYPE_CHECKING:
    from rich.console import Console


def render_table(sbom: Sbom, *, width: int | None = None, color: bool = False) -> str:
    from rich.table import Table  # imported when a table is drawn: 40 ms of every start

    layers = {}
    if sbom.image is not None:
        layers = {layer.diff_id: layer for layer in sbom.image.layers}
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("NAME", "VERSION", "TYPE", "SOURCE", "LAYER"):
        table.add_column(column, overflow="fold")
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
        table.add_row(package.name, package.version, package.type.value, source or "", where)
    buffer = io.StringIO()
    console = text_console(buffer, width, color)
    console.print(_summary(sbom))
    console.print(table)
    for warning in sbom.warnings:
        console.print(f"warning: {warning.path}: {warning.message}", markup=False)
    return buffer.getvalue()


def text_console(buffer: io.StringIO, width: int | None, color: bool) -> Console:
    """A rich console writing into ``buffer`` (160 columns unless told)."""
    from rich.console import Console

    return Console(
        file=buffer,
        width=width or 160,
        color_system="auto" if color else None,
        force_terminal=color,
    )


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
