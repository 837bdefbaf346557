"""The same image read from every engine of the matrix gives the same SBOM as its archive:
the same packages, each attributed to the same layer, the same layers and commands.

The image ID differs on one engine only, and by design: Docker's containerd image store
names an image by the digest of its manifest, where the classic store and Podman name it by
the digest of its config. hullcheck keeps the engine's own ID (it is what containers
reference and what ``docker images`` shows) and proves that manifest is the archive's image.
"""

from __future__ import annotations

import os

import pytest

from hullcheck.api import generate_sbom, open_store
from hullcheck.model import Package, Sbom
from hullcheck.sources.archive import DockerArchiveSource
from tests.conftest import Images
from tests.infra.engine import PrivateEngine
from tests.infra.progress import CountingProgress

pytestmark = pytest.mark.docker


def _packages(sbom: Sbom) -> list[Package]:
    """Every package with every field: location, introducing layer, licences, metadata."""
    return sorted(sbom.packages, key=lambda p: (p.purl, p.location.path))


def _layers(sbom: Sbom) -> list[tuple[str, str | None]]:
    assert sbom.image is not None
    return [(layer.diff_id, layer.created_by) for layer in sbom.image.layers]


@pytest.mark.parametrize("name", ["python", "layers"])
def test_the_engine_gives_the_sbom_of_the_archive(
    engine: PrivateEngine,
    images: Images,
    name: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: os.PathLike[str],
) -> None:
    archive = generate_sbom(f"docker-archive:{images.archive(name)}")
    reference = f"docker:{images.on(engine, name)}"
    monkeypatch.setenv("DOCKER_HOST", engine.host)
    store = open_store(f"sqlite:///{os.path.join(os.fspath(tmp_path), 'hc.db')}")
    try:
        cold_progress, warm_progress = CountingProgress(), CountingProgress()
        # nothing cached: every layer is read from the engine's export (``docker save``)
        cold = generate_sbom(reference, store=store, progress=cold_progress)
        # every layer cached: only inspect and history are asked, nothing is exported
        warm = generate_sbom(reference, store=store, progress=warm_progress)
    finally:
        store.close()
    assert archive.image is not None and cold.image is not None and warm.image is not None
    layers = len(archive.image.layers)
    assert cold_progress.read == list(range(layers)) and warm_progress.cached == cold_progress.read
    for sbom in (cold, warm):
        assert _packages(sbom) == _packages(archive)
        assert _layers(sbom) == _layers(archive)
        assert sbom.distro == archive.distro
        assert sbom.image is not None and sbom.image.id == cold.image.id
    if engine.kind == "docker26-containerd":
        # the engine's ID is its manifest's digest; that manifest names the archive's config
        assert cold.image.id != archive.image.id
        exported = os.path.join(os.fspath(tmp_path), "exported.tar")
        client = engine.client()
        with open(exported, "wb") as handle:
            for chunk in client.api.get_image(cold.image.id):
                handle.write(chunk)
        client.close()
        source = DockerArchiveSource(exported)
        try:
            assert source.image().id == archive.image.id
            assert source.holds(cold.image.id)
            assert not source.holds(archive.image.id.replace("a", "b"))
        finally:
            source.close()
    else:
        assert cold.image.id == archive.image.id
