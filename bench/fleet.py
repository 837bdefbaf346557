"""`make bench`, part 3: `fleet sync` of one real engine with many running containers.

Starts a private engine, runs N small containers (`sleep infinity` in the Debian test image,
no network), then times: the engine's own API (list + inspect of every container, images,
volumes, networks — the floor any sync pays), a cold sync into an empty SQLite store (with
the image scanned once), and an incremental sync. Targets (issue 4): cold < 30 s and
incremental < 5 s for 500 containers.
"""

from __future__ import annotations

import datetime
import os
import statistics
import sys
import tempfile
import time

import docker
from tests.infra.engine import PrivateEngine, kill_running, run_idle
from tests.infra.images import ImageFactory

from bench.sbom import machine
from hullcheck import api
from hullcheck.engine import EngineClient

CONTAINERS = int(os.environ.get("BENCH_CONTAINERS", "500"))
TURNS = 3
"""Timings but the cold sync are the median of this many runs (the machine is shared)."""
SETTLE = 10
"""Seconds the engine is left alone after starting the containers, before any timing."""


def median_time(action: object, turns: int = 1) -> float:
    """Median wall time of ``turns`` runs of ``action``."""
    times = []
    for _ in range(turns):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _kill_containers(engine: PrivateEngine) -> None:
    """Kill the containers before the engine stops (see ``kill_running``); the next run
    restarts them."""
    client = engine.client()
    try:
        kill_running(client)
    except docker.errors.DockerException as exc:
        print(f"bench: could not kill the containers: {exc}", file=sys.stderr)
    finally:
        client.close()


def fill(engine: PrivateEngine, tag: str, count: int) -> None:
    """``count`` idle containers running in ``engine`` (``bench-N``: those an earlier run left
    are started again)."""
    client = engine.client()
    try:
        present = [c for c in client.containers.list(all=True) if c.name.startswith("bench-")]
        for index in range(len(present), count):
            run_idle(client, tag, f"bench-{index}")
        for container in client.containers.list(all=True, filters={"status": "exited"}):
            try:
                container.start()
            except docker.errors.APIError:  # a task an interrupted run left in containerd
                name = container.name
                container.remove(force=True)
                run_idle(client, tag, name)
    finally:
        client.close()


def main() -> int:
    engine = PrivateEngine("bench-fleet")
    engine.start()
    try:
        client = engine.client()
        tag = ImageFactory(client).debian()
        client.close()
        fill(engine, tag, CONTAINERS)
        time.sleep(SETTLE)
        raw = EngineClient(engine.host, 120)
        engine_api = median_time(
            lambda: (raw.containers(), raw.images(), raw.volumes(), raw.networks()), TURNS
        )
        running = [c["Id"] for c in raw.list_containers() if c.get("State") == "running"]
        engine_stats = median_time(lambda: raw.stats(running), TURNS)
        raw.close()
        work = tempfile.mkdtemp(prefix="hc-bench-fleet-")
        store = api.open_store(f"sqlite:///{work}/fleet.db")
        api.add_host(store, api.Host("bench", engine.host, timeout=120))
        cold = median_time(lambda: api.sync_fleet(store))
        incremental = median_time(lambda: api.sync_fleet(store), TURNS)
        no_samples = median_time(lambda: api.sync_fleet(store, samples=False), TURNS)
        store.close()
    finally:
        _kill_containers(engine)
        engine.stop()
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nFleet sync benchmark · {now} · {machine()}\n")
    print(f"(median of {TURNS} runs but the cold sync)\n")
    print("| task | containers | time | target |")
    print("|---|---|---|---|")
    print(f"| engine API alone (list + inspect all) | {CONTAINERS} | {engine_api:.1f} s | — |")
    print(
        f"| engine API alone (one-shot stats of every running container) | {len(running)} "
        f"| {engine_stats:.1f} s | — |"
    )
    print(f"| fleet sync, cold (incl. one image scan) | {CONTAINERS} | {cold:.1f} s | < 30 s |")
    print(f"| fleet sync, incremental | {CONTAINERS} | {incremental:.1f} s | < 5 s |")
    print(f"| fleet sync, incremental, --no-samples | {CONTAINERS} | {no_samples:.1f} s | — |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
