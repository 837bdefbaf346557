"""CycloneDX 1.6 JSON: written here, read back for rescans.

Written directly as JSON rather than through cyclonedx-python-lib's object model, whose
output step registers every component's dependency by a linear search of the ones already
registered: quadratic, 137 s for 10,000 packages (bench/scale.py). The tests hold the output
to the official 1.6 schema with that library's strict validator.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from typing import Any

import orjson

from hullcheck.errors import SbomFormatError
from hullcheck.model import Sbom, SourceInfo
from hullcheck.report.purlmap import distro_of, left_out, package_from_fields

PROPERTY = "hullcheck:"
SCHEMA = "http://cyclonedx.org/schema/bom-1.6.schema.json"


def render_cyclonedx(sbom: Sbom) -> str:
    bom, _ = build_bom(sbom)
    return dump(bom)


def dump(bom: dict[str, Any]) -> str:
    return orjson.dumps(bom, option=orjson.OPT_INDENT_2).decode() + "\n"


def build_bom(sbom: Sbom) -> tuple[dict[str, Any], list[str]]:
    """The CycloneDX document of an SBOM and its package components' ``bom-ref``, in SBOM
    order."""
    subject = sbom.image.id if sbom.image is not None else sbom.source.reference
    subject_ref = f"subject:{subject}"
    facts: list[tuple[str, str | None]] = [
        ("source", f"{sbom.source.kind}:{sbom.source.reference}")
    ]
    if sbom.distro:
        facts.append(("distro", sbom.distro.ecosystem or sbom.distro.id))
    metadata = {
        "timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "tools": [
            {"vendor": "hullcheck", "name": "hullcheck", "version": sbom.tool.rpartition(" ")[2]}
        ],
        "component": {
            "type": "container" if sbom.image is not None else "file",
            "bom-ref": subject_ref,
            "name": (
                sbom.image.repo_tags[0]
                if sbom.image and sbom.image.repo_tags
                else sbom.source.reference
            ),
            "version": subject,
            "properties": _properties(facts),
        },
    }
    components, refs = [], []
    for index, package in enumerate(sbom.packages):
        ref = f"pkg-{index}:{package.purl}"
        refs.append(ref)
        facts = [
            ("package:type", package.type.value),
            ("found-by", package.found_by),
            ("location:path", package.location.path),
            ("location:layer", package.location.layer),
            ("introduced-by", package.introduced_by),
            ("source-name", package.source_name),
            ("source-version", package.source_version),
            ("distro", package.distro),
            ("arch", package.arch),
        ]
        component: dict[str, Any] = {
            "type": "library",
            "bom-ref": ref,
            "name": package.name,
            "version": package.version,
        }
        if package.licenses:
            component["licenses"] = [{"license": {"name": name}} for name in package.licenses]
        if package.purl:
            component["purl"] = package.purl
        component["properties"] = _properties(facts)
        components.append(component)
    dependencies = [{"ref": subject_ref, "dependsOn": refs}] if refs else []
    dependencies += [{"ref": ref} for ref in refs]
    bom = {
        "$schema": SCHEMA,
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": metadata,
        "components": components,
        "dependencies": dependencies,
    }
    return bom, refs


def _properties(facts: list[tuple[str, str | None]]) -> list[dict[str, str]]:
    return [{"name": f"{PROPERTY}{name}", "value": value} for name, value in facts if value]


def read_cyclonedx(document: dict[str, Any], what: str) -> Sbom:
    components = document.get("components")
    if not isinstance(components, list):
        raise SbomFormatError(f"{what}: CycloneDX document without components")
    every = list(_flattened(components))
    system = next((c for c in every if c.get("type") == "operating-system"), None)
    distro = distro_of(system.get("name"), system.get("version")) if system else None
    packages, unused = [], []
    for component in every:
        if component is system or component.get("type") in _NOT_PACKAGES:
            continue
        fields = {
            str(p["name"])[len(PROPERTY) :].removeprefix("location:"): str(p.get("value"))
            for p in component.get("properties") or []
            if isinstance(p, dict) and str(p.get("name", "")).startswith(PROPERTY)
        }
        package = package_from_fields(
            component.get("name"),
            component.get("version"),
            component.get("purl"),
            fields,
            found_by="cyclonedx",
            licenses=tuple(_licenses(component)),
            distro=distro,
        )
        if package is not None:
            packages.append(package)
        else:
            unused.append(str(component.get("name")))
    warning = left_out(unused, what)
    return Sbom(
        source=SourceInfo("sbom", what),
        packages=tuple(packages),
        distro=distro,
        warnings=(warning,) if warning is not None else (),
        tool="cyclonedx",
        created=(document.get("metadata") or {}).get("timestamp"),
    )


_NOT_PACKAGES = ("file", "container", "data")
"""Component types that are not installed packages: the image itself, files, data."""


def _flattened(components: list[Any]) -> Iterator[dict[str, Any]]:
    """Every component, nested ones too (a package inside a Java archive)."""
    for component in components:
        if isinstance(component, dict):
            yield component
            nested = component.get("components")
            if isinstance(nested, list):
                yield from _flattened(nested)


def _licenses(component: dict[str, Any]) -> list[str]:
    names = []
    for entry in component.get("licenses") or []:
        if not isinstance(entry, dict):
            continue
        lic = entry.get("license") or {}
        name = lic.get("id") or lic.get("name") or entry.get("expression")
        if name:
            names.append(str(name))
    return names
