"""`make demo`: a private engine, a test image, and hullcheck's SBOM of it (embedded SQLite)."""

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
        return warm.returncode
    finally:
        engine.stop()


if __name__ == "__main__":
    sys.exit(main())
