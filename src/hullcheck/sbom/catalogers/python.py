"""Installed Python distributions: ``*.dist-info/METADATA``, ``*.egg-info/PKG-INFO``."""

from __future__ import annotations

import re

from hullcheck.model import PackageType
from hullcheck.sbom.catalogers.interface import (
    Cataloger,
    FileResult,
    ParseContext,
    ParseError,
    RawPackage,
)


class PythonCataloger(Cataloger):
    """Core metadata of installed distributions (pip, Debian's python3-*, eggs)."""

    name = "python-installed"
    version = "3"
    basenames = frozenset({"METADATA", "PKG-INFO"})
    suffixes = (".egg-info",)
    max_bytes = 8 * 1024 * 1024

    def selects(self, path: str) -> bool:
        parent, _, base = path.rpartition("/")
        if base == "METADATA":
            return parent.endswith(".dist-info")
        if base == "PKG-INFO":
            return parent.endswith(".egg-info")
        return base.endswith(".egg-info")

    def parse(self, path: str, data: bytes, ctx: ParseContext) -> FileResult:
        headers = parse_headers(data.decode("utf-8", errors="replace"))
        name = headers.get("Name")
        version = headers.get("Version")
        if not name or not version:
            raise ParseError("core metadata without Name or Version")
        licenses = []
        expression = headers.get("License-Expression")
        if expression:
            licenses.append(expression)
        elif headers.get("License") and "\n" not in headers["License"]:
            licenses.append(headers["License"])
        else:
            licenses.extend(
                c.split("::")[-1].strip()
                for c in headers.get_all("Classifier")
                if c.startswith("License ::")
            )
        metadata = {k: headers[k] for k in ("Author", "Home-page", "Summary") if headers.get(k)}
        package = RawPackage(
            name=name.strip(),
            version=version.strip(),
            type=PackageType.PYTHON,
            licenses=licenses,
            metadata=metadata,
            requires=_requires(headers.get_all("Requires-Dist")),
        )
        return FileResult(self.name, packages=[package])


_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _requires(declared: list[str]) -> list[str]:
    """The distributions a package names in ``Requires-Dist``, extras' too: an extra's
    requirement that is installed is an edge, as Syft draws it (what is not installed
    gives none)."""
    names: list[str] = []
    for requirement in declared:
        match = _REQUIREMENT.match(requirement)
        if match and match.group(1) not in names:
            names.append(match.group(1))
    return names


class Headers(dict[str, str]):
    """Email-style headers; repeated fields are kept in order."""

    def __init__(self) -> None:
        super().__init__()
        self.repeated: list[tuple[str, str]] = []

    def get_all(self, key: str) -> list[str]:
        return [v for k, v in self.repeated if k == key]


def parse_headers(text: str) -> Headers:
    """The header block of an RFC 822 style document (stops at the first blank line)."""
    headers = Headers()
    key: str | None = None
    for line in text.splitlines():
        if not line.strip():
            break
        if line[0] in " \t" and key is not None:
            headers[key] += "\n" + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip()
        value = value.strip()
        headers.repeated.append((key, value))
        headers.setdefault(key, value)
    return headers
