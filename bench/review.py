"""`make bench`: the review gate.

Targets (issue 19): ``review`` of the Python test image (SBOM + vulnerabilities + every rule)
under 1 s cold and 0.2 s warm; ``cis`` on an engine with 200 containers under 5 s.

- review, cold: in this process, a store holding only the vulnerability database (the real
  PyPI feed), no layer cached; warm: the same review again (the SBOM from the store).
- review as a user runs it: a whole ``hullcheck review`` process (interpreter start
  included), cold and warm, and warm through the daemon.
- cis: the engine's info, every running container inspected and checked, their images by
  the rules that need no layer; median of 3.
- the plugin: container creates through a real dockerd without a plugin and with hullcheck's
  plugin judging each by the policy and recording it in the audit log; p50 and p99 of 200.
"""

from __future__ import annotations

import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from tests.infra.authz import guard, signed_guard
from tests.infra.engine import PrivateEngine, kill_running, load_archive
from tests.infra.images import ImageFactory
from tests.infra.vulndata import vuln_path

from bench.fleet import fill, median_time
from bench.sbom import machine
from hullcheck import api
from hullcheck.api import review as review_api

CONTAINERS = int(os.environ.get("BENCH_REVIEW_CONTAINERS", "200"))
LATENCY_CREATES = 200
TURNS = 3


def _process(args: list[str], home: str, daemon: bool = False) -> float:
    env = {**os.environ, "HULLCHECK_HOME": home}
    if not daemon:
        env["HULLCHECK_DAEMON"] = "off"
    else:
        env.pop("HULLCHECK_DAEMON", None)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "hullcheck", *args], env=env, capture_output=True, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"bench: hullcheck {' '.join(args)} failed: {done.stderr.decode()}")
    return elapsed


def _reviews(archive: str, work: str) -> dict[str, float]:
    seed = os.path.join(work, "seed")
    with api.open_store(f"sqlite:///{seed}.db") as store:
        api.import_vulnerabilities(store, vuln_path("feeds", "PyPI-all.zip"))
    reference = f"docker-archive:{archive}"
    colds, warms = [], []
    for turn in range(TURNS):
        copy = os.path.join(work, f"turn-{turn}.db")
        shutil.copy(f"{seed}.db", copy)
        with api.open_store(f"sqlite:///{copy}") as store:
            start = time.perf_counter()
            review_api.review(reference, store=store)
            colds.append(time.perf_counter() - start)
            start = time.perf_counter()
            review_api.review(reference, store=store)
            warms.append(time.perf_counter() - start)
    homes = []
    process_cold, process_warm = [], []
    for turn in range(TURNS):
        home = os.path.join(work, f"home-{turn}")
        homes.append(home)
        os.makedirs(home)
        db = os.path.join(home, "hullcheck.db")
        shutil.copy(f"{seed}.db", db)
        args = ["review", reference, "--db", f"sqlite:///{db}"]
        process_cold.append(_process(args, home))
        process_warm.append(_process(args, home))
    home = homes[0]
    db_args = ["--db", f"sqlite:///{os.path.join(home, 'hullcheck.db')}"]
    control = {**os.environ, "HULLCHECK_HOME": home}
    subprocess.run([sys.executable, "-m", "hullcheck", "daemon", "start"], env=control, check=True)
    try:
        _process(["review", reference, *db_args], home, daemon=True)  # the daemon warms
        served = [_process(["review", reference, *db_args], home, daemon=True) for _ in range(5)]
    finally:
        subprocess.run(
            [sys.executable, "-m", "hullcheck", "daemon", "stop"], env=control, check=True
        )
    return {
        "cold": statistics.median(colds),
        "warm": statistics.median(warms),
        "process cold": statistics.median(process_cold),
        "process warm": statistics.median(process_warm),
        "served": statistics.median(served),
    }


def _create_latency(engine: PrivateEngine, image: str, count: int) -> list[float]:
    """Seconds each of ``count`` container creates takes through the engine's API (the
    containers removed after)."""
    client = engine.client()
    made, times = [], []
    try:
        for index in range(count):
            start = time.perf_counter()
            made.append(client.api.create_container(image, ["true"], name=f"lat-{index}")["Id"])
            times.append(time.perf_counter() - start)
    finally:
        for container in made:
            client.api.remove_container(container, force=True)
        client.close()
    return times


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _plugin_latency(tag: str, archive: str, work: str) -> dict[str, float]:
    """Container creates on an engine without a plugin and on one asking hullcheck's plugin
    with a policy (every create judged and recorded): the plugin's cost is the difference."""
    policy = os.path.join(work, "policy.yaml")
    with open(policy, "w") as handle:
        handle.write("fail-on: high\n")
    found: dict[str, float] = {}
    with guard(work, "bench", policy=policy) as guarded_by:
        for label, extra in (
            ("plain", ()),
            ("plugin", ("--authorization-plugin", guarded_by.name)),
        ):
            engine = PrivateEngine(f"bench-authz-{label}", extra_args=extra)
            engine.start()
            try:
                client = engine.client()
                try:
                    load_archive(client, archive)
                finally:
                    client.close()
                _create_latency(engine, tag, 10)  # warm
                times = _create_latency(engine, tag, LATENCY_CREATES)
                found[f"{label} p50"] = _percentile(times, 0.5)
                found[f"{label} p99"] = _percentile(times, 0.99)
            finally:
                engine.stop()
    return found


def _signed_latency(archive: str, work: str) -> dict[str, float]:
    """Creates of a signed image pulled from a loopback registry, on an engine whose plugin
    requires a signature by the policy's key: the first create asks the registry, every
    later one is answered from the plugin's verdict for that image (what is measured)."""
    directory = os.path.join(work, "signed")
    os.makedirs(directory)
    policy = "fail-on: high\nsignatures: {keys: [release.pub]}\n"
    with signed_guard(directory, archive, "bench-authz-signed", policy) as (_, image, _, engine):
        client = engine.client()
        try:
            client.images.pull(image)
        finally:
            client.close()
        _create_latency(engine, image, 10)  # warm: the verdict is made here
        times = _create_latency(engine, image, LATENCY_CREATES)
    return {"signed p50": _percentile(times, 0.5), "signed p99": _percentile(times, 0.99)}


def main() -> int:
    engine = PrivateEngine("bench-review")
    engine.start()
    work = tempfile.mkdtemp(prefix="hc-bench-review-")
    try:
        factory = ImageFactory(engine.client())
        archive = factory.save(factory.python())
        reviews = _reviews(archive, work)
        fill(engine, factory.debian(), CONTAINERS)
        host = api.Host("bench", engine.host, timeout=120)
        cis = median_time(lambda: review_api.cis(host), TURNS)
        found = review_api.cis(host)
        debian = factory.debian()
        latency = _plugin_latency(debian, factory.save(debian), work)
        latency.update(_signed_latency(factory.save(debian), work))
    finally:
        client = engine.client()
        try:
            kill_running(client)
        finally:
            client.close()
        engine.stop()
        shutil.rmtree(work, ignore_errors=True)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nReview gate benchmark · {now} · {machine()}\n")
    print(f"(median of {TURNS} runs; the daemon: of 5)\n")
    print("| task | time | target |")
    print("|---|---|---|")
    print(f"| review, Python test image, cold (in process) | {reviews['cold']:.2f} s | < 1 s |")
    print(f"| review, warm (in process) | {reviews['warm']:.3f} s | < 0.2 s |")
    print(f"| `hullcheck review`, cold (process) | {reviews['process cold']:.2f} s | — |")
    print(f"| `hullcheck review`, warm (process) | {reviews['process warm']:.2f} s | — |")
    print(f"| `hullcheck review`, warm, served by the daemon | {reviews['served']:.3f} s | — |")
    print(
        f"| cis, {CONTAINERS} running containers ({len(found.violations)} violations) "
        f"| {cis:.2f} s | < 5 s |"
    )
    added = (latency["plugin p99"] - latency["plain p99"]) * 1000
    print(
        f"| container create, p50 / p99, no plugin ({LATENCY_CREATES} creates) "
        f"| {latency['plain p50'] * 1000:.1f} / {latency['plain p99'] * 1000:.1f} ms | — |"
    )
    print(
        f"| container create, p50 / p99, hullcheck's plugin judging and recording each "
        f"| {latency['plugin p50'] * 1000:.1f} / {latency['plugin p99'] * 1000:.1f} ms "
        f"| p99 + < 5 ms (here {added:+.1f} ms) |"
    )
    signed = (latency["signed p99"] - latency["plain p99"]) * 1000
    print(
        f"| container create, p50 / p99, the plugin requiring a signature (verdict kept) "
        f"| {latency['signed p50'] * 1000:.1f} / {latency['signed p99'] * 1000:.1f} ms "
        f"| p99 + < 5 ms (here {signed:+.1f} ms) |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
