"""What the layers hold, read in the SBOM's own pass and kept in the layer cache: a second
review reads no layer (its blobs are spoiled in between and nothing notices)."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

from hullcheck import api
from hullcheck.api import review as review_api
from hullcheck.errors import HullcheckError
from hullcheck.model.policy import Review
from tests.infra.layouts import oci_layout

FILE_RULES = ("HC-IM-007", "HC-IM-008", "HC-IM-009")
EXPECTED = [
    ("HC-IM-007", "/root/.netrc holds a .netrc password, added by layer 2 (deleted by layer 3, "
     "still in layer 2's blob)"),
    ("HC-IM-007", "/root/.npmrc holds an npm token, added by layer 1"),
    ("HC-IM-008", "/usr/local/bin/x is setuid/setgid (mode 4755), added by layer 1"),
    ("HC-IM-009", "/srv/shared is writable by every user (mode 0666), layer 1"),
]  # fmt: skip


def _layer(*entries: tuple[str, bytes, int]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data, mode in entries:
            info = tarfile.TarInfo(name)
            info.mode, info.size = mode, len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _found(review: Review) -> list[tuple[str, str]]:
    return sorted((v.rule, v.message) for v in review.violations if v.rule in FILE_RULES)


def test_layer_files_are_read_once_and_then_taken_from_the_cache(
    tmp_path: os.PathLike[str],
) -> None:
    root = oci_layout(
        os.path.join(os.fspath(tmp_path), "image"),
        [
            _layer(
                ("etc/os-release", b"ID=debian\nVERSION_ID=12\n", 0o644), ("bin/su", b"x", 0o4755)
            ),
            _layer(
                ("root/.npmrc", b"//registry.npmjs.org/:_authToken=planted\n", 0o600),
                ("root/.pypirc", b"[pypi]\nusername = __token__\n", 0o600),  # no password
                ("usr/local/bin/x", b"y", 0o4755),
                ("srv/shared", b"z", 0o666),
            ),
            _layer(("root/.netrc", b"machine h login u password planted\n", 0o600)),
            _layer(("root/.wh..netrc", b"", 0o644)),
        ],
    )
    reference = f"oci-dir:{root}"
    assert _found(review_api.review(reference)) == EXPECTED  # no store: read in one pass
    with api.open_store(f"sqlite:///{os.fspath(tmp_path)}/hc.db") as store:
        assert _found(review_api.review(reference, store=store)) == EXPECTED
        blobs = os.path.join(root, "blobs", "sha256")
        for name in os.listdir(blobs):
            path = os.path.join(blobs, name)
            with open(path, "rb") as handle:
                head = handle.read(2)
            if head == b"\x1f\x8b":  # a layer (gzip): spoiled, its size kept
                size = os.path.getsize(path)
                with open(path, "wb") as handle:
                    handle.write(b"\0" * size)
        assert _found(review_api.review(reference, store=store)) == EXPECTED
    with pytest.raises(HullcheckError):  # (read again, the spoiled blobs are refused)
        review_api.review(reference)
