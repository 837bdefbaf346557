"""Hostile and broken images: refused with one line naming the input, exit code 2;
one bad file inside a good image is a recorded warning and the scan goes on."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys

import pytest

from hullcheck.api import Limits, generate_sbom
from hullcheck.errors import HullcheckError, LayerError, SourceError
from tests.infra.layouts import oci_layout, tar_bytes

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "data", "fixtures")
with open(os.path.join(FIXTURES, "dpkg", "debian-12-buildhost_var_lib_dpkg_status"), "rb") as f:
    DEBIAN_STATUS = f.read()
OS_RELEASE = b'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hullcheck", *args], capture_output=True, text=True, timeout=120
    )


def good_layer() -> bytes:
    return tar_bytes(
        ("dir", "var/lib/dpkg", b""),
        ("file", "var/lib/dpkg/status", DEBIAN_STATUS),
        ("file", "usr/lib/os-release", OS_RELEASE),
        ("symlink", "etc/os-release", "../usr/lib/os-release"),
    )


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ((("file", "../../escape.txt", b"x"),), "climbs out of the image root"),
        ((("file", "usr/../../../etc/cron.d/evil", b"x"),), "climbs out of the image root"),
        ((("file", "/etc/passwd", b"x"),), "absolute path"),
        ((("link", "etc/shadow-copy", "../../../etc/shadow"),), "climbs out of the image root"),
    ],
)
def test_traversal_is_refused_with_exit_2(tmp_path, entries, message) -> None:  # type: ignore[no-untyped-def]
    layout = oci_layout(str(tmp_path / "img"), [good_layer(), tar_bytes(*entries)])
    with pytest.raises(LayerError, match=message):
        generate_sbom(f"oci-dir:{layout}")
    result = cli("sbom", f"oci-dir:{layout}", "--no-store")
    assert result.returncode == 2
    assert message in result.stderr and layout in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "escape.txt").exists()


def test_symlink_escape_stays_inside_the_image(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # os-release points far above the root: resolved chroot-style it is the image's own
    # /etc/os-release → a loop back to itself; the host's file is never read.
    layer = tar_bytes(
        ("file", "var/lib/dpkg/status", DEBIAN_STATUS),
        ("symlink", "etc/os-release", "../../../../../../../etc/os-release"),
        ("symlink", "usr/lib/os-release", "/../../../../usr/lib/os-release"),
    )
    sbom = generate_sbom(f"oci-dir:{oci_layout(str(tmp_path / 'img'), [layer])}")
    assert sbom.distro is None
    assert len(sbom.packages) == 756


def test_truncated_gzip_layer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    layout = oci_layout(str(tmp_path / "img"), [good_layer()])
    blobs = tmp_path / "img" / "blobs" / "sha256"
    for blob in blobs.iterdir():
        data = blob.read_bytes()
        if data[:2] == b"\x1f\x8b":
            blob.write_bytes(data[: len(data) // 2])
    with pytest.raises(LayerError, match="truncated|corrupt"):
        generate_sbom(f"oci-dir:{layout}")


def test_corrupt_gzip_layer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    layout = oci_layout(str(tmp_path / "img"), [good_layer()])
    for blob in (tmp_path / "img" / "blobs" / "sha256").iterdir():
        data = bytearray(blob.read_bytes())
        if data[:2] == b"\x1f\x8b":
            data[200:400] = b"\x00" * 200
            blob.write_bytes(bytes(data))
    result = cli("sbom", f"oci-dir:{layout}", "--no-store")
    assert result.returncode == 2
    assert "layer 0" in result.stderr and "Traceback" not in result.stderr


def test_layer_that_is_not_a_tar(tmp_path) -> None:  # type: ignore[no-untyped-def]
    layout = oci_layout(str(tmp_path / "img"), [b"this is plain text, not a tar stream\n" * 40])
    with pytest.raises(LayerError, match="not a tar stream"):
        generate_sbom(f"oci-dir:{layout}")


def test_decompression_bomb_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # 300 MiB of zeros in one file gzips to about 300 KiB: a ratio of about 1000
    big = tar_bytes(("file", "zeros", b"\x00" * (300 * 1024 * 1024)))
    layout = oci_layout(str(tmp_path / "img"), [big])
    del big
    with pytest.raises(LayerError, match="decompression bomb"):
        generate_sbom(f"oci-dir:{layout}", limits=Limits(ratio_floor=64 * 1024 * 1024))


def test_layer_size_limit_is_configurable_from_the_cli(tmp_path) -> None:  # type: ignore[no-untyped-def]
    layout = oci_layout(str(tmp_path / "img"), [good_layer()])
    result = cli("sbom", f"oci-dir:{layout}", "--no-store", "--max-layer-size", "100K")
    assert result.returncode == 2
    assert "exceeds" in result.stderr


def test_manifest_pointing_at_a_missing_blob(tmp_path) -> None:  # type: ignore[no-untyped-def]
    layout = oci_layout(str(tmp_path / "img"), [good_layer()])
    for blob in (tmp_path / "img" / "blobs" / "sha256").iterdir():
        if blob.read_bytes()[:2] == b"\x1f\x8b":
            blob.unlink()
    with pytest.raises(SourceError, match="missing layer blob"):
        generate_sbom(f"oci-dir:{layout}")


def test_diff_id_mismatch_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    layout = oci_layout(str(tmp_path / "img"), [good_layer()], diff_ids=["sha256:" + "0" * 64])
    with pytest.raises(LayerError, match="does not match diffID"):
        generate_sbom(f"oci-dir:{layout}")


def test_malformed_package_database_is_a_warning(tmp_path) -> None:  # type: ignore[no-untyped-def]
    layer = tar_bytes(
        ("file", "var/lib/dpkg/status", DEBIAN_STATUS),
        ("file", "lib/apk/db/installed", b"\x00\x01 garbage \xff\n"),
        ("file", "srv/node_modules/broken/package.json", b"{not json"),
    )
    sbom = generate_sbom(f"oci-dir:{oci_layout(str(tmp_path / 'img'), [layer])}")
    assert len(sbom.packages) == 756
    warned = {w.path for w in sbom.warnings}
    assert warned == {"/lib/apk/db/installed", "/srv/node_modules/broken/package.json"}


def test_index_json_that_is_not_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    layout = oci_layout(str(tmp_path / "img"), [good_layer()])
    (tmp_path / "img" / "index.json").write_text("{ nope")
    with pytest.raises(SourceError, match="index.json: not valid JSON"):
        generate_sbom(f"oci-dir:{layout}")


def test_blob_digest_with_path_traversal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    layout = oci_layout(str(tmp_path / "img"), [good_layer()])
    index = (tmp_path / "img" / "index.json").read_text()
    digest = index.split('"digest": "')[1].split('"')[0]
    (tmp_path / "img" / "index.json").write_text(index.replace(digest, "sha256:../../x"))
    with pytest.raises(SourceError, match="invalid digest"):
        generate_sbom(f"oci-dir:{layout}")


def test_every_error_is_a_hullcheck_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "junk.tar").write_bytes(gzip.compress(b"x" * 1000))
    with pytest.raises(HullcheckError):
        generate_sbom(str(tmp_path / "junk.tar"))
