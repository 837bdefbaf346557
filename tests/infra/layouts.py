"""Write small image layouts from explicit layer streams (for hostile-input tests).

Hostile inputs cannot come from a real engine (it refuses to build them), so these tests
craft the layer tar streams; the manifest and config around them follow the OCI spec.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _blob(root: str, data: bytes) -> str:
    digest = _sha(data)
    path = os.path.join(root, "blobs", "sha256", digest.split(":")[1])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    return digest


def oci_layout(
    root: str, layers: list[bytes], *, compress: bool = True, diff_ids: list[str] | None = None
) -> str:
    """An OCI layout dir whose layers are the given uncompressed tar streams."""
    os.makedirs(root, exist_ok=True)
    descriptors = []
    for layer in layers:
        blob = gzip.compress(layer, mtime=0) if compress else layer
        media = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compress else "")
        descriptors.append({"mediaType": media, "digest": _blob(root, blob), "size": len(blob)})
    config = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids or [_sha(layer) for layer in layers]},
        "history": [{"created_by": f"layer {i}"} for i in range(len(layers))],
    }
    config_bytes = json.dumps(config).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": _blob(root, config_bytes),
            "size": len(config_bytes),
        },
        "layers": descriptors,
    }
    manifest_bytes = json.dumps(manifest).encode()
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": _blob(root, manifest_bytes),
                "size": len(manifest_bytes),
                "annotations": {"org.opencontainers.image.ref.name": "test"},
            }
        ],
    }
    with open(os.path.join(root, "index.json"), "w") as handle:
        json.dump(index, handle)
    with open(os.path.join(root, "oci-layout"), "w") as handle:
        json.dump({"imageLayoutVersion": "1.0.0"}, handle)
    return root


def tar_bytes(*entries: tuple[str, str, bytes | str]) -> bytes:
    """A tar stream; each entry is (kind, name, data-or-link-target): file, dir, symlink, link."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for kind, name, payload in entries:
            info = tarfile.TarInfo(name)
            info.mode = 0o644
            if kind == "file":
                data = payload if isinstance(payload, bytes) else payload.encode()
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
                continue
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, str(payload)
            elif kind == "link":
                info.type, info.linkname = tarfile.LNKTYPE, str(payload)
            archive.addfile(info)
    return buffer.getvalue()
