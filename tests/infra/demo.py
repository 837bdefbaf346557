"""`make demo`: a private engine, a test image, its SBOM and its vulnerabilities (embedded SQLite).

The vulnerability database is imported from the real PyPI feed kept in tests/data/vuln (no
network needed); `hullcheck db update` fetches the same from OSV when the network is there.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.infra.engine import PrivateEngine
from tests.infra.images import ImageFactory


def main() -> int:
    engine = PrivateEngine("demo")
    print(f"starting a private Docker Engine on {engine.host} …", flush=True)
    engine.start()
    try:
        client = engine.client()
        print("building the demo image (Debian 12 minbase + 10 PyPI packages) …", flush=True)
        tag = ImageFactory(client).python()
        client.close()
        env = {**os.environ, "DOCKER_HOST": engine.host}
        command = [sys.executable, "-m", "hullcheck", "sbom", tag]
        print(f"$ DOCKER_HOST={engine.host} hullcheck sbom {tag}", flush=True)
        first = subprocess.run(command, env=env, check=False)
        if first.returncode:
            return first.returncode
        print(f"\n$ hullcheck sbom {tag} --format json   # warm: every layer from the cache")
        warm = subprocess.run(
            [*command, "--format", "json"], env=env, check=False, capture_output=True, text=True
        )
        print(f"{len(warm.stdout)} bytes of JSON, exit code {warm.returncode}")
        if warm.returncode:
            return warm.returncode
        feed = os.path.join(os.path.dirname(__file__), "..", "data", "vuln", "feeds")
        feed = os.path.relpath(os.path.join(feed, "PyPI-all.zip"))
        hc = [sys.executable, "-m", "hullcheck"]
        print(f"\n$ hullcheck db import {feed}", flush=True)
        subprocess.run([*hc, "db", "import", feed], env=env, check=True, stderr=subprocess.DEVNULL)
        print(f"\n$ hullcheck scan {tag} --fail-on high", flush=True)
        gate = subprocess.run([*hc, "scan", tag, "--fail-on", "high"], env=env, check=False)
        print(f"exit code {gate.returncode} (1: findings at or above the gate)")
        return 0 if gate.returncode in (0, 1) else gate.returncode
    finally:
        engine.stop()


if __name__ == "__main__":
    sys.exit(main())
