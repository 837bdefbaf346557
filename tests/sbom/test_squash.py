"""Layer squashing: whiteouts, opaque directories, links resolved inside the root."""

from __future__ import annotations

import os

from hullcheck.api import generate_sbom
from hullcheck.model import PackageType
from tests.infra.layouts import oci_layout, tar_bytes

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "data", "fixtures", "python")


def metadata(directory: str) -> bytes:
    with open(os.path.join(FIXTURES, directory, "METADATA"), "rb") as handle:
        return handle.read()


def python_names(reference: str) -> set[str]:
    return {p.name for p in generate_sbom(reference).packages if p.type is PackageType.PYTHON}


def test_opaque_directory_hides_lower_layers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lower = tar_bytes(
        (
            "file",
            "app/lib/requests-2.34.2.dist-info/METADATA",
            metadata("requests-2.34.2.dist-info"),
        ),
        ("file", "app/other/urllib3-2.7.0.dist-info/METADATA", metadata("urllib3-2.7.0.dist-info")),
    )
    upper = tar_bytes(
        ("file", "app/lib/.wh..wh..opq", b""),
        ("file", "app/lib/flask-3.1.3.dist-info/METADATA", metadata("flask-3.1.3.dist-info")),
    )
    layout = oci_layout(str(tmp_path / "img"), [lower, upper])
    assert python_names(f"oci-dir:{layout}") == {"Flask", "urllib3"}


def test_whiteout_then_readd_in_a_later_layer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = "app/lib/requests-2.34.2.dist-info/METADATA"
    first = tar_bytes(("file", path, metadata("requests-2.34.2.dist-info")))
    delete = tar_bytes(("file", "app/lib/.wh.requests-2.34.2.dist-info", b""))
    readd = tar_bytes(("file", path, metadata("requests-2.34.2.dist-info")))
    layout = oci_layout(str(tmp_path / "a"), [first, delete])
    assert python_names(f"oci-dir:{layout}") == set()
    layout = oci_layout(str(tmp_path / "b"), [first, delete, readd])
    sbom = generate_sbom(f"oci-dir:{layout}")
    (package,) = sbom.packages
    assert sbom.image is not None
    assert package.introduced_by == sbom.image.layers[2].diff_id  # not layer 0: it was deleted


def test_file_overwritten_later_wins(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = "srv/x.dist-info/METADATA"
    old = tar_bytes(("file", path, metadata("urllib3-2.7.0.dist-info")))
    new = tar_bytes(("file", path, metadata("werkzeug-3.1.8.dist-info")))
    assert python_names(f"oci-dir:{oci_layout(str(tmp_path / 'i'), [old, new])}") == {"Werkzeug"}


def test_os_release_through_a_relative_symlink(tmp_path) -> None:  # type: ignore[no-untyped-def]
    layer = tar_bytes(
        ("file", "usr/lib/os-release", b'ID=debian\nVERSION_ID="12"\n'),
        ("symlink", "etc/os-release", "../usr/lib/os-release"),
    )
    sbom = generate_sbom(f"oci-dir:{oci_layout(str(tmp_path / 'i'), [layer])}")
    assert sbom.distro is not None and sbom.distro.ecosystem == "Debian:12"


def test_hardlink_to_a_cataloged_file_in_the_same_layer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    layer = tar_bytes(
        ("file", "a/lib/requests-2.34.2.dist-info/METADATA", metadata("requests-2.34.2.dist-info")),
        (
            "link",
            "b/lib/requests-2.34.2.dist-info/METADATA",
            "a/lib/requests-2.34.2.dist-info/METADATA",
        ),
    )
    sbom = generate_sbom(f"oci-dir:{oci_layout(str(tmp_path / 'i'), [layer])}")
    assert sorted(p.location.path for p in sbom.packages) == [
        "/a/lib/requests-2.34.2.dist-info/METADATA",
        "/b/lib/requests-2.34.2.dist-info/METADATA",
    ]
