"""CycloneDX 1.6 JSON: written here, read back for rescans.

Written directly as JSON rather than through cyclonedx-python-lib's object model, whose
output step registers every component's dependency by a linear search of the ones already
registered: quadratic, 137 s for 10,000 packages (bench/scale.py). The tests hold the output
to the official 1.6 schema with that library's strict validator.
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
from packageurl import PackageURL

from hullcheck import __version__
from hullcheck.errors import SbomFormatError
from hullcheck.model import ImageInfo, Package, Sbom, SourceInfo
from hullcheck.report.purlmap import (
    ANNOTATIONS,
    annotation_values,
    distro_of,
    image_named,
    left_out,
    package_from_fields,
)

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
    if sbom.serial:
        facts.append(("read-from", sbom.serial))
    component: dict[str, Any] = {
        "type": "container" if sbom.image is not None else "file",
        "bom-ref": subject_ref,
        "name": (
            sbom.image.repo_tags[0]
            if sbom.image and sbom.image.repo_tags
            else sbom.source.reference
        ),
        "version": subject,
    }
    purl = image_purl(sbom)
    if purl is not None:
        component["purl"] = purl
    component["properties"] = _properties(facts)
    metadata = {
        "timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "tools": {"components": _tools(sbom)},
        "component": component,
    }
    components, refs = [], []
    system = _operating_system(sbom)
    if system is not None:
        components.append(system)
    for index, package in enumerate(sbom.packages):
        ref = f"pkg-{index}:{package.purl}"
        refs.append(ref)
        components.append(_component(package, ref))
    top = ([system["bom-ref"]] if system is not None else []) + refs
    needs: list[list[str]] = [[] for _ in refs]
    for dependent, dependency in sbom.dependencies:
        needs[dependent].append(refs[dependency])
    dependencies = [{"ref": subject_ref, "dependsOn": top}] if top else []
    if system is not None:
        dependencies.append({"ref": system["bom-ref"]})
    dependencies += [
        {"ref": ref, "dependsOn": needed} if needed else {"ref": ref}
        for ref, needed in zip(refs, needs, strict=True)
    ]
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


_FACTS = tuple(
    f"{PROPERTY}location:{name}" if name in ("path", "layer") else f"{PROPERTY}{name}"
    for name in ANNOTATIONS
)
"""The property names of hullcheck's annotations (the type and architecture are the purl's)."""


def _component(package: Package, ref: str) -> dict[str, Any]:
    values = annotation_values(package)
    component: dict[str, Any] = {
        "type": "application" if package.application else "library",
        "bom-ref": ref,
        "name": package.name,
        "version": package.version,
    }
    if package.licenses or package.license_expression:
        component["licenses"] = license_entries(package)
    if package.location.digest:
        component["hashes"] = [{"alg": "SHA-256", "content": package.location.digest[7:]}]
    if package.purl:
        component["purl"] = package.purl
    component["properties"] = [
        {"name": name, "value": value} for name, value in zip(_FACTS, values, strict=True) if value
    ]
    return component


def license_entries(package: Package) -> list[dict[str, Any]]:
    """CycloneDX ``licenses``: the SPDX id, or the expression, when the declared licences
    are valid SPDX; their names otherwise (the schema allows one form or the other)."""
    expression = package.license_expression
    if expression:
        if " " not in expression:
            return [{"license": {"id": expression}}]
        return [{"expression": expression}]
    return [{"license": {"name": name}} for name in package.licenses]


def _tools(sbom: Sbom) -> list[dict[str, Any]]:
    """hullcheck, and the tool that wrote the SBOM file this one was read from."""
    tools = [{"type": "application", "name": "hullcheck", "version": __version__}]
    if sbom.source.kind == "sbom" and sbom.tool and not sbom.tool.startswith("hullcheck"):
        name, _, version = sbom.tool.partition(" ")
        tools.append({"type": "application", "name": name, "version": version or "unknown"})
    return tools


def _operating_system(sbom: Sbom) -> dict[str, Any] | None:
    """The distro as the ``operating-system`` component Trivy and Syft read the release
    from."""
    distro = sbom.distro
    if distro is None:
        return None
    system: dict[str, Any] = {
        "type": "operating-system",
        "bom-ref": f"os:{distro.id}@{distro.version_id or 'unknown'}",
        "name": distro.id,
    }
    if distro.version_id:
        system["version"] = distro.version_id
    if distro.pretty_name:
        system["description"] = distro.pretty_name
    return system


def image_purl(sbom: Sbom) -> str | None:
    """``pkg:oci/NAME@DIGEST?repository_url=…&tag=…`` of an image: its repo digest when it
    has one (what a registry serves), else its image ID."""
    image = sbom.image
    if image is None or not image.id.startswith("sha256:"):
        return None
    reference = image.repo_digests[0] if image.repo_digests else None
    repository, digest = reference.split("@", 1) if reference else (None, image.id)
    tag = None
    if image.repo_tags:
        named, _, tag = image.repo_tags[0].rpartition(":")
        repository = repository or named
    name = (repository or sbom.source.reference).rsplit("/", 1)[-1].lower()
    qualifiers = {"repository_url": repository} if repository else {}
    if tag:
        qualifiers["tag"] = tag
    if image.architecture:
        qualifiers["arch"] = image.architecture
    try:
        return str(PackageURL(type="oci", name=name, version=digest, qualifiers=qualifiers))
    except ValueError:
        return None


def _properties(facts: list[tuple[str, str | None]]) -> list[dict[str, str]]:
    return [{"name": f"{PROPERTY}{name}", "value": value} for name, value in facts if value]


def read_cyclonedx(document: dict[str, Any], what: str) -> Sbom:
    components = document.get("components")
    if not isinstance(components, list):
        raise SbomFormatError(f"{what}: CycloneDX document without components")
    every = list(_flattened(components))
    system = next((c for c in every if c.get("type") == "operating-system"), None)
    distro = distro_of(system.get("name"), system.get("version")) if system else None
    packages: list[Package] = []
    unused: list[str] = []
    refs: dict[str, int] = {}
    for component in every:
        if component is system or component.get("type") in _NOT_PACKAGES:
            continue
        properties = _named_properties(component)
        fields = {
            name[len(PROPERTY) :].removeprefix("location:"): value
            for name, value in properties.items()
            if name.startswith(PROPERTY)
        } or _trivy_fields(properties)
        names, expression = _licenses(component)
        package = package_from_fields(
            component.get("name"),
            component.get("version"),
            component.get("purl"),
            fields,
            found_by="cyclonedx",
            licenses=names,
            license_expression=expression,
            distro=distro,
        )
        if package is not None:
            if component.get("type") == "application":
                package = dataclasses.replace(package, application=True)
            refs[str(component.get("bom-ref"))] = len(packages)
            packages.append(package)
        else:
            unused.append(str(component.get("name")))
    warning = left_out(unused, what)
    metadata = document.get("metadata") or {}
    subject = metadata.get("component") or {}
    return Sbom(
        source=SourceInfo("sbom", what),
        packages=tuple(packages),
        image=image_named(subject.get("version"), subject.get("purl"))
        or _trivy_image(_named_properties(subject)),
        distro=distro,
        warnings=(warning,) if warning is not None else (),
        tool=_tool(metadata.get("tools")) or "unknown CycloneDX tool",
        created=metadata.get("timestamp"),
        serial=str(document["serialNumber"]) if document.get("serialNumber") else None,
        dependencies=_edges(document.get("dependencies"), refs),
    )


def _edges(dependencies: object, refs: dict[str, int]) -> tuple[tuple[int, int], ...]:
    """The document's dependency graph between the packages read (by ``bom-ref``)."""
    edges = set()
    for entry in dependencies if isinstance(dependencies, list) else ():
        if not isinstance(entry, dict) or str(entry.get("ref")) not in refs:
            continue
        dependent = refs[str(entry.get("ref"))]
        for needed in entry.get("dependsOn") or ():
            if str(needed) in refs and refs[str(needed)] != dependent:
                edges.add((dependent, refs[str(needed)]))
    return tuple(sorted(edges))


def _named_properties(component: dict[str, Any]) -> dict[str, str]:
    return {
        str(p["name"]): str(p.get("value"))
        for p in component.get("properties") or []
        if isinstance(p, dict) and isinstance(p.get("name"), str)
    }


_TRIVY = "aquasecurity:trivy:"


def _trivy_fields(properties: dict[str, str]) -> dict[str, str]:
    """What Trivy's CycloneDX says in its own properties: the source package (Debian and
    Ubuntu advisories name it; Trivy writes no ``upstream=``) and the layer."""
    fields = {}
    source = properties.get(f"{_TRIVY}SrcName")
    if source:
        fields["source-name"] = source
        version = properties.get(f"{_TRIVY}SrcVersion")
        if version:
            release = properties.get(f"{_TRIVY}SrcRelease")
            epoch = properties.get(f"{_TRIVY}SrcEpoch")
            version = f"{version}-{release}" if release else version
            fields["source-version"] = f"{epoch}:{version}" if epoch and epoch != "0" else version
    layer = properties.get(f"{_TRIVY}LayerDiffID")
    if layer:
        fields["layer"] = layer
    return fields


def _trivy_image(properties: dict[str, str]) -> ImageInfo | None:
    image_id = properties.get(f"{_TRIVY}ImageID", "")
    if not image_id.startswith("sha256:"):
        return None
    tags = tuple(v for k, v in properties.items() if k == f"{_TRIVY}RepoTag")
    return ImageInfo(id=image_id, layers=(), repo_tags=tags)


def _tool(tools: object) -> str | None:
    """``NAME VERSION`` of the first tool a document names, in the 1.4 list form or the
    1.5+ ``components`` form."""
    if isinstance(tools, dict):
        tools = tools.get("components")
    if not isinstance(tools, list) or not tools or not isinstance(tools[0], dict):
        return None
    first = tools[0]
    name = first.get("name")
    return f"{name} {first.get('version') or ''}".strip() if isinstance(name, str) else None


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


def _licenses(component: dict[str, Any]) -> tuple[tuple[str, ...], str | None]:
    """The licence words and, when the entries are SPDX (ids or one expression), the
    expression."""
    names, ids, expression = [], [], None
    for entry in component.get("licenses") or []:
        if not isinstance(entry, dict):
            continue
        lic = entry.get("license") or {}
        if isinstance(entry.get("expression"), str):
            expression = entry["expression"]
            names.append(expression)
        elif isinstance(lic, dict) and isinstance(lic.get("id"), str):
            ids.append(lic["id"])
            names.append(lic["id"])
        elif isinstance(lic, dict) and isinstance(lic.get("name"), str):
            names.append(lic["name"])
    if expression is None and ids and len(ids) == len(names):
        expression = " AND ".join(ids)
    return tuple(names), expression
