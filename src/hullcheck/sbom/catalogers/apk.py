"""Alpine packages: ``/lib/apk/db/installed``."""

from __future__ import annotations

from hullcheck.model import PackageType
from hullcheck.sbom.catalogers.interface import (
    Cataloger,
    FileResult,
    ParseContext,
    ParseError,
    RawPackage,
)


class ApkCataloger(Cataloger):
    """Reads apk's installed database; its ``F:``/``R:`` lines tell which files it owns."""

    name = "apk-db"
    version = "1"
    exact_paths = frozenset({"/lib/apk/db/installed"})
    owns_files = True

    def parse(self, path: str, data: bytes, ctx: ParseContext) -> FileResult:
        result = FileResult(self.name)
        text = data.decode("utf-8", errors="replace")
        for block in text.split("\n\n"):
            fields: dict[str, str] = {}
            directory = ""
            for line in block.splitlines():
                key, sep, value = line.partition(":")
                if not sep or len(key) != 1:
                    continue
                if key == "F":
                    directory = value
                elif key == "R":
                    owned = f"/{directory}/{value}" if directory else f"/{value}"
                    if ctx.interesting(owned):
                        result.owned.append(owned)
                else:
                    fields.setdefault(key, value)
            package = _package(fields)
            if package is not None:
                result.packages.append(package)
        if not result.packages and text.strip():
            raise ParseError("no package record could be read")
        return result


def _package(fields: dict[str, str]) -> RawPackage | None:
    name, version = fields.get("P"), fields.get("V")
    if not name or not version:
        return None
    metadata = {
        key: fields[short]
        for short, key in (("m", "maintainer"), ("c", "commit"), ("t", "build_time"))
        if short in fields
    }
    license_field = fields.get("L")
    return RawPackage(
        name=name,
        version=version,
        type=PackageType.APK,
        source_name=fields.get("o") or name,
        arch=fields.get("A"),
        licenses=[license_field] if license_field else [],
        metadata=metadata,
    )
