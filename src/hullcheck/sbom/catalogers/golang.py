"""Go binaries: the module build information the Go linker embeds (Go 1.18+ inline format)."""

from __future__ import annotations

from hullcheck.model import PackageType
from hullcheck.sbom.catalogers.interface import (
    Cataloger,
    FileResult,
    ParseContext,
    ParseError,
    RawPackage,
)

MAGIC = b"\xff Go buildinf:"
_ELF = b"\x7fELF"
_FLAG_INLINE = 0x2
_SENTINEL = 16


class GoBinaryCataloger(Cataloger):
    """Every executable is checked for the build info header; non-Go files cost a search."""

    name = "go-binary"
    version = "3"
    artifact = True
    executables = True
    max_bytes = 512 * 1024 * 1024

    def parse(self, path: str, data: bytes, ctx: ParseContext) -> FileResult:
        result = FileResult(self.name)
        if not data.startswith(_ELF):
            return result
        start = data.find(MAGIC)
        while start >= 0 and start % 16:
            start = data.find(MAGIC, start + 1)
        if start < 0:
            return result
        flags = data[start + 15] if start + 15 < len(data) else 0
        if not flags & _FLAG_INLINE:
            result.warnings.append("Go build info from before Go 1.18 is not read")
            return result
        position = start + 32
        go_version, position = _varint_string(data, position)
        modinfo, _ = _varint_string(data, position)
        if len(modinfo) >= 2 * _SENTINEL:
            modinfo = modinfo[_SENTINEL:-_SENTINEL]
        result.packages = _modules(go_version, modinfo)
        return result


def _varint_string(data: bytes, position: int) -> tuple[str, int]:
    length = shift = 0
    while True:
        if position >= len(data) or shift > 63:
            raise ParseError("Go build info is truncated")
        byte = data[position]
        position += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    end = position + length
    if end > len(data) or length > 16 * 1024 * 1024:
        raise ParseError("Go build info string runs past the end of the file")
    return data[position:end].decode("utf-8", errors="replace"), end


def _modules(go_version: str, modinfo: str) -> list[RawPackage]:
    packages: list[RawPackage] = []
    settings: dict[str, str] = {}
    for line in modinfo.splitlines():
        fields = line.split("\t")
        kind = fields[0]
        if kind == "build" and len(fields) >= 2:
            key, _, value = fields[1].partition("=")
            settings[key] = value
        elif kind in ("mod", "dep") and len(fields) >= 3:
            packages.append(_module(fields[1], fields[2], kind == "mod", go_version))
        elif kind == "=>" and len(fields) >= 3 and packages:
            replaced = packages.pop()
            packages.append(
                _module(fields[1], fields[2], replaced.metadata.get("main") == "true", go_version)
            )
    for package in packages:
        if package.metadata.get("main") == "true":
            for key in ("vcs.revision", "GOOS", "GOARCH"):
                if key in settings:
                    package.metadata[key] = settings[key]
            package.application = True
            package.requires = [p.name for p in packages if p is not package]
    if go_version:
        packages.append(
            RawPackage(
                name="stdlib",
                version=go_version,
                type=PackageType.GO,
                metadata={"goVersion": go_version},
            )
        )
        for package in packages:
            if package.application:
                package.requires.append("stdlib")
    return packages


def _module(path: str, version: str, main: bool, go_version: str) -> RawPackage:
    metadata = {"goVersion": go_version}
    if main:
        metadata["main"] = "true"
    return RawPackage(name=path, version=version, type=PackageType.GO, metadata=metadata)
