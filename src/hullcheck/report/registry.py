"""The explicit lists of output formats (SBOMs, scans) and the reader of SBOM documents."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from hullcheck.errors import SbomFormatError, UsageError
from hullcheck.model import Sbom, ScanReport
from hullcheck.model.policy import Review
from hullcheck.report import cyclonedx_xml, spdx
from hullcheck.report.cyclonedx import read_cyclonedx, render_cyclonedx
from hullcheck.report.cyclonedx_vex import render_scan_cyclonedx
from hullcheck.report.jsonfmt import from_document, render_json
from hullcheck.report.reviews import (
    render_review_json,
    render_review_junit,
    render_review_sarif,
    render_review_table,
)
from hullcheck.report.sarif import render_sarif
from hullcheck.report.scanjson import render_scan_json
from hullcheck.report.scantable import render_scan_table
from hullcheck.report.spdx import read_spdx, render_spdx
from hullcheck.report.syftjson import is_syft_json, read_syft_json
from hullcheck.report.table import render_table
from hullcheck.sources.registry import sbom_syntax

MAX_SBOM_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Format:
    """One output format."""

    name: str
    version: str
    render: Callable[[Sbom], str]
    description: str


FORMATS: tuple[Format, ...] = (
    Format("table", "1", render_table, "human-readable table"),
    Format("json", "1", render_json, "hullcheck JSON (hullcheck-sbom/1)"),
    Format("cyclonedx-json", "1", render_cyclonedx, "CycloneDX 1.6 JSON"),
    Format("spdx-json", "1", render_spdx, "SPDX 2.3 JSON"),
)


@dataclass(frozen=True, slots=True)
class ScanFormat:
    """One output format of ``hullcheck scan``."""

    name: str
    version: str
    render: Callable[[ScanReport], str]
    description: str


@dataclass(frozen=True, slots=True)
class ReviewFormat:
    """One output format of ``hullcheck review``, ``lint`` and ``cis``."""

    name: str
    version: str
    render: Callable[[Review], str]
    description: str


_F = TypeVar("_F", Format, ScanFormat, ReviewFormat)


def _named(formats: tuple[_F, ...], name: str) -> _F:
    for fmt in formats:
        if fmt.name == name:
            return fmt
    known = ", ".join(f.name for f in formats)
    raise UsageError(f"unknown format {name!r}", hint=f"choose one of: {known}")


def format_named(name: str) -> Format:
    """The SBOM output format called ``name``; :class:`UsageError` lists the known ones."""
    return _named(FORMATS, name)


def scan_formats() -> tuple[ScanFormat, ...]:
    return (
        ScanFormat("table", "1", render_scan_table, "human-readable table"),
        ScanFormat("json", "1", render_scan_json, "hullcheck JSON (hullcheck-scan/1)"),
        ScanFormat(
            "cyclonedx-json", "1", render_scan_cyclonedx, "CycloneDX 1.6 with vulnerabilities"
        ),
        ScanFormat("sarif", "1", render_sarif, "SARIF 2.1.0"),
    )


REVIEW_FORMATS: tuple[ReviewFormat, ...] = (
    ReviewFormat("table", "1", render_review_table, "human-readable table"),
    ReviewFormat("json", "1", render_review_json, "hullcheck JSON (hullcheck-review/1)"),
    ReviewFormat("sarif", "1", render_review_sarif, "SARIF 2.1.0"),
    ReviewFormat("junit", "1", render_review_junit, "JUnit XML"),
)


def review_format_named(name: str) -> ReviewFormat:
    """The review output format called ``name``; :class:`UsageError` lists the known ones."""
    return _named(REVIEW_FORMATS, name)


def scan_format_named(name: str) -> ScanFormat:
    """The scan output format called ``name``; :class:`UsageError` lists the known ones."""
    return _named(scan_formats(), name)


def render(sbom: Sbom, name: str) -> str:
    return format_named(name).render(sbom)


def read_sbom(path: str) -> Sbom:
    """Read an SBOM file: hullcheck JSON, CycloneDX JSON or XML, SPDX 2 JSON or tag-value,
    Syft JSON — told apart by their content, not their name."""
    try:
        if os.path.getsize(path) > MAX_SBOM_BYTES:
            raise SbomFormatError(f"{path}: larger than {MAX_SBOM_BYTES} bytes")
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise SbomFormatError(f"{path}: cannot be read ({exc.strerror})") from None
    syntax = sbom_syntax(data[:4096])
    try:
        if syntax == "xml":
            return _read(cyclonedx_xml.document_from_xml(data, path), path)
        if syntax == "tag-value":
            text = data.decode("utf-8")
            return read_spdx(spdx.document_from_tag_value(text, path), path)
        document = json.loads(data)
    except UnicodeDecodeError as exc:
        raise SbomFormatError(f"{path}: not UTF-8 text ({exc})") from None
    except json.JSONDecodeError as exc:
        raise SbomFormatError(f"{path}: not valid JSON ({exc})") from None
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise SbomFormatError(f"{path}: not a valid SBOM ({type(exc).__name__}: {exc})") from None
    if not isinstance(document, dict):
        raise SbomFormatError(f"{path}: not a JSON object")
    return _read(document, path)


def _read(document: dict[str, Any], path: str) -> Sbom:
    if str(document.get("schema") or "").startswith("hullcheck-sbom/"):
        reader, kind = from_document, "hullcheck JSON"
    elif document.get("bomFormat") == "CycloneDX":
        reader, kind = read_cyclonedx, "CycloneDX"
    elif str(document.get("spdxVersion") or "").startswith("SPDX-2"):
        reader, kind = read_spdx, "SPDX 2"
    elif is_syft_json(document):
        reader, kind = read_syft_json, "Syft JSON"
    else:
        raise SbomFormatError(
            f"{path}: neither hullcheck JSON, CycloneDX (JSON or XML), SPDX 2 (JSON or "
            "tag-value) nor Syft JSON"
        )
    try:
        return reader(document, path)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        # a field of the wrong type or shape, somewhere in a document of any size
        raise SbomFormatError(
            f"{path}: not a valid {kind} document ({type(exc).__name__}: {exc})"
        ) from None
