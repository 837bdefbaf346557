"""Engines hullcheck cannot speak to properly are refused in one line, on every path."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hullcheck import api
from hullcheck.store import Store
from tests.infra.engine import PrivateEngine
from tests.infra.stallproxy import StallProxy

pytestmark = pytest.mark.docker

OLDER = (rb'"ApiVersion":"1\.\d\d"', b'"ApiVersion":"1.40"')
"""The engine's own /version answer, but for API 1.40 (Docker 19.03): no older engine runs
here, so the real one says it is older."""


def test_an_engine_older_than_the_minimum_api_is_named_in_one_line(
    engine: PrivateEngine, store: Store
) -> None:
    relay = StallProxy(engine.socket, stall_on=None, rewrite=OLDER)
    try:
        api.add_host(store, api.Host("old", relay.host, timeout=10))
        api.add_host(store, api.Host("current", engine.host, timeout=10))
        results = {r.host: r for r in api.sync_fleet(store, scan=False)}
        assert results["current"].ok
        assert not results["old"].ok
        assert results["old"].error == (
            f"{relay.host}: the engine speaks Docker API 1.40; hullcheck needs 1.41 or newer "
            "(Docker 20.10, Podman 3)"
        )
        scan = subprocess.run(
            [sys.executable, "-m", "hullcheck", "sbom", "docker:anything:1"],
            env={**os.environ, "DOCKER_HOST": relay.host, "HULLCHECK_DAEMON": "off"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        relay.close()
    assert scan.returncode == 2
    assert scan.stderr.splitlines()[0] == f"hullcheck: error: {results['old'].error}"
