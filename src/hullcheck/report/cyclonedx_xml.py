"""CycloneDX XML (1.2–1.6), read into the shape of the JSON form so one reader serves both.

Parsed with defusedxml: a document type declaration, entities or external references are
refused, so an SBOM cannot expand to gigabytes or make hullcheck read a local file.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from hullcheck.errors import SbomFormatError

_NAMESPACE = "http://cyclonedx.org/schema/bom/"


def document_from_xml(data: bytes, what: str) -> dict[str, Any]:
    """The JSON-shaped CycloneDX document of an XML one: what the reader uses of it
    (metadata, nested components, licences, purls, properties)."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        root = fromstring(data)
    except DefusedXmlException as exc:
        raise SbomFormatError(f"{what}: XML refused ({type(exc).__name__})") from None
    except ParseError as exc:
        raise SbomFormatError(f"{what}: not valid XML ({exc})") from None
    if not root.tag.startswith("{" + _NAMESPACE) or _local(root) != "bom":
        raise SbomFormatError(f"{what}: an XML document, but not a CycloneDX bom")
    return _Reader(root.tag[1 : root.tag.index("}")]).document(root)


class _Reader:
    """Reads elements of one CycloneDX XML namespace (``…/bom/1.6``)."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def document(self, root: Element) -> dict[str, Any]:
        document: dict[str, Any] = {
            "bomFormat": "CycloneDX",
            "specVersion": self.namespace.rsplit("/", 1)[-1],
            "serialNumber": root.get("serialNumber"),
            "components": [self.component(c) for c in self.all(root, "components/component")],
        }
        metadata = self.one(root, "metadata")
        if metadata is not None:
            tools = self.all(metadata, "tools/tool") + self.all(
                metadata, "tools/components/component"
            )
            subject = self.one(metadata, "component")
            document["metadata"] = {
                "timestamp": self.text(metadata, "timestamp"),
                "tools": [
                    {"name": self.text(t, "name"), "version": self.text(t, "version")}
                    for t in tools
                ],
                "component": self.component(subject) if subject is not None else {},
            }
        return document

    def one(self, element: Element, name: str) -> Element | None:
        return element.find(f"{{{self.namespace}}}{name}")

    def all(self, element: Element, path: str) -> list[Element]:
        steps = "/".join(f"{{{self.namespace}}}{step}" for step in path.split("/"))
        return element.findall(steps)

    def text(self, element: Element, name: str) -> str | None:
        found = self.one(element, name)
        return found.text.strip() if found is not None and found.text else None

    def component(self, element: Element) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "type": element.get("type"),
            "bom-ref": element.get("bom-ref"),
            "name": self.text(element, "name"),
            "version": self.text(element, "version"),
            "purl": self.text(element, "purl"),
        }
        licenses = self.licenses(element)
        if licenses:
            entry["licenses"] = licenses
        entry["properties"] = [
            {"name": p.get("name"), "value": (p.text or "").strip()}
            for p in self.all(element, "properties/property")
        ]
        nested = self.all(element, "components/component")
        if nested:
            entry["components"] = [self.component(c) for c in nested]
        return entry

    def licenses(self, element: Element) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for holder in self.all(element, "licenses"):
            for item in holder:
                if _local(item) == "expression" and item.text:
                    found.append({"expression": item.text.strip()})
                elif _local(item) == "license":
                    key = "id" if self.text(item, "id") else "name"
                    value = self.text(item, key)
                    if value:
                        found.append({"license": {key: value}})
        return found


def _local(element: Element) -> str:
    return element.tag.rsplit("}", 1)[-1]
