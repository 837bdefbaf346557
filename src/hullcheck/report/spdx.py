"""SPDX 2.3 JSON: written here, read back for rescans (ours and other tools')."""

from __future__ import annotations

import dataclasses
import datetime
import re
import uuid
from collections.abc import Iterator
from typing import Any

import orjson

from hullcheck import __version__
from hullcheck.errors import SbomFormatError
from hullcheck.model import Distro, ImageInfo, Package, Sbom, SourceInfo
from hullcheck.report.cyclonedx import image_purl
from hullcheck.report.purlmap import (
    ANNOTATIONS,
    annotation_values,
    distro_of,
    image_named,
    left_out,
    package_from_fields,
    release_named,
)
from hullcheck.sbom.licenses import license_ref

_ID_CHARS = re.compile(r"[^A-Za-z0-9.-]+")
COMMENT_PREFIX = "hullcheck:"


def render_spdx(sbom: Sbom) -> str:
    """SPDX 2.3 JSON, written directly (spdx-tools' writer validates and converts through
    its object model: most of the time of an SBOM command); the tests hold it to spdx-tools'
    full validation."""
    subject = sbom.image.id if sbom.image is not None else sbom.source.reference
    name = f"{sbom.source.kind}:{sbom.source.reference}"
    created = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    creators = [f"Tool: hullcheck-{__version__}"]
    if sbom.source.kind == "sbom" and sbom.tool and not sbom.tool.startswith("hullcheck"):
        creators.append(f"Tool: {sbom.tool.replace(' ', '-')}")  # the tool of the file read
    root: dict[str, Any] = {
        "SPDXID": "SPDXRef-Subject",
        "name": name,
        "versionInfo": subject,
        "downloadLocation": NOASSERTION,
        "filesAnalyzed": False,
        "primaryPackagePurpose": "CONTAINER" if sbom.image is not None else "FILE",
    }
    purl = image_purl(sbom)
    if purl is not None:
        root["externalRefs"] = [_purl_ref(purl)]
    if sbom.serial:
        root["comment"] = f"read from {sbom.serial}"
    packages = [root]
    relationships = [_relation("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Subject")]
    if sbom.distro is not None:
        packages.append(_operating_system(sbom.distro))
        relationships.append(_relation("SPDXRef-Subject", "CONTAINS", "SPDXRef-OperatingSystem"))
    extracted: dict[str, str] = {}
    ids = []
    for index, package in enumerate(sbom.packages):
        spdx_id = f"SPDXRef-Package-{index}-{_id(package.name)}"
        ids.append(spdx_id)
        packages.append(_package(package, spdx_id, extracted))
    relationships += [  # dictionaries written out: thousands of them in a large image
        {
            "spdxElementId": "SPDXRef-Subject",
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": i,
        }
        for i in ids
    ]
    relationships += [
        {
            "spdxElementId": ids[dependent],
            "relationshipType": "DEPENDS_ON",
            "relatedSpdxElement": ids[dependency],
        }
        for dependent, dependency in sbom.dependencies
    ]
    document: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": f"https://hullcheck.invalid/spdx/{_id(subject)}-{uuid.uuid4()}",
        "creationInfo": {"created": created, "creators": creators},
        "packages": packages,
        "relationships": relationships,
    }
    if extracted:
        document["hasExtractedLicensingInfos"] = [
            {"licenseId": ref, "name": text, "extractedText": text}
            for ref, text in extracted.items()
        ]
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"


NOASSERTION = "NOASSERTION"


def _package(package: Package, spdx_id: str, extracted: dict[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "SPDXID": spdx_id,
        "name": package.name,
        "versionInfo": package.version,
        "downloadLocation": NOASSERTION,
        "filesAnalyzed": False,
        "licenseConcluded": NOASSERTION,
        "licenseDeclared": _declared(package, extracted),
        "copyrightText": NOASSERTION,
        "sourceInfo": f"found by {package.found_by} at {package.location.path or '-'}",
        "comment": _comment(package),
        "primaryPackagePurpose": "APPLICATION" if package.application else "LIBRARY",
    }
    if package.licenses and not package.license_expression:
        entry["licenseComments"] = "; ".join(package.licenses)
    if package.purl:
        entry["externalRefs"] = [_purl_ref(package.purl)]
    if package.location.digest:
        entry["checksums"] = [{"algorithm": "SHA256", "checksumValue": package.location.digest[7:]}]
    return entry


def _declared(package: Package, extracted: dict[str, str]) -> str:
    """The SPDX expression, or the declared words as ``LicenseRef-`` entries the document
    defines (``hasExtractedLicensingInfos``), or NOASSERTION."""
    refs = []
    for text in package.licenses:
        ref = license_ref(text)
        if package.license_expression is None or ref in package.license_expression:
            extracted.setdefault(ref, text)
            refs.append(ref)
    if package.license_expression:
        return package.license_expression
    return " AND ".join(dict.fromkeys(refs)) or NOASSERTION


def _operating_system(distro: Distro) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "SPDXID": "SPDXRef-OperatingSystem",
        "name": distro.id,
        "versionInfo": distro.version_id or "",
        "downloadLocation": NOASSERTION,
        "filesAnalyzed": False,
        "primaryPackagePurpose": "OPERATING-SYSTEM",
    }
    if distro.pretty_name:
        entry["description"] = distro.pretty_name
    if not distro.version_id:
        entry.pop("versionInfo")
    return entry


def _purl_ref(purl: str) -> dict[str, str]:
    # the category as the released SPDX 2.3 schema spells it (PACKAGE_MANAGER fails it)
    return {
        "referenceCategory": "PACKAGE-MANAGER",
        "referenceType": "purl",
        "referenceLocator": purl,
    }


def _relation(element: str, kind: str, related: str) -> dict[str, str]:
    return {"spdxElementId": element, "relationshipType": kind, "relatedSpdxElement": related}


def _comment(package: Package) -> str:
    """hullcheck's annotations of a package, ``key=value`` (``found-by`` is the source info)."""
    values = annotation_values(package)[1:]
    pairs = [f"{key}={value}" for key, value in zip(ANNOTATIONS[1:], values, strict=True) if value]
    return COMMENT_PREFIX + " ".join(pairs)


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
    extracted = {
        str(info.get("licenseId")): str(info.get("name") or info.get("extractedText"))
        for info in document.get("hasExtractedLicensingInfos") or []
        if isinstance(info, dict)
    }
    distro = distro or release_named(purls)
    packages: list[Package] = []
    unused: list[str] = []
    ids: dict[str, int] = {}
    for entry, purl in zip(entries, purls, strict=True):
        if entry is system:
            continue
        fields = _comment_fields(entry.get("comment"))
        declared = entry.get("licenseDeclared")
        expression = declared if _is_spdx(declared) else None
        package = package_from_fields(
            entry.get("name"),
            entry.get("versionInfo"),
            purl,
            fields,
            found_by="spdx",
            licenses=_license_words(entry, expression, extracted),
            license_expression=expression,
            distro=distro,
        )
        if package is not None:
            if entry.get("primaryPackagePurpose") == "APPLICATION":
                package = dataclasses.replace(package, application=True)
            ids[str(entry.get("SPDXID"))] = len(packages)
            packages.append(package)
        elif entry.get("primaryPackagePurpose") not in _NOT_PACKAGES and purl is not None:
            unused.append(str(entry.get("name")))
    info = document.get("creationInfo") or {}
    warning = left_out(unused, what)
    container = next(
        (
            e
            for e in entries
            if e.get("primaryPackagePurpose") == "CONTAINER"
            or str(e.get("SPDXID", "")).startswith("SPDXRef-ContainerImage-")  # Trivy, SPDX 2.2
        ),
        None,
    )
    namespace = document.get("documentNamespace")
    return Sbom(
        source=SourceInfo("sbom", what),
        packages=tuple(packages),
        image=_image(container) if container is not None else None,
        distro=distro,
        warnings=(warning,) if warning is not None else (),
        tool=_creator(info.get("creators")) or "unknown SPDX tool",
        created=info.get("created"),
        serial=namespace if isinstance(namespace, str) else None,
        dependencies=_depends_on(document.get("relationships"), ids),
    )


def _depends_on(relationships: object, ids: dict[str, int]) -> tuple[tuple[int, int], ...]:
    """``DEPENDS_ON`` (and the inverse ``DEPENDENCY_OF``) between the packages read."""
    edges = set()
    for entry in relationships if isinstance(relationships, list) else ():
        if not isinstance(entry, dict):
            continue
        left, right = str(entry.get("spdxElementId")), str(entry.get("relatedSpdxElement"))
        kind = entry.get("relationshipType")
        if kind == "DEPENDENCY_OF":
            left, right = right, left
        elif kind != "DEPENDS_ON":
            continue
        if left in ids and right in ids and ids[left] != ids[right]:
            edges.add((ids[left], ids[right]))
    return tuple(sorted(edges))


def _image(container: dict[str, Any]) -> ImageInfo | None:
    """The image digest the container package names: its version or ``pkg:oci`` purl, or
    Trivy's ``ImageID:`` attribution text."""
    named = image_named(container.get("versionInfo"), _purl(container))
    if named is not None:
        return named
    for text in container.get("attributionTexts") or ():
        if isinstance(text, str) and text.startswith("ImageID: sha256:"):
            return ImageInfo(id=text.split(": ", 1)[1].strip(), layers=())
    return None


def _creator(creators: object) -> str | None:
    """``NAME VERSION`` of the first ``Tool:`` creator (``Tool: syft-1.18.1``)."""
    for creator in creators if isinstance(creators, list) else ():
        if isinstance(creator, str) and creator.startswith("Tool:"):
            name, _, version = creator[5:].strip().rpartition("-")
            return f"{name} {version}" if name and version else creator[5:].strip()
    return None


_SPDX_WORD = re.compile(r"^[A-Za-z0-9.+:()-]+$")


def _is_spdx(declared: object) -> bool:
    """A licence expression of SPDX ids only (no NOASSERTION/NONE, no LicenseRef-)."""
    if not isinstance(declared, str) or declared in (NOASSERTION, "NONE"):
        return False
    words = [w for w in declared.replace("(", " ").replace(")", " ").split() if w]
    return all(
        w in ("AND", "OR", "WITH") or (_SPDX_WORD.match(w) and "LicenseRef-" not in w)
        for w in words
    )


def _license_words(
    entry: dict[str, Any], expression: str | None, extracted: dict[str, str]
) -> tuple[str, ...]:
    if expression:
        return (expression,)
    declared = entry.get("licenseDeclared")
    if isinstance(declared, str) and declared.startswith("LicenseRef-"):
        refs = [
            w
            for w in declared.replace("(", " ").replace(")", " ").split()
            if w.startswith("LicenseRef-")
        ]
        return tuple(extracted.get(ref, ref) for ref in refs)
    comments = entry.get("licenseComments")
    return tuple(c.strip() for c in comments.split(";")) if isinstance(comments, str) else ()


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


def document_from_tag_value(text: str, what: str) -> dict[str, Any]:
    """The JSON form of an SPDX 2.2/2.3 tag-value document, as far as the reader uses it.

    Read here rather than with spdx-tools' parser, which refuses a whole document for one
    missing mandatory field: Trivy's tag-value has packages without a
    ``PackageDownloadLocation``. What matching needs is read; the rest is skipped."""
    document: dict[str, Any] = {"packages": [], "creationInfo": {"creators": []}}
    package: dict[str, Any] | None = None
    for tag, value in _tag_values(text):
        if tag == "PackageName":
            package = {"name": value}
            document["packages"].append(package)
        elif tag in _DOCUMENT_TAGS:
            document[_DOCUMENT_TAGS[tag]] = value
        elif tag == "Creator":
            document["creationInfo"]["creators"].append(value)
        elif tag == "Created":
            document["creationInfo"]["created"] = value
        elif package is not None and tag in _PACKAGE_TAGS:
            package[_PACKAGE_TAGS[tag]] = value
        elif package is not None and tag == "PackageAttributionText":
            package.setdefault("attributionTexts", []).append(value)
        elif package is not None and tag == "ExternalRef":
            category, _, rest = value.partition(" ")
            kind, _, locator = rest.partition(" ")
            package.setdefault("externalRefs", []).append(
                {"referenceCategory": category, "referenceType": kind, "referenceLocator": locator}
            )
    if not str(document.get("spdxVersion", "")).startswith("SPDX-2"):
        raise SbomFormatError(f"{what}: not an SPDX 2 tag-value document (no SPDXVersion)")
    return document


_DOCUMENT_TAGS = {
    "SPDXVersion": "spdxVersion",
    "DocumentName": "name",
    "DocumentNamespace": "documentNamespace",
}
_PACKAGE_TAGS = {
    "SPDXID": "SPDXID",
    "PackageVersion": "versionInfo",
    "PackageLicenseDeclared": "licenseDeclared",
    "PackageLicenseComments": "licenseComments",
    "PrimaryPackagePurpose": "primaryPackagePurpose",
    "PackageComment": "comment",
}
_TEXT_START, _TEXT_END = "<text>", "</text>"


def _tag_values(text: str) -> Iterator[tuple[str, str]]:
    """``Tag: value`` pairs; a ``<text>…</text>`` value may span lines."""
    lines = iter(text.splitlines())
    for line in lines:
        if not line or line.startswith("#") or ":" not in line:
            continue
        tag, _, value = line.partition(":")
        value = value.strip()
        if value.startswith(_TEXT_START):
            parts = [value[len(_TEXT_START) :]]
            while _TEXT_END not in parts[-1]:
                following = next(lines, None)
                if following is None:
                    break
                parts.append(following)
            value = "\n".join(parts).split(_TEXT_END, 1)[0]
        yield tag.strip(), value
