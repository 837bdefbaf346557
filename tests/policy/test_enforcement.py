"""The policy at the engine: a private dockerd asks hullcheck's plugin about every request;
`docker run --privileged` is refused with the rule's id in what the docker client prints, a
compliant run goes ahead, and both decisions are records of the host's audit log."""

from __future__ import annotations

import os
import subprocess
import uuid
from typing import Any

import pytest

from hullcheck.api import audit as audit_api
from hullcheck.audit.authz import Plugin
from tests.conftest import Images
from tests.infra.authz import guard, signed_guard
from tests.infra.engine import PrivateEngine, load_archive

pytestmark = pytest.mark.docker


def _docker(engine: PrivateEngine, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "-H", engine.host, *args], capture_output=True, text=True, timeout=120
    )


def test_a_privileged_run_is_refused_with_the_rule_and_a_compliant_one_runs(
    tmp_path: Any, builder: PrivateEngine, images: Images
) -> None:
    policy = os.path.join(os.fspath(tmp_path), "policy.yaml")
    with open(policy, "w") as handle:
        handle.write("fail-on: high\nregistries: [docker.io]\n")
    with guard(os.fspath(tmp_path), "enforce", policy=policy) as guarded_by:
        engine = PrivateEngine("enforce", extra_args=("--authorization-plugin", guarded_by.name))
        engine.start()
        try:
            local = engine.client()
            try:
                image = load_archive(local, images.archive("debian")).tags[0]
            finally:
                local.close()
            name = f"enforced-{uuid.uuid4().hex[:8]}"
            refused = _docker(engine, "run", "-d", "--privileged", "--name", name, image, "true")
            assert refused.returncode != 0
            assert "authorization denied by plugin" in refused.stderr
            assert "HC-RT-001 runs privileged" in refused.stderr, refused.stderr
            socket = _docker(
                engine, "create", "-v", "/var/run/docker.sock:/var/run/docker.sock", image
            )
            assert "HC-RT-007" in socket.stderr, socket.stderr
            allowed = _docker(engine, "run", "--network", "none", "--name", name, image, "true")
            assert allowed.returncode == 0, allowed.stderr
            sleeper = f"{name}-sleeps"
            started = _docker(
                engine, "run", "-d", "--network", "none", "--name", sleeper, image, "sleep", "60"
            )
            assert started.returncode == 0, started.stderr
            privileged = _docker(engine, "exec", "--privileged", sleeper, "true")
            assert privileged.returncode != 0
            assert "HC-RT-001 runs privileged" in privileged.stderr, privileged.stderr
            plain = _docker(engine, "exec", sleeper, "true")
            assert plain.returncode == 0, plain.stderr
        finally:
            engine.stop()
        creates = [
            r
            for r in guarded_by.store.audit.search(hosts=["h1"])
            if r.context.get("path", "").endswith("/containers/create")
        ]
        decisions = [(r.context.get("decision"), r.context.get("rules")) for r in creates]
        assert decisions == [
            ("denied", ["HC-RT-001"]),
            ("denied", ["HC-RT-007"]),
            ("allowed", []),
            ("allowed", []),  # the container the execs run in
        ]
        assert [r.name for r in creates][::2] == [name, name]
        execs = [
            r.context.get("decision")
            for r in guarded_by.store.audit.search(hosts=["h1"])
            if r.context.get("path", "").endswith("/exec")
        ]
        assert execs == ["denied", "allowed"]
        assert audit_api.verify_log(guarded_by.store, "h1", audit_api.verifier_key()).intact


@pytest.mark.parametrize(("on_error", "allowed"), [("deny", False), ("allow", True)])
def test_a_policy_that_cannot_be_applied_fails_as_the_policy_says(
    tmp_path: Any, on_error: str, allowed: bool
) -> None:
    def broken(_: Any) -> Any:
        raise ValueError("the rules could not read this request")

    plugin = Plugin(
        "hc-test", "h1", lambda _: None, os.fspath(tmp_path), decide=broken,
        fail_closed=on_error == "deny",
    )  # fmt: skip
    try:  # (closed without having served: it must not wait for a loop that never ran)
        verdict = plugin.server.judge({"RequestMethod": "POST", "RequestUri": "/containers/create"})
    finally:
        plugin.close()
    assert verdict is not None and verdict[0] is allowed
    state = "closed" if on_error == "deny" else "open"
    assert verdict[1] == f"hullcheck policy failed {state}: the rules could not read this request"


def test_an_image_not_signed_by_the_policys_key_is_refused_at_the_engine(
    tmp_path: Any, images: Images
) -> None:
    policy = "signatures: {keys: [release.pub]}\nvulnerabilities: {fail-on: none}\n"
    with signed_guard(os.fspath(tmp_path), images.archive("debian"), "enforce-signed", policy) as (
        registry,
        signed,
        _,
        engine,
    ):
        unsigned = registry.push_archive(images.archive("alpine"), "corp/alpine", "1")
        for pulled in (signed, unsigned):  # the engine records their registry digests
            assert _docker(engine, "pull", "-q", pulled).returncode == 0
        local = engine.client()
        try:
            built_here = load_archive(local, images.archive("python")).tags[0]
        finally:
            local.close()
        runs = {
            image: _docker(engine, "run", "--rm", "--network", "none", image, "true")
            for image in (signed, unsigned, built_here)
        }
        again = _docker(engine, "run", "--rm", "--network", "none", signed, "true")
        # the plugin keeps what a name stands for, until a request may change it: the signed
        # name moved onto the unsigned image is judged anew
        retagged = _docker(engine, "tag", unsigned, signed)
        moved = _docker(engine, "run", "--rm", "--network", "none", signed, "true")
    assert retagged.returncode == 0, retagged.stderr
    assert moved.returncode != 0 and "HC-IM-010 no signature of " in moved.stderr, moved.stderr
    assert runs[signed].returncode == 0, runs[signed].stderr
    assert again.returncode == 0, again.stderr
    assert runs[unsigned].returncode != 0
    assert "HC-IM-010 no signature of " + unsigned.rsplit(":", 1)[0] in runs[unsigned].stderr
    assert runs[built_here].returncode != 0
    assert "HC-IM-010 no registry digest to find its signatures by" in runs[built_here].stderr
