"""Spooled engine exports (finding 8 of the security review): one left by a process killed
in the middle of a sync is removed by the next export; one a live process reads stays."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time

import pytest

from hullcheck.api import generate_sbom
from hullcheck.paths import spool_dir
from tests.conftest import Images
from tests.infra.engine import PrivateEngine

pytestmark = pytest.mark.docker

OLD = time.time() - 3600


def test_an_export_left_by_a_killed_process_is_swept_and_a_live_one_kept(
    images: Images, engine: PrivateEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", engine.host)
    tag = images.on(engine, "python")
    # a real death: a scan killed with SIGKILL while the engine's export is being spooled
    scan = subprocess.Popen(
        [sys.executable, "-m", "hullcheck", "sbom", f"docker:{tag}", "--no-cache", "-q"],
        env={**os.environ, "HULLCHECK_DAEMON": "off"},
        stdout=subprocess.DEVNULL,
    )
    directory = spool_dir()
    deadline = time.monotonic() + 60
    while not os.listdir(directory) and time.monotonic() < deadline:
        time.sleep(0.01)
    scan.send_signal(signal.SIGKILL)
    scan.wait()
    (dead,) = os.listdir(directory)
    os.utime(os.path.join(directory, dead), (OLD, OLD))  # past the grace a fresh export has
    live = os.path.join(directory, "export-live.tar")
    with open(live, "wb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # as a running scan holds its own
        os.utime(live, (OLD, OLD))
        assert generate_sbom(f"docker:{tag}", store=None).packages
        assert os.listdir(directory) == ["export-live.tar"]
