"""Hosts that misbehave: TLS (accepted with the right client certificate, refused with
another CA's), ssh (through a private OpenSSH server: in with the authorised key, refused
for another user), and an engine that stops answering in the middle of a sync."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from hullcheck import api
from hullcheck.store import Store
from tests.conftest import Images
from tests.infra.engine import KINDS, PrivateEngine, load_archive, run_idle
from tests.infra.fleet import engine_name
from tests.infra.sshd import PrivateSshd
from tests.infra.stallproxy import StallProxy
from tests.infra.tlscerts import Pki, make_pki

pytestmark = pytest.mark.docker


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


NO_TLS = "podman system service listens on a unix socket or plain TCP, never with TLS"


@pytest.fixture(scope="module")
def tls_engine(
    tmp_path_factory: pytest.TempPathFactory, images: Images, engine_kind: str
) -> Iterator[tuple[PrivateEngine, str, Pki, Pki]]:
    """An engine of the kind under test listening on its unix socket and (Docker) on tcp
    with ``--tlsverify``, one container running; plus the PKI it trusts and a second, foreign
    PKI."""
    directory = os.fspath(tmp_path_factory.mktemp("pki"))
    trusted, foreign = make_pki(directory, "trusted"), make_pki(directory, "foreign")
    port = _free_port()
    tls = (
        "-H",
        f"tcp://127.0.0.1:{port}",
        "--tlsverify",
        "--tlscacert",
        trusted.ca,
        "--tlscert",
        trusted.server_cert,
        "--tlskey",
        trusted.server_key,
    )
    engine = PrivateEngine(
        engine_name("tls", engine_kind),
        extra_args=() if KINDS[engine_kind].program == "podman" else tls,
        kind=engine_kind,
    )
    engine.start()
    try:
        client = engine.client()
        for container in client.containers.list(all=True):
            container.remove(force=True)
        run_idle(client, load_archive(client, images.archive("python")).id, "app")
        client.close()
        yield engine, f"tcp://127.0.0.1:{port}", trusted, foreign
    finally:
        engine.stop()


@pytest.mark.not_on("podman5", reason=NO_TLS)
def test_tls_host_syncs_with_its_client_certificate_and_refuses_a_foreign_one(
    store: Store, tls_engine: tuple[PrivateEngine, str, Pki, Pki]
) -> None:
    engine, url, trusted, foreign = tls_engine
    api.add_host(
        store,
        api.Host("secure", url, trusted.ca, trusted.client_cert, trusted.client_key, timeout=10),
    )
    # a client certificate from another CA: the engine refuses the handshake
    api.add_host(
        store,
        api.Host("impostor", url, trusted.ca, foreign.client_cert, foreign.client_key, timeout=10),
    )
    # the engine's certificate checked against the wrong CA: hullcheck refuses the engine
    api.add_host(
        store,
        api.Host(
            "unverified", url, foreign.ca, trusted.client_cert, trusted.client_key, timeout=10
        ),
    )
    # plain HTTP to a TLS port
    api.add_host(store, api.Host("plain", url, timeout=10))
    api.add_host(store, api.Host("local", engine.host, timeout=10))
    results = {r.host: r for r in api.sync_fleet(store, scan=False)}
    assert results["secure"].ok and results["secure"].containers == 1
    assert results["secure"].samples == 1
    assert results["local"].ok and results["local"].containers == 1
    for name in ("impostor", "unverified", "plain"):
        assert not results[name].ok, name
        assert results[name].error and url in results[name].error, results[name].error
    assert "certificate" in (results["unverified"].error or "").lower()
    status = {s.host.name: s for s in store.hosts.status()}
    assert status["impostor"].last_error and status["impostor"].synced_at is None
    assert status["secure"].counts["container"] == 1


@pytest.fixture(scope="module")
def sshd(
    tmp_path_factory: pytest.TempPathFactory, tls_engine: tuple[PrivateEngine, str, Pki, Pki]
) -> Iterator[PrivateSshd]:
    server = PrivateSshd(os.fspath(tmp_path_factory.mktemp("sshd")), tls_engine[0].socket)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_ssh_host_syncs_and_a_refused_login_is_that_host_s_error(
    store: Store,
    sshd: PrivateSshd,
    tls_engine: tuple[PrivateEngine, str, Pki, Pki],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``ssh://`` hosts run ``docker system dial-stdio`` on the far side, as the docker CLI
    does, with the user's ``~/.ssh`` (config, key, known hosts); a login the server refuses
    and a host key nobody knows fail those hosts only."""
    monkeypatch.setenv("HOME", sshd.home)
    engine = tls_engine[0]
    api.add_host(store, api.Host("over-ssh", sshd.url(), timeout=20))
    api.add_host(store, api.Host("refused", sshd.url("nobody"), timeout=20))
    # the same server under another name: its host key is not in known_hosts for that name
    api.add_host(
        store, api.Host("unknown", sshd.url().replace("127.0.0.1", "localhost"), timeout=20)
    )
    api.add_host(store, api.Host("local", engine.host, timeout=10))
    results = {r.host: r for r in api.sync_fleet(store, scan=False)}
    assert results["over-ssh"].ok, results["over-ssh"].error
    assert results["over-ssh"].containers == 1 and results["over-ssh"].samples == 1
    assert results["local"].ok and results["local"].containers == 1
    assert not results["refused"].ok
    assert sshd.url("nobody") in (results["refused"].error or "")
    assert "Authentication failed" in (results["refused"].error or "")
    assert not results["unknown"].ok
    assert "not found in known_hosts" in (results["unknown"].error or ""), results["unknown"].error
    ssh_seen = store.fleet.objects("container", host="over-ssh")
    local_seen = store.fleet.objects("container", host="local")
    assert [s.object_id for _, s, _ in ssh_seen] == [s.object_id for _, s, _ in local_seen]


@pytest.mark.not_on("podman5", reason=NO_TLS)
def test_tls_files_are_checked_when_the_host_is_added(
    store: Store, tls_engine: tuple[PrivateEngine, str, Pki, Pki], tmp_path: os.PathLike[str]
) -> None:
    _, url, trusted, _ = tls_engine
    from hullcheck.errors import UsageError

    missing = os.path.join(os.fspath(tmp_path), "nope.pem")
    with pytest.raises(UsageError, match="nope.pem: no such file"):
        api.add_host(store, api.Host("x", url, trusted.ca, missing, trusted.client_key))
    with pytest.raises(UsageError, match="TLS needs --tls-ca, --tls-cert and --tls-key"):
        api.add_host(store, api.Host("y", url, trusted.ca, None, None))


def test_a_host_that_hangs_mid_sync_times_out_and_keeps_what_was_stored(
    store: Store, tls_engine: tuple[PrivateEngine, str, Pki, Pki]
) -> None:
    """Through a relay that, on the second sync, answers the container listing and inspects
    and then swallows the image listing: that host fails after its timeout, the other host
    syncs, and what the first sync stored for it stays."""
    engine, _, _, _ = tls_engine
    relay = StallProxy(engine.socket, stall_on=None)
    try:
        api.add_host(store, api.Host("flaky", relay.host, timeout=3))
        api.add_host(store, api.Host("steady", engine.host, timeout=3))
        first = {r.host: r for r in api.sync_fleet(store, scan=False)}
        assert first["flaky"].ok and first["flaky"].containers == 1
        before = store.fleet.objects("container", host="flaky")
        relay.stall_on = b"/images/json"
        results = {r.host: r for r in api.sync_fleet(store, scan=False)}
        assert relay.stalled.is_set()  # it hung after answering the containers
        assert not results["flaky"].ok
        assert "timed out" in (results["flaky"].error or "")
        assert relay.host in (results["flaky"].error or "")
        assert results["steady"].ok and results["steady"].containers == 1
        after = store.fleet.objects("container", host="flaky")
        assert [s.object_id for _, s, _ in after] == [s.object_id for _, s, _ in before]
        status = {s.host.name: s for s in store.hosts.status()}
        assert status["flaky"].last_error == results["flaky"].error
        networks = len(engine.spec.networks)
        assert status["flaky"].counts == {"container": 1, "image": 1, "network": networks}
    finally:
        relay.close()
