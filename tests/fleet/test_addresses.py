"""Engine addresses (finding 6 of the security review): no password is ever stored, shown
or repeated; addresses that cannot work are refused when added; TLS files are kept by
absolute path and a key others can read is named."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from hullcheck import api
from hullcheck.errors import UsageError
from hullcheck.model import Host
from hullcheck.store import Store
from tests.infra.cli import hullcheck


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:  # type: ignore[no-untyped-def]
    opened = api.open_store(f"sqlite:///{tmp_path}/hc.db")
    yield opened
    opened.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_password_in_the_address_is_refused_and_never_echoed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path}/cli.db"
    added = hullcheck("hosts", "add", "prod", "tcp://admin:hunter2@127.0.0.1:2376", "--db", db)
    assert added.returncode == 2
    assert "hunter2" not in added.stdout + added.stderr
    assert "tcp://admin:***@127.0.0.1:2376" in added.stderr and "--tls-cert" in added.stderr
    listed = hullcheck("hosts", "list", "--db", db)
    assert "prod" not in listed.stdout


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://", "names no host"),
        ("tcp://", "names no host"),
        ("tcp://:2376", "names no host"),
        ("tcp://10.0.0.5:99999", "not an engine address"),
        ("tcp://admin@10.0.0.5:2376", "ssh:// addresses only"),
        ("tcp://10.0.0.5:2376/v1.41/containers", "no path or query"),
        ("unix://var/run/docker.sock", "unix:///ABSOLUTE/PATH"),
        ("ftp://10.0.0.5", "not an engine address"),
        ("ssh://deploy:secret@10.0.0.5", "a password in the address"),
    ],
)
def test_addresses_that_cannot_work_are_refused(store: Store, url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as refused:
        api.add_host(store, Host("h", url))
    assert "secret" not in str(refused.value)
    assert store.hosts.named() == []


def test_tls_paths_are_stored_absolute_and_an_open_key_is_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("-----BEGIN CERTIFICATE-----\n")
    os.chmod(tmp_path / "key.pem", 0o644)
    db = f"sqlite:///{tmp_path}/cli.db"
    added = hullcheck(
        "hosts",
        "add",
        "prod",
        "tcp://127.0.0.1:2376",
        "--tls-ca",
        "ca.pem",
        "--tls-cert",
        "cert.pem",
        "--tls-key",
        "key.pem",
        "--db",
        db,
        cwd=str(tmp_path),
    )
    assert added.returncode == 0, added.stderr
    assert f"{tmp_path}/key.pem: the TLS key of prod is open to other users" in added.stderr
    store = api.open_store(db)
    try:
        (host,) = store.hosts.named()
    finally:
        store.close()
    assert (host.tls_ca, host.tls_cert, host.tls_key) == tuple(
        f"{tmp_path}/{name}" for name in ("ca.pem", "cert.pem", "key.pem")
    )


def test_a_password_stored_before_is_never_shown_nor_repeated_in_errors(
    store: Store, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    url = f"tcp://admin:hunter2@127.0.0.1:{_closed_port()}"
    store.hosts.add(Host("old", url, timeout=5))  # as an older hullcheck stored it
    (result,) = api.sync_fleet(store, scan=False)
    assert not result.ok and result.error and "127.0.0.1" in result.error
    assert "hunter2" not in result.error
    (status,) = store.hosts.status()
    assert status.last_error and "hunter2" not in status.last_error
    listed = hullcheck("hosts", "list", "--db", store.url)
    assert listed.returncode == 0
    assert "hunter2" not in listed.stdout and "admin:***@" in listed.stdout
