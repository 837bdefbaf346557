"""``registry:`` as an image source, against a real registry (Debian's docker-registry) open,
behind htpasswd and behind a token service: the same SBOM as the image's archive, every
blob checked against its digest, one-line refusals."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pytest

from hullcheck.api import generate_sbom, open_store
from hullcheck.model import Package, Sbom
from hullcheck.registry.client import OCI_INDEX, RegistryClient
from hullcheck.registry.credentials import Credentials
from tests.conftest import Images
from tests.infra.cli import hullcheck
from tests.infra.progress import CountingProgress
from tests.infra.registry import (
    PASSWORD,
    USER,
    Registry,
    docker_config,
    pass_helper,
    running_registry,
)

pytestmark = pytest.mark.docker  # the test images are built in the builder engine


def _packages(sbom: Sbom) -> list[Package]:
    return sorted(sbom.packages, key=lambda p: (p.purl, p.location.path))


def _hullcheck(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return hullcheck(*args, env=env, timeout=300, stdin=subprocess.DEVNULL)


def _logged_in(registry: Registry, tmp_path: os.PathLike[str], password: str = PASSWORD) -> str:
    return docker_config(os.path.join(os.fspath(tmp_path), "docker"), registry, password)


def test_the_registry_gives_the_sbom_of_the_archive(
    registry: Registry,
    images: Images,
    tmp_path: os.PathLike[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if registry.auth is not None:
        monkeypatch.setenv("DOCKER_CONFIG", _logged_in(registry, tmp_path))
    archive = generate_sbom(f"docker-archive:{images.archive('python')}")
    database = os.path.join(os.fspath(tmp_path), "hc.db")
    store = open_store(f"sqlite:///{database}")
    try:
        cold_progress, warm_progress = CountingProgress(), CountingProgress()
        cold = generate_sbom(
            f"registry:{registry.host}/corp/python:1", store=store, progress=cold_progress
        )
        warm = generate_sbom(
            f"registry:{registry.host}/corp/python:1", store=store, progress=warm_progress
        )
    finally:
        store.close()
    assert archive.image is not None and cold.image is not None
    # the registry's image is the archive's: its config, so its ID, and every package
    assert cold.image.id == archive.image.id
    assert _packages(cold) == _packages(archive)
    assert [(layer.diff_id, layer.created_by) for layer in cold.image.layers] == [
        (layer.diff_id, layer.created_by) for layer in archive.image.layers
    ]
    assert cold.image.repo_tags == (f"{registry.host}/corp/python:1",)
    (pinned,) = cold.image.repo_digests
    assert pinned.startswith(f"{registry.host}/corp/python@sha256:")
    # every layer read from the registry once; a second SBOM asks for no blob
    layers = len(archive.image.layers)
    assert cold_progress.read == list(range(layers)) and warm_progress.cached == cold_progress.read
    assert _packages(warm) == _packages(archive)
    with open(database, "rb") as handle:
        assert PASSWORD.encode() not in handle.read()  # credentials are never stored


@pytest.mark.parametrize("auth", ["basic", "token"])
def test_missing_or_wrong_credentials_are_refused_in_one_line(
    auth: str, images: Images, tmp_path: os.PathLike[str]
) -> None:
    with running_registry(os.path.join(os.fspath(tmp_path), "registry"), auth) as registry:
        registry.push_archive(images.archive("debian"), "corp/debian", "1")
        reference = f"registry:{registry.host}/corp/debian:1"
        empty = os.path.join(os.fspath(tmp_path), "nobody")
        os.makedirs(empty)
        anonymous = _hullcheck("sbom", reference, "--no-store", env={"DOCKER_CONFIG": empty})
        wrong_password = "not-the-password"
        wrong = _hullcheck(
            "sbom",
            reference,
            "--no-store",
            env={"DOCKER_CONFIG": _logged_in(registry, tmp_path, wrong_password)},
        )
    for answer in (anonymous, wrong):
        assert answer.returncode == 2, answer.stderr
        first, hint = answer.stderr.splitlines()
        assert first.startswith(f"hullcheck: error: {registry.host}/corp/debian:1: ")
        assert "401" in first and "Traceback" not in answer.stderr
        assert hint == f"hint: docker login {registry.host}"
        assert wrong_password not in answer.stderr and PASSWORD not in answer.stderr


def test_credentials_come_from_dockers_real_credential_helper(
    images: Images, tmp_path: os.PathLike[str]
) -> None:
    """``credHelpers`` (this registry's helper) and ``credsStore`` (every registry's), as
    ``docker login`` leaves them with a helper configured: docker-credential-pass asked for
    the registry's credentials, sent to its token service; a helper that has none means
    anonymous (refused here, in one line); a helper not installed is named."""
    with running_registry(os.path.join(os.fspath(tmp_path), "registry"), "token") as registry:
        registry.push_archive(images.archive("debian"), "corp/debian", "1")
        reference = f"registry:{registry.host}/corp/debian:1"
        answers = {}
        with pass_helper({registry.host: (USER, PASSWORD)}) as helper_env:
            for name, config in (
                ("credHelpers", {"credHelpers": {registry.host: "pass"}}),
                ("credsStore", {"credsStore": "pass"}),
                ("elsewhere", {"credHelpers": {"registry.example": "pass"}, "credsStore": "pass"}),
                ("not installed", {"credHelpers": {registry.host: "nosuch"}}),
            ):
                directory = os.path.join(os.fspath(tmp_path), name.replace(" ", "-"))
                os.makedirs(directory)
                with open(os.path.join(directory, "config.json"), "w") as handle:
                    json.dump(config, handle)
                env = {"DOCKER_CONFIG": directory, **helper_env}
                answers[name] = _hullcheck("sbom", reference, "--no-store", "-f", "json", env=env)
            subprocess.run(
                ["docker-credential-pass", "erase"],
                input=registry.host.encode(),
                env={**os.environ, **helper_env},
                check=True,
            )
            answers["erased"] = _hullcheck(
                "sbom", reference, "--no-store",
                env={"DOCKER_CONFIG": os.path.join(os.fspath(tmp_path), "credHelpers"),
                     **helper_env},
            )  # fmt: skip
    for name in ("credHelpers", "credsStore", "elsewhere"):
        assert answers[name].returncode == 0, (name, answers[name].stderr)
        assert json.loads(answers[name].stdout)["packages"], name  # the image was read
    erased = answers["erased"]
    assert erased.returncode == 2 and "401" in erased.stderr.splitlines()[0], erased.stderr
    missing = answers["not installed"]
    assert missing.returncode == 2
    assert "credential helper docker-credential-nosuch" in missing.stderr
    assert "is not installed" in missing.stderr
    assert all(PASSWORD not in a.stdout + a.stderr for a in answers.values())


def test_a_blob_replaced_in_the_registry_is_refused_and_nothing_is_stored(
    spoilable: Registry, tmp_path: os.PathLike[str]
) -> None:
    with RegistryClient(spoilable.host) as client:
        manifest = client.manifest("corp/python", "1").document
    biggest = max(manifest["layers"], key=lambda layer: layer["size"])
    index = manifest["layers"].index(biggest)
    # the same length, other bytes: only the digest tells
    blob = spoilable.blob_file(biggest["digest"])
    with open(blob, "r+b") as handle:
        handle.seek(biggest["size"] // 2)
        handle.write(b"\0" * 64)
    database = os.path.join(os.fspath(tmp_path), "hc.db")
    answer = _hullcheck(
        "sbom", f"registry:{spoilable.host}/corp/python:1", "--db", f"sqlite:///{database}"
    )
    assert answer.returncode == 2
    (line,) = answer.stderr.splitlines()
    assert line.startswith(
        f"hullcheck: error: {spoilable.host}/corp/python: layer {index} blob "
        f"{biggest['digest'][:19]}: content is sha256:"
    )
    assert line.endswith(
        f"not the {biggest['digest'][:23]}… its manifest names (edited or corrupt)"
    )
    store = open_store(f"sqlite:///{database}")
    try:
        assert store.image_ids() == []  # no SBOM of what could not be verified
    finally:
        store.close()


def test_a_manifest_that_is_not_its_digest_is_refused(spoilable: Registry) -> None:
    with RegistryClient(spoilable.host) as client:
        good = client.manifest("corp/python", "1")
    # the registry keeps a manifest as a blob too: edit it under its digest
    path = spoilable.blob_file(good.digest)
    with open(path, "wb") as handle:
        handle.write(good.data + b" ")  # the same JSON, another digest
    name = f"registry:{spoilable.host}/corp/python"
    for reference in (f"{name}:1", f"{name}@{good.digest}"):  # by tag, and pinned
        answer = _hullcheck("sbom", reference, "--no-store")
        assert answer.returncode == 2
        assert "(edited or corrupt)" in answer.stderr and len(answer.stderr.splitlines()) == 1


def test_a_digest_pinned_reference_reads_that_manifest(registry: Registry, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"DOCKER_CONFIG": _logged_in(registry, tmp_path)} if registry.auth else {}
    credentials = Credentials(USER, PASSWORD) if registry.auth else None
    with RegistryClient(registry.host, credentials=credentials) as client:
        digest = client.manifest("corp/python", "1").digest
    pinned = _hullcheck(
        "sbom",
        f"registry:{registry.host}/corp/python@{digest}",
        "--no-store",
        "-f",
        "json",
        env=env,
    )
    assert pinned.returncode == 0, pinned.stderr
    image = json.loads(pinned.stdout)["image"]
    assert image["repo_digests"] == [f"{registry.host}/corp/python@{digest}"]
    absent = "sha256:" + hashlib.sha256(b"no such manifest").hexdigest()
    missing = _hullcheck(
        "sbom", f"registry:{registry.host}/corp/python@{absent}", "--no-store", env=env
    )
    assert missing.returncode == 2
    assert missing.stderr.splitlines()[0] == (
        f"hullcheck: error: {registry.host}/corp/python@{absent}: the registry answered 404 "
        "(not found): MANIFEST_UNKNOWN manifest unknown"
    )
    unknown_tag = _hullcheck(
        "sbom", f"registry:{registry.host}/corp/python:2", "--no-store", env=env
    )
    assert unknown_tag.returncode == 2
    assert "corp/python:2: the registry answered 404 (not found)" in unknown_tag.stderr


def test_a_manifest_list_gives_the_image_of_the_platform_asked_for(
    spoilable: Registry, images: Images
) -> None:
    spoilable.push_archive(images.archive("debian"), "corp/debian", "1")
    with RegistryClient(spoilable.host) as client:
        python = client.manifest("corp/python", "1")
        debian = client.manifest("corp/debian", "1")
        # both images into one repository, listed as two platforms of one tag
        for blob in [debian.document["config"], *debian.document["layers"]]:
            with client.open_blob("corp/debian", blob["digest"], blob["size"], "copy") as stream:
                client.push_blob("corp/python", stream.read(), "copy")
        client.push_manifest("corp/python", debian.digest, debian.data, debian.media_type, "copy")
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": python.media_type,
                    "digest": python.digest,
                    "size": len(python.data),
                    "platform": {"os": "linux", "architecture": "amd64"},
                },
                {
                    "mediaType": debian.media_type,
                    "digest": debian.digest,
                    "size": len(debian.data),
                    "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
                },
            ],
        }
        client.push_manifest("corp/python", "multi", json.dumps(index).encode(), OCI_INDEX, "x")
    reference = f"registry:{spoilable.host}/corp/python:multi"

    def image_of(*platform: str) -> subprocess.CompletedProcess[str]:
        return _hullcheck("sbom", reference, "--no-store", "-f", "json", *platform)

    chosen = {
        name: json.loads(image_of("--platform", name).stdout)["image"]["repo_digests"]
        for name in ("linux/amd64", "linux/arm64", "linux/arm64/v8")
    }
    assert chosen["linux/amd64"] == [f"{spoilable.host}/corp/python@{python.digest}"]
    assert (
        chosen["linux/arm64"]
        == chosen["linux/arm64/v8"]
        == [f"{spoilable.host}/corp/python@{debian.digest}"]
    )
    assert json.loads(image_of().stdout)["image"]["repo_digests"] == chosen["linux/amd64"]
    none = image_of("--platform", "linux/s390x")
    assert none.returncode == 2
    assert none.stderr.splitlines() == [
        f"hullcheck: error: {spoilable.host}/corp/python:multi: no image for linux/s390x in its "
        "manifest list",
        "hint: --platform linux/amd64 or linux/arm64/v8",
    ]
    single = _hullcheck(
        "sbom",
        f"registry:{spoilable.host}/corp/debian:1",
        "--no-store",
        "--platform",
        "linux/arm64",
    )
    assert single.returncode == 2
    assert single.stderr.splitlines() == [
        f"hullcheck: error: {spoilable.host}/corp/debian:1: the image is linux/amd64, not "
        "linux/arm64 (it has no manifest list)"
    ]
    bad = image_of("--platform", "arm64")
    assert bad.returncode == 2 and "expected os/arch" in bad.stderr


def _outward_address() -> str:
    """An IPv4 address of this machine that is not loopback."""
    listed = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    return next(a for a in listed if "." in a and not a.startswith("127."))


def test_plain_http_only_for_loopback_or_registries_named_insecure(
    images: Images, tmp_path: os.PathLike[str]
) -> None:
    address = _outward_address()
    with running_registry(os.path.join(os.fspath(tmp_path), "r"), address=address) as registry:
        registry.push_archive(images.archive("debian"), "corp/debian", "1")
        reference = f"registry:{registry.host}/corp/debian:1"
        refused = _hullcheck("sbom", reference, "--no-store")
        allowed = _hullcheck(
            "sbom", reference, "--no-store", env={"HULLCHECK_INSECURE_REGISTRIES": registry.host}
        )
    assert refused.returncode == 2
    assert refused.stderr.startswith(
        f"hullcheck: error: {registry.host}: cannot reach the registry"
    )
    assert refused.stderr.splitlines()[1] == (
        "hint: it does not speak HTTPS: plain HTTP is used only for loopback registries and "
        "those named in HULLCHECK_INSECURE_REGISTRIES"
    )
    assert allowed.returncode == 0, allowed.stderr
    assert "debian" in allowed.stdout
