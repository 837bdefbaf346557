"""`make bench`: the review gate.

Targets (issue 19): ``review`` of the Python test image (SBOM + vulnerabilities + every rule)
under 1 s cold and 0.2 s warm; ``cis`` on an engine with 200 containers under 5 s.

- review, cold: in this process, a store holding only the vulnerability database (the real
  PyPI feed), no layer cached; warm: the same review again (the SBOM from the store).
- review as a user runs it: a whole ``hullcheck review`` process (interpreter start
  included), cold and warm, and warm through the daemon.
- cis: the engine's info, every running container inspected and checked, their images by
  the rules that need no layer; median of 3.
- the plugin: container creates through real dockerds taking turns create by create — one
  without a plugin, one asking a plugin that does nothing (dockerd's own cost of asking any
  plugin), one asking hullcheck's plugin, run as its own process as users run it, judging each
  create by the policy and recording it in the audit log; p50 and p99 of 200 each. Target:
  allowed requests with a cached verdict add under 5 ms.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from tests.infra.authz import signed_guard
from tests.infra.engine import PrivateEngine, kill_running, load_archive, remove_dead_plugins
from tests.infra.images import ImageFactory
from tests.infra.vulndata import vuln_path

from bench.fleet import fill, median_time
from bench.sbom import machine
from hullcheck import api
from hullcheck.api import review as review_api
from hullcheck.audit import authz

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


def _creates(engines: list[PrivateEngine], image: str, count: int) -> list[list[float]]:
    """Seconds each of ``count`` container creates takes on each engine, the engines taking
    turns create by create (a busy moment of the shared machine falls on all of them alike);
    10 creates each first, not timed. The containers are removed after."""
    clients = [engine.client() for engine in engines]
    made: list[list[str]] = [[] for _ in engines]
    times: list[list[float]] = [[] for _ in engines]
    try:
        for index in range(count + 10):
            for at, client in enumerate(clients):
                start = time.perf_counter()
                made[at].append(
                    client.api.create_container(image, ["true"], name=f"lat-{index}")["Id"]
                )
                if index >= 10:
                    times[at].append(time.perf_counter() - start)
    finally:
        for client, containers in zip(clients, made, strict=True):
            for container in containers:
                client.api.remove_container(container, force=True)
            client.close()
    return times


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _floor_plugin(name: str) -> threading.Thread:
    """The least an authorization plugin can do — a thread answering every request "allow"
    with no judging, recording or HTTP library — on ``PLUGINS_DIR/NAME.sock``: what dockerd's
    own asking of a plugin costs, below which no plugin can go."""
    os.makedirs(authz.PLUGINS_DIR, exist_ok=True)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(os.path.join(authz.PLUGINS_DIR, f"{name}.sock"))
    listener.listen(64)

    def serve() -> None:
        while True:
            connection, _ = listener.accept()
            with connection:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += connection.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = re.search(rb"(?i)content-length: *(\d+)", head)
                while length is not None and len(body) < int(length.group(1)):
                    body += connection.recv(65536)
                answer = b'{"Implements":["authz"]}' if b"Activate" in head else b'{"Allow":true}'
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.plugins.v1.2+json"
                    b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(answer), answer)
                )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def _plugin_latency(tag: str, archive: str, work: str) -> dict[str, float]:
    """Container creates on three engines taking turns: one without a plugin, one asking the
    floor plugin, one asking ``hullcheck audit authz --policy`` — run as users run it, a
    process of its own on a configured host, each create judged (the image looked up through
    the engine once, then kept) and recorded in the audit log before it is answered."""
    policy = os.path.join(work, "policy.yaml")
    with open(policy, "w") as handle:
        handle.write("fail-on: high\n")
    remove_dead_plugins()
    floor, guarded = (f"bench-{uuid.uuid4().hex[:8]}" for _ in range(2))
    engines = [
        PrivateEngine("bench-authz-plain"),
        PrivateEngine("bench-authz-floor", extra_args=("--authorization-plugin", floor)),
        PrivateEngine("bench-authz-plugin", extra_args=("--authorization-plugin", guarded)),
    ]
    _floor_plugin(floor)
    home = os.path.join(work, "plugin-home")
    db = f"sqlite:///{os.path.join(home, 'hc.db')}"
    with api.open_store(db) as store:
        api.add_host(store, api.Host("h1", engines[2].host, timeout=30))
    plugin = subprocess.Popen(
        [sys.executable, "-m", "hullcheck", "audit", "authz", "--host", "h1", "--socket-name",
         guarded, "--policy", policy, "--db", db],
        env={**os.environ, "HULLCHECK_HOME": home}, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        while not os.path.exists(os.path.join(authz.PLUGINS_DIR, f"{guarded}.sock")):
            time.sleep(0.05)
        for engine in engines:
            engine.start()
            client = engine.client()
            try:
                load_archive(client, archive)
            finally:
                client.close()
        plain, least, judged = _creates(engines, tag, LATENCY_CREATES)
    finally:
        for engine in engines:
            engine.stop()
        plugin.terminate()  # (it says what its requests cost it, from asked to answered)
        said = plugin.communicate(timeout=30)[0].strip().splitlines()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(authz.PLUGINS_DIR, f"{floor}.sock"))
    found: dict[str, float] = {}
    own = re.search(r"p50 ([\d.]+) ms, p99 ([\d.]+) ms", said[-1] if said else "")
    if own is not None:
        found["decision p50"], found["decision p99"] = (float(v) / 1000 for v in own.groups())
    for label, times in (("plain", plain), ("floor", least), ("plugin", judged)):
        found[f"{label} p50"] = _percentile(times, 0.5)
        found[f"{label} p99"] = _percentile(times, 0.99)
    return found


def _signed_latency(archive: str, work: str) -> dict[str, float]:
    """Creates of a signed image pulled from a loopback registry, on an engine whose plugin
    requires a signature by the policy's key, taking turns with an engine without a plugin
    that pulled the same image: the first create asks the registry, every later one is
    answered from the plugin's verdict and image kept (what is measured)."""
    directory = os.path.join(work, "signed")
    os.makedirs(directory)
    policy = "fail-on: high\nsignatures: {keys: [release.pub]}\n"
    with signed_guard(directory, archive, "bench-authz-signed", policy) as (_, image, _, engine):
        plain = PrivateEngine("bench-authz-unsigned", own_data_root=True)  # (as the other)
        shutil.rmtree(plain.data_root, ignore_errors=True)
        plain.start()
        try:
            for pulling in (engine, plain):
                client = pulling.client()
                try:
                    client.images.pull(image)
                finally:
                    client.close()
            unguarded, times = _creates([plain, engine], image, LATENCY_CREATES)
        finally:
            plain.stop()
    return {
        "unsigned p50": _percentile(unguarded, 0.5),
        "unsigned p99": _percentile(unguarded, 0.99),
        "signed p50": _percentile(times, 0.5),
        "signed p99": _percentile(times, 0.99),
    }


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
    print(
        f"\nContainer creates through a real dockerd ({LATENCY_CREATES} per engine, the engines "
        "taking turns), ms:\n"
    )
    print("| engine | p50 | p99 | added p50 / p99 | target |")
    print("|---|---|---|---|---|")
    rows = (
        ("no plugin", "plain", "plain", ""),
        ("the floor: a plugin that answers at once, doing nothing", "floor", "plain", ""),
        ("hullcheck's plugin (own process) judging and recording", "plugin", "plain", "< 5"),
        ("no plugin, beside the next", "unsigned", "unsigned", ""),
        ("hullcheck's plugin requiring a signature (verdict kept)", "signed", "unsigned", "< 5"),
    )
    if "decision p50" in latency:
        rows = (
            *rows[:3],
            (
                "… its requests as the plugin measured them, asked to answered",
                "decision",
                "",
                "< 5",
            ),
            *rows[3:],
        )
    for label, key, base, target in rows:
        p50, p99 = latency[f"{key} p50"] * 1000, latency[f"{key} p99"] * 1000
        added = (
            ""
            if key == base or not base
            else f"{p50 - latency[f'{base} p50'] * 1000:+.1f} / "
            f"{p99 - latency[f'{base} p99'] * 1000:+.1f}"
        )
        print(f"| {label} | {p50:.1f} | {p99:.1f} | {added} | {target} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
