"""Output formats: golden files, schema validation, and reading each format back."""

from __future__ import annotations

import json
import os
import re

import pytest

from hullcheck.api import generate_sbom
from hullcheck.model import Sbom
from hullcheck.report import FORMATS, read_sbom, render
from tests.infra.layouts import oci_layout, tar_bytes

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "data", "fixtures")
GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
VOLATILE = re.compile(
    r'("(?:created|timestamp|serialNumber|documentNamespace|bom-ref|ref)": ")[^"]*(")'
    r'|("dependsOn": \[)[^\]]*(\])'
)


def _read(*parts: str) -> bytes:
    with open(os.path.join(FIXTURES, *parts), "rb") as handle:
        return handle.read()


@pytest.fixture
def alpine_sbom(tmp_path) -> Sbom:  # type: ignore[no-untyped-def]
    """The real Alpine 3.18 database plus two real Python distributions, as an OCI image."""
    base = tar_bytes(
        ("file", "lib/apk/db/installed", _read("apk", "alpine-3.18_lib_apk_db_installed")),
        ("file", "etc/alpine-release", b"3.18.0\n"),
    )
    app = tar_bytes(
        (
            "file",
            "app/site/requests-2.34.2.dist-info/METADATA",
            _read("python", "requests-2.34.2.dist-info", "METADATA"),
        ),
        (
            "file",
            "app/node_modules/semver/package.json",
            _read("npm", "node_modules", "semver", "package.json"),
        ),
    )
    return generate_sbom(f"oci-dir:{oci_layout(str(tmp_path / 'img'), [base, app])}")


def _stable(text: str, tmp: str) -> str:
    text = text.replace(tmp, "TMP")
    return VOLATILE.sub(
        lambda m: (m.group(1) or m.group(3)) + "X" + (m.group(2) or m.group(4)), text
    )


@pytest.mark.parametrize("fmt", [f.name for f in FORMATS])
def test_golden(alpine_sbom: Sbom, fmt: str, tmp_path, update_golden: bool) -> None:  # type: ignore[no-untyped-def]
    text = _stable(render(alpine_sbom, fmt), str(tmp_path))
    path = os.path.join(GOLDEN, f"alpine.{fmt}.txt")
    if update_golden:
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)
    with open(path) as handle:
        assert text == handle.read(), f"regenerate with pytest --update-golden and review {path}"


@pytest.mark.parametrize("fmt", ["json", "cyclonedx-json", "spdx-json"])
def test_every_format_reads_back(alpine_sbom: Sbom, fmt: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"sbom.{fmt}"
    path.write_text(render(alpine_sbom, fmt))
    again = read_sbom(str(path))
    assert {(p.name, p.version, p.purl, p.type) for p in again.packages} == {
        (p.name, p.version, p.purl, p.type) for p in alpine_sbom.packages
    }
    musl = next(p for p in again.packages if p.name == "musl")
    assert (musl.source_name, musl.distro, musl.location.path) == (
        "musl",
        "Alpine:v3.18",
        "/lib/apk/db/installed",
    )


def test_cyclonedx_validates_against_the_1_6_schema(alpine_sbom: Sbom) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(
        render(alpine_sbom, "cyclonedx-json")
    )
    assert errors is None, errors


def test_spdx_validates(alpine_sbom: Sbom, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    path = tmp_path / "sbom.spdx.json"
    path.write_text(render(alpine_sbom, "spdx-json"))
    assert validate_full_spdx_document(parse_file(str(path))) == []


def test_json_document_shape(alpine_sbom: Sbom) -> None:
    document = json.loads(render(alpine_sbom, "json"))
    assert document["schema"] == "hullcheck-sbom/1"
    assert document["distro"]["ecosystem"] == "Alpine:v3.18"
    requests = next(p for p in document["packages"] if p["name"] == "requests")
    assert requests["purl"] == "pkg:pypi/requests@2.34.2"
    assert requests["introduced_by"] == document["image"]["layers"][1]["diff_id"]
