"""CycloneDX 1.6 JSON, written with cyclonedx-python-lib; read back for rescans."""

from __future__ import annotations

from typing import Any

from hullcheck.errors import SbomFormatError
from hullcheck.model import Sbom, SourceInfo
from hullcheck.report.purlmap import package_from_fields

PROPERTY = "hullcheck:"


def render_cyclonedx(sbom: Sbom) -> str:
    from cyclonedx.output.json import JsonV1Dot6

    bom, _ = build_bom(sbom)
    return str(JsonV1Dot6(bom).output_as_string(indent=2)) + "\n"


def build_bom(sbom: Sbom) -> tuple[Any, list[Any]]:
    """The CycloneDX ``Bom`` of an SBOM and its package components, in SBOM order."""
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.license import DisjunctiveLicense
    from cyclonedx.model.tool import Tool
    from packageurl import PackageURL

    bom = Bom()
    bom.metadata.tools.tools.add(
        Tool(vendor="hullcheck", name="hullcheck", version=sbom.tool.rpartition(" ")[2])
    )
    subject = sbom.image.id if sbom.image is not None else sbom.source.reference
    bom.metadata.component = Component(
        name=(
            sbom.image.repo_tags[0]
            if sbom.image and sbom.image.repo_tags
            else sbom.source.reference
        ),
        version=subject,
        type=ComponentType.CONTAINER if sbom.image is not None else ComponentType.FILE,
        bom_ref=f"subject:{subject}",
        properties=[
            Property(name=f"{PROPERTY}source", value=f"{sbom.source.kind}:{sbom.source.reference}")
        ]
        + (
            [Property(name=f"{PROPERTY}distro", value=sbom.distro.ecosystem or sbom.distro.id)]
            if sbom.distro
            else []
        ),
    )
    components = []
    for index, package in enumerate(sbom.packages):
        properties = [
            Property(name=f"{PROPERTY}package:type", value=package.type.value),
            Property(name=f"{PROPERTY}found-by", value=package.found_by),
            Property(name=f"{PROPERTY}location:path", value=package.location.path),
        ]
        optional = (
            ("location:layer", package.location.layer),
            ("introduced-by", package.introduced_by),
            ("source-name", package.source_name),
            ("source-version", package.source_version),
            ("distro", package.distro),
            ("arch", package.arch),
        )
        properties += [Property(name=f"{PROPERTY}{k}", value=v) for k, v in optional if v]
        components.append(
            Component(
                name=package.name,
                version=package.version,
                bom_ref=f"pkg-{index}:{package.purl}",
                purl=PackageURL.from_string(package.purl),
                licenses=[DisjunctiveLicense(name=name) for name in package.licenses],
                properties=properties,
            )
        )
    for component in components:
        bom.components.add(component)
    bom.register_dependency(bom.metadata.component, components)
    return bom, components


def read_cyclonedx(document: dict[str, Any], what: str) -> Sbom:
    components = document.get("components")
    if not isinstance(components, list):
        raise SbomFormatError(f"{what}: CycloneDX document without components")
    packages = []
    for component in components:
        if not isinstance(component, dict):
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
        )
        if package is not None:
            packages.append(package)
    return Sbom(
        source=SourceInfo("sbom", what),
        packages=tuple(packages),
        tool="cyclonedx",
        created=(document.get("metadata") or {}).get("timestamp"),
    )


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
