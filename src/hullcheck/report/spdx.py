"""SPDX 2.3 JSON, written with spdx-tools; read back for rescans."""

from __future__ import annotations

import datetime
import io
import re
import uuid
from typing import Any

from hullcheck.errors import SbomFormatError
from hullcheck.model import Package, Sbom, SourceInfo
from hullcheck.report.purlmap import distro_of, left_out, package_from_fields, release_named

_ID_CHARS = re.compile(r"[^A-Za-z0-9.-]+")
COMMENT_PREFIX = "hullcheck:"


def render_spdx(sbom: Sbom) -> str:
    from spdx_tools.spdx.model import (
        Actor,
        ActorType,
        CreationInfo,
        Document,
        ExternalPackageRef,
        ExternalPackageRefCategory,
        Relationship,
        RelationshipType,
        SpdxNoAssertion,
    )
    from spdx_tools.spdx.model import Package as SpdxPackage
    from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream

    subject = sbom.image.id if sbom.image is not None else sbom.source.reference
    name = f"{sbom.source.kind}:{sbom.source.reference}"
    created = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    info = CreationInfo(
        spdx_version="SPDX-2.3",
        spdx_id="SPDXRef-DOCUMENT",
        name=name,
        document_namespace=f"https://hullcheck.invalid/spdx/{_id(subject)}-{uuid.uuid4()}",
        creators=[Actor(ActorType.TOOL, sbom.tool.replace(" ", "-"))],
        created=created,
    )
    root = SpdxPackage(
        spdx_id="SPDXRef-Subject",
        name=name,
        download_location=SpdxNoAssertion(),
        version=subject,
        files_analyzed=False,
    )
    packages = [root]
    relationships = [Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, root.spdx_id)]
    for index, package in enumerate(sbom.packages):
        spdx_id = f"SPDXRef-Package-{index}-{_id(package.name)}"
        packages.append(
            SpdxPackage(
                spdx_id=spdx_id,
                name=package.name,
                download_location=SpdxNoAssertion(),
                version=package.version,
                files_analyzed=False,
                source_info=f"found by {package.found_by} at {package.location.path}",
                license_comment="; ".join(package.licenses) or None,
                comment=_comment(package),
                external_references=[
                    ExternalPackageRef(
                        ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", package.purl
                    )
                ],
            )
        )
        relationships.append(Relationship(root.spdx_id, RelationshipType.CONTAINS, spdx_id))
    document = Document(creation_info=info, packages=packages, relationships=relationships)
    stream = io.StringIO()
    write_document_to_stream(document, stream, validate=False)
    return stream.getvalue() + "\n"


def _comment(package: Package) -> str:
    fields = {
        "type": package.type.value,
        "path": package.location.path,
        "layer": package.location.layer,
        "introduced-by": package.introduced_by,
        "source-name": package.source_name,
        "source-version": package.source_version,
        "distro": package.distro,
        "arch": package.arch,
    }
    return COMMENT_PREFIX + " ".join(f"{k}={v}" for k, v in fields.items() if v)


def _id(text: str) -> str:
    return _ID_CHARS.sub("-", text)[:60] or "x"


def read_spdx(document: dict[str, Any], what: str) -> Sbom:
    entries = document.get("packages")
    if not isinstance(entries, list):
        raise SbomFormatError(f"{what}: SPDX document without packages")
    entries = [entry for entry in entries if isinstance(entry, dict)]
    system = next(
        (e for e in entries if e.get("primaryPackagePurpose") == "OPERATING-SYSTEM"), None
    )
    distro = distro_of(system.get("name"), system.get("versionInfo")) if system else None
    purls = [_purl(entry) for entry in entries]
    distro = distro or release_named(purls)
    packages, unused = [], []
    for entry, purl in zip(entries, purls, strict=True):
        if entry is system:
            continue
        fields = _comment_fields(entry.get("comment"))
        package = package_from_fields(
            entry.get("name"),
            entry.get("versionInfo"),
            purl,
            fields,
            found_by="spdx",
            distro=distro,
        )
        if package is not None:
            packages.append(package)
        elif entry.get("primaryPackagePurpose") not in _NOT_PACKAGES and purl is not None:
            unused.append(str(entry.get("name")))
    created = (document.get("creationInfo") or {}).get("created")
    warning = left_out(unused, what)
    return Sbom(
        source=SourceInfo("sbom", what),
        packages=tuple(packages),
        distro=distro,
        warnings=(warning,) if warning is not None else (),
        tool="spdx",
        created=created,
    )


_NOT_PACKAGES = ("CONTAINER", "FILE", "SOURCE")
"""Package purposes that are not installed packages (the image, files, sources)."""


def _purl(entry: dict[str, Any]) -> object:
    return next(
        (
            ref.get("referenceLocator")
            for ref in entry.get("externalRefs") or []
            if isinstance(ref, dict) and ref.get("referenceType") == "purl"
        ),
        None,
    )


def _comment_fields(comment: object) -> dict[str, str]:
    if not isinstance(comment, str) or not comment.startswith(COMMENT_PREFIX):
        return {}
    pairs = (item.partition("=") for item in comment[len(COMMENT_PREFIX) :].split())
    return {key: value for key, sep, value in pairs if sep}
