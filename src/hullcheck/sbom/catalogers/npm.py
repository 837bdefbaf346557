"""Installed npm packages: ``node_modules/**/package.json``."""

from __future__ import annotations

import json
from typing import Any

from hullcheck.model import PackageType
from hullcheck.sbom.catalogers.interface import (
    Cataloger,
    FileResult,
    ParseContext,
    ParseError,
    RawPackage,
)


class NpmCataloger(Cataloger):
    """The ``package.json`` of every installed package under a ``node_modules`` directory,
    and of projects outside one (an application, kept when packages are installed for it)."""

    name = "npm-installed"
    version = "2"
    basenames = frozenset({"package.json"})
    max_bytes = 4 * 1024 * 1024

    def selects(self, path: str) -> bool:
        # node_modules/<name>/package.json or node_modules/@scope/<name>/package.json;
        # package.json files deeper inside a package (lib/, test fixtures) are not packages
        parts = path.split("/")
        if "node_modules" not in parts:
            return len(parts) >= 3  # /srv/app/package.json: a project, perhaps
        if len(parts) < 4:
            return False
        if parts[-3] == "node_modules":
            return True
        return parts[-4] == "node_modules" and parts[-3].startswith("@")

    def parse(self, path: str, data: bytes, ctx: ParseContext) -> FileResult:
        try:
            document = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ParseError(f"not valid JSON ({exc.__class__.__name__})") from None
        if not isinstance(document, dict):
            raise ParseError("not a JSON object")
        name, version = document.get("name"), document.get("version")
        if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
            return FileResult(self.name)
        namespace, _, short = name.rpartition("/")
        package = RawPackage(
            name=name,
            version=version,
            type=PackageType.NPM,
            licenses=_licenses(document),
            namespace=namespace or None,
            metadata={"short_name": short} if namespace else {},
            requires=_requires(document),
            application="/node_modules/" not in path,
        )
        return FileResult(self.name, packages=[package])


def _licenses(document: dict[str, Any]) -> list[str]:
    value = document.get("license")
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return [value["type"]]
    values = document.get("licenses")
    if isinstance(values, list):
        return [v["type"] if isinstance(v, dict) else str(v) for v in values if v]
    return []


def _requires(document: dict[str, Any]) -> list[str]:
    """The names of runtime dependencies (``dependencies``, ``optionalDependencies``)."""
    names: list[str] = []
    for key in ("dependencies", "optionalDependencies"):
        declared = document.get(key)
        if isinstance(declared, dict):
            names.extend(n for n in declared if isinstance(n, str) and n not in names)
    return names
