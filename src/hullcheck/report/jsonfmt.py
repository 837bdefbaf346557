"""hullcheck's own JSON SBOM document (schema ``hullcheck-sbom/1``, see docs/sbom-json.md)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson

from hullcheck.errors import SbomFormatError
from hullcheck.model import (
    Distro,
    ImageInfo,
    LayerInfo,
    Location,
    Package,
    PackageType,
    Sbom,
    ScanWarning,
    SourceInfo,
)

SCHEMA = "hullcheck-sbom/1"


def to_document(sbom: Sbom) -> dict[str, Any]:
    """The document as plain data."""
    distro = None
    if sbom.distro is not None:
        distro = asdict(sbom.distro)
        distro["id_like"] = list(sbom.distro.id_like)
        distro["ecosystem"] = sbom.distro.ecosystem
    image = None
    if sbom.image is not None:
        image = asdict(sbom.image)
        image["repo_tags"] = list(sbom.image.repo_tags)
        image["repo_digests"] = list(sbom.image.repo_digests)
        image["layers"] = [asdict(layer) for layer in sbom.image.layers]
    return {
        "schema": SCHEMA,
        "tool": sbom.tool,
        "created": sbom.created,
        "source": asdict(sbom.source),
        "image": image,
        "distro": distro,
        "packages": [_package(p) for p in sbom.packages],
        "dependencies": [list(edge) for edge in sbom.dependencies],
        "warnings": [asdict(w) for w in sbom.warnings],
    }


def _package(package: Package) -> dict[str, Any]:
    return {
        "name": package.name,
        "version": package.version,
        "type": package.type.value,
        "purl": package.purl,
        "found_by": package.found_by,
        "location": {
            "path": package.location.path,
            "layer": package.location.layer,
            "digest": package.location.digest,
        },
        "introduced_by": package.introduced_by,
        "source_name": package.source_name,
        "source_version": package.source_version,
        "distro": package.distro,
        "arch": package.arch,
        "licenses": list(package.licenses),
        "license_expression": package.license_expression,
        "metadata": package.metadata,
        "application": package.application,
    }


def render_json(sbom: Sbom) -> str:
    """Indented by two, UTF-8 as is (orjson: the standard encoder falls back to pure Python
    when it indents, a third of a warm scan's time)."""
    return orjson.dumps(to_document(sbom), option=orjson.OPT_INDENT_2).decode() + "\n"


def from_document(document: dict[str, Any], what: str) -> Sbom:
    """Read a ``hullcheck-sbom/1`` document back; ``what`` names the input in errors."""
    if document.get("schema") != SCHEMA:
        raise SbomFormatError(f"{what}: not a {SCHEMA} document")
    try:
        return Sbom(
            source=SourceInfo(**document["source"]),
            packages=tuple(_read_package(p) for p in document["packages"]),
            image=_read_image(document.get("image")),
            distro=_read_distro(document.get("distro")),
            warnings=tuple(ScanWarning(**w) for w in document.get("warnings", ())),
            dependencies=_read_edges(document.get("dependencies", ()), len(document["packages"])),
            tool=document.get("tool", "unknown"),
            created=document.get("created"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SbomFormatError(f"{what}: malformed {SCHEMA} document ({exc!r})") from None


_TYPES = {kind.value: kind for kind in PackageType}


def _read_package(data: dict[str, Any]) -> Package:
    return Package(
        name=data["name"],
        version=data["version"],
        type=_TYPES[data["type"]],
        purl=data["purl"],
        found_by=data["found_by"],
        location=Location(**data["location"]),
        introduced_by=data.get("introduced_by"),
        source_name=data.get("source_name"),
        source_version=data.get("source_version"),
        distro=data.get("distro"),
        arch=data.get("arch"),
        licenses=tuple(data.get("licenses", ())),
        license_expression=data.get("license_expression"),
        metadata=dict(data.get("metadata", {})),
        application=bool(data.get("application", False)),
    )


def _read_edges(data: Any, count: int) -> tuple[tuple[int, int], ...]:
    edges = []
    for edge in data:
        dependent, dependency = edge  # two indices, or the document is malformed
        if not (0 <= dependent < count and 0 <= dependency < count):
            raise ValueError(f"dependency {edge} names no package")
        edges.append((int(dependent), int(dependency)))
    return tuple(edges)


def _read_image(data: dict[str, Any] | None) -> ImageInfo | None:
    if data is None:
        return None
    fields = dict(data)
    fields["layers"] = tuple(LayerInfo(**layer) for layer in data["layers"])
    fields["repo_tags"] = tuple(data.get("repo_tags", ()))
    fields["repo_digests"] = tuple(data.get("repo_digests", ()))
    return ImageInfo(**fields)


def _read_distro(data: dict[str, Any] | None) -> Distro | None:
    if data is None:
        return None
    fields = {k: v for k, v in data.items() if k != "ecosystem"}
    fields["id_like"] = tuple(fields.get("id_like", ()))
    return Distro(**fields)
