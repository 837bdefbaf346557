"""hullcheck's authorization plugin started for a private dockerd, with a TLS listener's
files: what the audit and review tests that need a guarded engine share."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from hullcheck import api
from hullcheck.api import audit as audit_api
from hullcheck.api import signing as signing_api
from hullcheck.store import Store
from tests.infra.engine import PrivateEngine, free_port, remove_dead_plugins
from tests.infra.registry import Registry, running_registry
from tests.infra.tlscerts import Pki, make_pki


@dataclass
class Guard:
    store: Store
    """Where the plugin records (host ``h1``)."""
    plugin: Any
    name: str
    """The plugin's name, as dockerd's --authorization-plugin takes it."""
    pki: Pki
    port: int
    """A free loopback port for the engine's TLS listener."""

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def tls_listener(self) -> tuple[str, ...]:
        """dockerd's arguments for a TLS listener on ``address`` that wants client
        certificates."""
        pki = self.pki
        return (
            "-H", self.address,
            "--tlsverify", "--tlscacert", pki.ca,
            "--tlscert", pki.server_cert, "--tlskey", pki.server_key,
        )  # fmt: skip


@contextmanager
def guard(
    directory: str, label: str, policy: str | None = None, engine_host: str | None = None
) -> Iterator[Guard]:
    """The plugin serving (its store in ``directory``; with ``policy``, denying what it
    fails), a PKI and a port; closed after. With ``engine_host``, ``h1`` is a configured host
    at that address (the plugin looks images up there)."""
    remove_dead_plugins()
    pki = make_pki(os.path.join(directory, "pki"), label)
    store = api.open_store(f"sqlite:///{os.path.join(directory, 'hc.db')}")
    if engine_host is not None:
        api.add_host(store, api.Host("h1", engine_host, timeout=30))
    name = f"hc-authz-{uuid.uuid4().hex[:8]}"
    plugin = audit_api.authz_plugin(store, name, "h1", policy=policy)
    plugin.start()
    try:
        yield Guard(store, plugin, name, pki, free_port())
    finally:
        plugin.close()
        store.close()


@contextmanager
def signed_guard(
    directory: str, archive: str, name: str, policy_text: str
) -> Iterator[tuple[Registry, str, Guard, PrivateEngine]]:
    """A loopback registry holding ``archive`` as ``corp/debian:1`` signed by the key
    ``release.pub`` beside the policy (``policy_text`` names it), the plugin guarding a new
    engine ``name`` (its own, empty data root; ``h1`` configured at its address) with that
    policy: the engine is started, and stopped after."""
    with running_registry(os.path.join(directory, "registry")) as registry:
        image = registry.push_archive(archive, "corp/debian", "1")
        key, _ = signing_api.generate_key_pair(os.path.join(directory, "release"), b"")
        signing_api.sign_image(image, key, b"")
        policy = os.path.join(directory, "policy.yaml")
        with open(policy, "w") as handle:
            handle.write(policy_text)
        engine = PrivateEngine(name, own_data_root=True)
        shutil.rmtree(engine.data_root, ignore_errors=True)  # images an earlier run pulled
        with guard(directory, name, policy=policy, engine_host=engine.host) as guarded_by:
            engine.extra_args = ("--authorization-plugin", guarded_by.name)
            engine.start()
            try:
                yield registry, image, guarded_by, engine
            finally:
                engine.stop()
