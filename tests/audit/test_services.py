"""The long-running audit commands as a service manager runs them: `audit watch` and
`audit authz` in processes of their own, stopped by SIGTERM (what `systemctl stop` sends)
as by Ctrl-C — what they took is written and the log's end sealed before they exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from hullcheck import api
from hullcheck.api import audit as audit_api
from hullcheck.audit.authz import PLUGINS_DIR
from tests.infra.engine import PrivateEngine, remove_dead_plugins

pytestmark = pytest.mark.docker


def _until(done: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.1)


def _service(args: list[str]) -> subprocess.Popen[str]:
    """hullcheck in a process of its own, with this test's home (its audit key)."""
    return subprocess.Popen(
        [sys.executable, "-m", "hullcheck", *args],
        env={**os.environ, "HULLCHECK_DAEMON": "off"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _terminated(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def test_a_collector_stopped_by_sigterm_writes_and_seals_what_it_took(
    builder: PrivateEngine, tmp_path: Any
) -> None:
    home = os.fspath(tmp_path)
    db = f"sqlite:///{os.path.join(home, 'hc.db')}"
    with api.open_store(db) as store:
        api.add_host(store, api.Host("h1", builder.host, timeout=30))
    watcher = _service(["audit", "watch", "--db", db])
    volume = f"service-{uuid.uuid4().hex[:8]}"
    client = builder.client()
    try:
        with api.open_store(db) as store:
            _until(lambda: store.audit.state("h1") is not None, "the first reconciliation")
            client.volumes.create(volume).remove()
            _until(lambda: bool(store.audit.search(objects=[volume])), "the volume's records")
    finally:
        client.close()
        code, out, err = _terminated(watcher)
    assert code == 0, err
    assert out.strip() == "stopped"
    with api.open_store(db) as store:
        verdict = audit_api.verify_log(store, "h1", audit_api.verifier_key())
        actions = [r.action for r in store.audit.search(objects=[volume])]
    assert actions == ["create", "destroy"]
    # sealed as it stopped: a checkpoint vouches for every record
    assert verdict.intact and verdict.covered == verdict.records > 0


def test_a_plugin_stopped_by_sigterm_seals_its_log_removes_its_socket_and_says_its_cost(
    tmp_path: Any,
) -> None:
    remove_dead_plugins()
    home = os.fspath(tmp_path)
    db = f"sqlite:///{os.path.join(home, 'hc.db')}"
    name = f"hc-authz-{uuid.uuid4().hex[:8]}"
    plugin = _service(["audit", "authz", "--host", "h1", "--socket-name", name, "--db", db])
    socket = os.path.join(PLUGINS_DIR, f"{name}.sock")
    engine = PrivateEngine("service-guarded", extra_args=("--authorization-plugin", name))
    try:
        _until(lambda: os.path.exists(socket), "the plugin's socket")
        engine.start()
        client = engine.client()
        try:
            client.volumes.create(f"guarded-{uuid.uuid4().hex[:8]}").remove()
        finally:
            client.close()
    finally:
        engine.stop()
        code, out, err = _terminated(plugin)
    assert code == 0, err
    assert not os.path.exists(socket)
    said = out.splitlines()[-1]
    assert said.startswith("answered ") and " from asked to answered" in said, out
    with api.open_store(db) as store:
        verdict = audit_api.verify_log(store, "h1", audit_api.verifier_key())
        paths = [r.context["path"] for r in store.audit.search(hosts=["h1"], kinds=["api"])]
    assert any(path.endswith("/volumes/create") for path in paths), paths
    assert verdict.intact and verdict.covered == verdict.records > 0
