"""The authorization plugin: a private dockerd started with it and a TLS listener; an exec
made with a client certificate is recorded with that certificate's subject as its actor,
one made on the local socket as the local socket's."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from hullcheck import api
from hullcheck.api import audit as audit_api
from hullcheck.audit.authz import LOCAL
from hullcheck.engine.client import EngineClient
from tests.conftest import Images
from tests.infra.authz import guard
from tests.infra.engine import PrivateEngine, load_archive

pytestmark = pytest.mark.docker


@pytest.fixture
def guarded(tmp_path: Any, builder: PrivateEngine) -> Iterator[dict[str, Any]]:
    """A Docker 20.10 engine asking hullcheck's plugin about every request (the builder is
    started first: this engine's dockerd binary and the images come from there)."""
    with guard(os.fspath(tmp_path), "authz") as guarded_by:
        engine = PrivateEngine(
            "authz",
            extra_args=("--authorization-plugin", guarded_by.name, *guarded_by.tls_listener()),
        )
        engine.start()
        pki = guarded_by.pki
        # (hullcheck's client: the engine's CA wins over a REQUESTS_CA_BUNDLE in the
        # environment)
        remote = EngineClient(
            guarded_by.address, 120, tls=(pki.ca, pki.client_cert, pki.client_key)
        )
        store = guarded_by.store
        try:
            api.add_host(store, api.Host("h1", engine.host, timeout=30))
            yield {"store": store, "engine": engine, "remote": remote, "plugin": guarded_by.plugin}
        finally:
            remote.close()
            engine.stop()


def test_an_exec_is_attributed_to_the_client_certificate_that_made_it(
    guarded: dict[str, Any], images: Images
) -> None:
    store, engine, remote = guarded["store"], guarded["engine"], guarded["remote"]._api
    local = engine.client()
    image = load_archive(local, images.archive("python")).id
    name = f"target-{uuid.uuid4().hex[:8]}"
    target = remote.create_container(image, ["sleep", "infinity"], name=name)["Id"]
    remote.start(target)
    remote.exec_start(remote.exec_create(target, ["sh", "-c", "id -u"])["Id"])
    try:
        local.api.exec_start(local.api.exec_create(target, ["true"])["Id"])
    finally:
        local.close()
    audit_api.watch(store, until=time.time_ns() + 1_000_000_000)

    by_command = {
        r.context.get("command"): r
        for r in store.audit.search(hosts=["h1"], actions=["exec_start"], objects=[name])
    }
    assert by_command["sh -c id -u"].actor == "CN=authz-client"
    assert by_command["true"].actor == LOCAL
    requests = store.audit.search(hosts=["h1"], kinds=["api"])
    made = [r for r in requests if r.context["path"].endswith("/exec")]
    assert [r.actor for r in made] == ["CN=authz-client", LOCAL]
    assert made[0].context["cmd"] == "sh -c id -u" and made[0].context["method"] == "POST"
    created = [r for r in requests if r.context["path"].endswith("/containers/create")]
    assert created[-1].name == name and created[-1].context["authn"] == "TLS"
    (born,) = store.audit.search(hosts=["h1"], actions=["create"], objects=[name])
    assert born.actor == "CN=authz-client"
    assert audit_api.verify_log(store, "h1", audit_api.verifier_key()).intact
    remote.remove_container(target, force=True)
