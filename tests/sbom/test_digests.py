"""Every blob read is the blob its descriptor names (finding 4 of the security review).

Blobs of a real OCI layout (skopeo's) and a real docker-archive (the engine's ``docker
save``) are edited in place, under their old names: a config that now claims other labels,
a manifest that points elsewhere, a layer recompressed to the same content. Each is refused
with a message naming the blob, before an image ID it does not own reaches an SBOM — an
image named in a VEX ``not_affected`` statement cannot be impersonated."""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile

import pytest

from hullcheck.api import generate_sbom
from hullcheck.errors import HullcheckError
from tests.conftest import Images

pytestmark = pytest.mark.docker


@pytest.fixture
def layout(images: Images, tmp_path) -> str:  # type: ignore[no-untyped-def]
    copy = str(tmp_path / "layout")
    shutil.copytree(images.oci("python"), copy)
    return copy


def _manifest(layout: str) -> tuple[str, dict]:  # type: ignore[type-arg]
    with open(os.path.join(layout, "index.json")) as handle:
        digest = json.load(handle)["manifests"][0]["digest"]
    path = os.path.join(layout, "blobs", *digest.split(":"))
    with open(path) as handle:
        return path, json.load(handle)


def _blob(layout: str, digest: str) -> str:
    return os.path.join(layout, "blobs", *digest.split(":"))


def test_the_unedited_layout_is_read(layout: str) -> None:
    assert generate_sbom(f"oci-dir:{layout}").packages


def test_an_edited_config_under_its_old_digest_is_refused(layout: str) -> None:
    _, manifest = _manifest(layout)
    config_path = _blob(layout, manifest["config"]["digest"])
    with open(config_path) as handle:
        config = json.load(handle)
    config["config"]["Labels"] = {"org.opencontainers.image.title": "forged"}
    data = json.dumps(config).encode()
    with open(config_path, "wb") as handle:
        handle.write(data)
    manifest["config"]["size"] = len(data)  # the size is no help to a forger either way
    with pytest.raises(HullcheckError, match=f"blob {manifest['config']['digest']}"):
        generate_sbom(f"oci-dir:{layout}", store=None)


def test_an_edited_manifest_under_its_old_digest_is_refused(layout: str) -> None:
    path, manifest = _manifest(layout)
    manifest["annotations"] = {"forged": "yes"}
    with open(path, "w") as handle:
        json.dump(manifest, handle)
    with pytest.raises(HullcheckError, match=f"blob sha256:{os.path.basename(path)}"):
        generate_sbom(f"oci-dir:{layout}")


def test_a_layer_blob_changed_but_not_its_content_is_refused(layout: str) -> None:
    """The same tar in another gzip member (its header's time changed: same size, same
    diffID, another blob) — as a recompressed layer would be."""
    _, manifest = _manifest(layout)
    layer = manifest["layers"][-1]
    path = _blob(layout, layer["digest"])
    with open(path, "rb") as handle:
        blob = bytearray(handle.read())
    assert blob[:2] == b"\x1f\x8b"
    blob[4:8] = (12345).to_bytes(4, "little")  # gzip's MTIME field
    with open(path, "wb") as handle:
        handle.write(blob)
    with pytest.raises(HullcheckError, match="edited or corrupt"):
        generate_sbom(f"oci-dir:{layout}", store=None)


def test_a_docker_archive_config_edited_under_its_old_name_is_refused(
    images: Images, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    forged = str(tmp_path / "forged.tar")
    with tarfile.open(images.archive("python")) as original, tarfile.open(forged, "w") as out:
        manifest = json.load(original.extractfile("manifest.json"))  # type: ignore[arg-type]
        config_name = manifest[0]["Config"]
        for member in original.getmembers():
            data = original.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if member.name == config_name:
                config = json.loads(data)  # type: ignore[arg-type]
                config["config"]["Labels"] = {"forged": "yes"}
                data = json.dumps(config).encode()
                member.size = len(data)
            out.addfile(member, io.BytesIO(data) if data is not None else None)
    with pytest.raises(HullcheckError, match="edited or corrupt"):
        generate_sbom(f"docker-archive:{forged}")
