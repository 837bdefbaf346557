"""Java archives: Maven ``pom.properties`` and the JAR manifest, nested archives one deep."""

from __future__ import annotations

import io
import os
import zipfile

from hullcheck.model import PackageType
from hullcheck.sbom.catalogers.interface import (
    Cataloger,
    FileResult,
    ParseContext,
    ParseError,
    RawPackage,
)
from hullcheck.sbom.catalogers.python import parse_headers

ARCHIVES = (".jar", ".war", ".ear", ".jpi", ".hpi")
_SMALL = 1024 * 1024
_NESTED = 64 * 1024 * 1024


class JavaArchiveCataloger(Cataloger):
    """One package per Maven artifact found in an archive (or its manifest as a fallback)."""

    name = "java-archive"
    version = "2"
    artifact = True
    suffixes = ARCHIVES
    max_bytes = 512 * 1024 * 1024

    def parse(self, path: str, data: bytes, ctx: ParseContext) -> FileResult:
        result = FileResult(self.name)
        try:
            _read_archive(data, os.path.basename(path), result, depth=0)
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            NotImplementedError,
            RuntimeError,
            OSError,
        ) as exc:
            # zipfile's words for a member it cannot read: a compression method or version it
            # lacks (NotImplementedError), an encrypted member (RuntimeError)
            raise ParseError(f"{path}: not a readable archive ({exc})") from None
        return result


def _read_archive(data: bytes, name: str, result: FileResult, depth: int) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ParseError(f"{name}: not a readable zip archive ({exc})") from None
    with archive:
        poms = [
            i
            for i in infos
            if i.filename.startswith("META-INF/maven/") and i.filename.endswith("/pom.properties")
        ]
        found = [p for p in (_pom(archive, info) for info in poms) if p is not None]
        if not found:
            manifest = _manifest_package(archive, name)
            if manifest is not None:
                found.append(manifest)
        for package in found:
            package.metadata["archive"] = name
        result.packages.extend(found)
        if depth == 0:
            for info in infos:
                if info.filename.endswith(ARCHIVES) and 0 < info.file_size <= _NESTED:
                    nested = _member(archive, info, _NESTED)
                    if nested is None:
                        continue
                    try:
                        _read_archive(nested, f"{name}:{info.filename}", result, depth + 1)
                    except ParseError as exc:
                        result.warnings.append(str(exc))


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes | None:
    if info.file_size > limit:
        return None
    try:
        with archive.open(info) as handle:
            data = handle.read(limit + 1)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    return data if len(data) <= limit else None


def _pom(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> RawPackage | None:
    data = _member(archive, info, _SMALL)
    if data is None:
        return None
    props = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.lstrip().startswith("#"):
            props[key.strip()] = value.strip()
    group, artifact, version = props.get("groupId"), props.get("artifactId"), props.get("version")
    if not artifact or not version:
        return None
    return RawPackage(
        name=artifact,
        version=version,
        type=PackageType.JAVA,
        namespace=group,
        metadata={"groupId": group} if group else {},
    )


def _manifest_package(archive: zipfile.ZipFile, name: str) -> RawPackage | None:
    try:
        info = archive.getinfo("META-INF/MANIFEST.MF")
    except KeyError:
        return None
    data = _member(archive, info, _SMALL)
    if data is None:
        return None
    headers = parse_headers(data.decode("utf-8", errors="replace").replace("\r", ""))
    version = headers.get("Implementation-Version") or headers.get("Bundle-Version")
    title = headers.get("Bundle-SymbolicName") or headers.get("Implementation-Title")
    if not version:
        return None
    artifact = (title or name.rsplit(".", 1)[0]).split(";")[0].strip()
    vendor = headers.get("Implementation-Vendor-Id")
    return RawPackage(
        name=artifact,
        version=version,
        type=PackageType.JAVA,
        namespace=vendor,
        metadata={"manifest": "true"},
    )
