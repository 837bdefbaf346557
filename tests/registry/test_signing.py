"""``generate-key-pair``, ``sign`` and ``verify`` against a real registry (distribution 2.8,
which has no referrers API: cosign 3's bundles are found through the referrers tag schema)."""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest

from hullcheck.registry.client import OCI_INDEX, RegistryClient, referrers_tag
from hullcheck.registry.credentials import Credentials
from tests.infra.cli import hullcheck
from tests.infra.registry import PASSWORD, USER, Registry, docker_config

pytestmark = pytest.mark.docker  # the test images are built in the builder engine


def _hullcheck(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return hullcheck(*args, env=env, timeout=300, stdin=subprocess.DEVNULL)


def _keys(directory: str, name: str, password: str) -> tuple[str, str]:
    prefix = os.path.join(directory, name)
    made = _hullcheck("generate-key-pair", "--prefix", prefix, env={"COSIGN_PASSWORD": password})
    assert made.returncode == 0, made.stderr
    return f"{prefix}.key", f"{prefix}.pub"


def test_signed_both_ways_verified_by_its_key_and_refused_by_another(
    registry: Registry, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    env = {"DOCKER_CONFIG": docker_config(str(tmp_path / "docker"), registry)}
    key, public = _keys(str(tmp_path), "release", "pass phrase")
    _, stranger = _keys(str(tmp_path), "stranger", "")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    image = f"{registry.host}/corp/python:1"
    for legacy in ([], ["--legacy"]):
        signed = _hullcheck(
            "sign",
            f"registry:{image}",
            "--key",
            key,
            *legacy,
            env={**env, "COSIGN_PASSWORD": "pass phrase"},
        )
        assert signed.returncode == 0, signed.stderr
    verified = _hullcheck("verify", image, "--key", public, "-f", "json", env=env)
    assert verified.returncode == 0, verified.stderr
    document = json.loads(verified.stdout)
    assert document["verified"] is True
    assert sorted((s["kind"], s["result"], s["signer"]) for s in document["signatures"]) == [
        ("bundle", "ok", public),
        ("legacy", "ok", public),
    ]
    # distribution 2.8 has no referrers API: the bundle is listed under the tag schema
    credentials = Credentials(USER, PASSWORD) if registry.auth else None
    with RegistryClient(registry.host, credentials=credentials) as client:
        listed = client.manifest("corp/python", referrers_tag(document["digest"]), (OCI_INDEX,))
    assert [m["artifactType"] for m in listed.document["manifests"]] == [
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    ]
    refused = _hullcheck("verify", image, "--key", stranger, env=env)
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[-1] == (
        f"hullcheck: verify failed: no signature of {registry.host}/corp/python@"
        f"{document['digest']} by the keys given"
    )
    assert refused.stdout.count("signed by none of the keys given") == 2


def test_an_unsigned_image_fails_and_a_wrong_password_is_one_line(
    spoilable: Registry, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    key, public = _keys(str(tmp_path), "k", "right")
    image = f"{spoilable.host}/corp/python:1"
    unsigned = _hullcheck("verify", image, "--key", public)
    assert unsigned.returncode == 1 and "0 signatures" in unsigned.stdout
    wrong = _hullcheck("sign", image, "--key", key, env={"COSIGN_PASSWORD": "wrong"})
    assert wrong.returncode == 2
    assert wrong.stderr.splitlines() == [
        f"hullcheck: error: {key}: wrong password, or the key file was altered"
    ]
    no_password = _hullcheck("sign", image, "--key", key)
    assert no_password.returncode == 2
    assert no_password.stderr.splitlines() == [
        "hullcheck: error: no password for the key",
        "hint: set COSIGN_PASSWORD (empty for none)",
    ]
    again = _hullcheck(
        "generate-key-pair", "--prefix", str(tmp_path / "k"), env={"COSIGN_PASSWORD": ""}
    )
    assert again.returncode == 2 and "exists; refusing to replace a key" in again.stderr


def test_a_signature_moved_to_another_image_or_edited_does_not_verify(
    spoilable: Registry, images, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    spoilable.push_archive(images.archive("debian"), "corp/python", "other")
    key, public = _keys(str(tmp_path), "k", "")
    image = f"{spoilable.host}/corp/python"
    signed = _hullcheck("sign", f"{image}:1", "--key", key, "--legacy", env={"COSIGN_PASSWORD": ""})
    assert signed.returncode == 0, signed.stderr
    with RegistryClient(spoilable.host) as client:
        first = client.manifest("corp/python", "1").digest
        other = client.manifest("corp/python", "other").digest
        sig = client.manifest("corp/python", referrers_tag(first) + ".sig")
        # the signature of :1 copied beside :other
        client.push_manifest(
            "corp/python", referrers_tag(other) + ".sig", sig.data, sig.media_type, "copy"
        )
    moved = _hullcheck("verify", f"{image}:other", "--key", public, "-f", "json")
    assert moved.returncode == 1
    (result,) = json.loads(moved.stdout)["signatures"]
    assert result["result"] == f"signs {first}, another image"
    # the payload blob edited in the registry's storage
    payload = sig.document["layers"][0]["digest"]
    with open(spoilable.blob_file(payload), "r+b") as handle:
        handle.write(b"[")
    edited = _hullcheck("verify", f"{image}:1", "--key", public, "-f", "json")
    assert edited.returncode == 1
    (result,) = json.loads(edited.stdout)["signatures"]
    assert result["result"].endswith("(edited or corrupt)")


def test_review_requires_a_signature_by_a_key_the_policy_names(
    spoilable: Registry, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    key, _ = _keys(str(tmp_path), "release", "")
    policy = tmp_path / "policy.yaml"
    policy.write_text("signatures: {keys: [release.pub]}\nvulnerabilities: {fail-on: none}\n")
    image = f"registry:{spoilable.host}/corp/python:1"
    database = f"sqlite:///{tmp_path / 'hc.db'}"

    def unsigned_violations() -> list[str]:
        answer = _hullcheck(
            "review", image, "--policy", str(policy), "-f", "json", "--db", database
        )
        assert answer.returncode in (0, 1), answer.stderr
        violations = json.loads(answer.stdout)["violations"]
        return [v["message"] for v in violations if v["rule"] == "HC-IM-010"]

    with RegistryClient(spoilable.host) as client:
        digest = client.manifest("corp/python", "1").digest
    assert unsigned_violations() == [f"no signature of {spoilable.host}/corp/python@{digest}"]
    signed = _hullcheck("sign", image, "--key", key, env={"COSIGN_PASSWORD": ""})
    assert signed.returncode == 0, signed.stderr
    assert unsigned_violations() == []
    policy.write_text("signatures: {keys: [missing.pub]}\n")
    broken = _hullcheck("review", image, "--policy", str(policy))
    assert broken.returncode == 2
    assert broken.stderr.splitlines() == [
        f"hullcheck: error: {policy}: signatures.keys: missing.pub: no such file"
    ]
