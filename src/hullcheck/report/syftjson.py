"""Syft's own JSON (``syft -o syft-json``): packages with their locations, the distro, and
the image (its ID, manifest digest, tags)."""

from __future__ import annotations

from typing import Any

from hullcheck.errors import SbomFormatError
from hullcheck.model import ImageInfo, Sbom, SourceInfo
from hullcheck.report.purlmap import distro_of, left_out, package_from_fields


def is_syft_json(document: dict[str, Any]) -> bool:
    schema = document.get("schema")
    url = schema.get("url") if isinstance(schema, dict) else None
    return isinstance(document.get("artifacts"), list) and "syft" in str(url or "")


def read_syft_json(document: dict[str, Any], what: str) -> Sbom:
    artifacts = document.get("artifacts")
    if not isinstance(artifacts, list):
        raise SbomFormatError(f"{what}: Syft JSON without artifacts")
    release = document.get("distro") or {}
    distro = distro_of(release.get("id"), release.get("versionID")) if release else None
    packages, unused = [], []
    for artifact in artifacts:
        if not isinstance(artifact, dict):
            continue
        location = _primary_location(artifact.get("locations"))
        fields = {"path": location.get("path") or "", "found-by": artifact.get("foundBy")}
        if location.get("layerID"):
            fields["layer"] = location["layerID"]
        names, expression = _licenses(artifact.get("licenses"))
        package = package_from_fields(
            artifact.get("name"),
            artifact.get("version"),
            artifact.get("purl"),
            {k: str(v) for k, v in fields.items() if v},
            found_by="syft",
            licenses=names,
            license_expression=expression,
            distro=distro,
        )
        if package is not None:
            packages.append(package)
        else:
            unused.append(str(artifact.get("name")))
    descriptor = document.get("descriptor") or {}
    warning = left_out(unused, what)
    return Sbom(
        source=SourceInfo("sbom", what),
        packages=tuple(packages),
        image=_image(document.get("source")),
        distro=distro,
        warnings=(warning,) if warning is not None else (),
        tool=f"{descriptor.get('name', 'syft')} {descriptor.get('version', '')}".strip(),
    )


def _primary_location(locations: object) -> dict[str, Any]:
    """The file that records the package (Syft marks it ``evidence: primary``)."""
    entries = [entry for entry in locations or () if isinstance(entry, dict)]  # type: ignore[attr-defined]
    for entry in entries:
        if (entry.get("annotations") or {}).get("evidence") == "primary":
            return entry
    return entries[0] if entries else {}


def _licenses(licenses: object) -> tuple[tuple[str, ...], str | None]:
    names, expressions = [], []
    for entry in licenses or ():  # type: ignore[attr-defined]
        if not isinstance(entry, dict):
            continue
        value, expression = entry.get("value"), entry.get("spdxExpression")
        if isinstance(value, str) and value:
            names.append(value)
        if isinstance(expression, str) and expression:
            expressions.append(expression)
    if not expressions or len(expressions) != len(names):
        return tuple(names), None
    unique = list(dict.fromkeys(expressions))
    joined = " AND ".join(f"({e})" if " " in e else e for e in unique)
    return tuple(names), unique[0] if len(unique) == 1 else joined


def _image(source: object) -> ImageInfo | None:
    if not isinstance(source, dict) or source.get("type") != "image":
        return None
    metadata = source.get("metadata") or {}
    image_id = metadata.get("imageID")
    if not isinstance(image_id, str) or not image_id.startswith("sha256:"):
        return None
    tags = tuple(t for t in metadata.get("tags") or () if isinstance(t, str))
    digests = tuple(d for d in metadata.get("repoDigests") or () if isinstance(d, str))
    return ImageInfo(id=image_id, layers=(), repo_tags=tags, repo_digests=digests)
