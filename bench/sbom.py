"""`make bench`: hullcheck sbom side by side with Syft on the same images, in the same run.

Images (built or reused in a private engine): Debian 12 minbase, + 10 PyPI packages,
+ express (≈70 npm packages); each as docker-archive and OCI layout. For each, wall time and
peak RSS of `syft` and of `hullcheck sbom` cold (empty store), warm (layer cache hit) and
served (layer cache hit, through a running ``hullcheck daemon``), median of several runs, and
the package sets compared per type.

hullcheck runs with its bytecode cached, as an installed package has it (pip compiles it at
install time): this machine sets ``PYTHONDONTWRITEBYTECODE``, under which an editable install
compiles its 80 modules from source at every start (50-60 ms). The cache lives in a directory
of the bench's own, filled by one untimed scan before the timed ones.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from tests.infra.engine import PrivateEngine
from tests.infra.images import ImageFactory

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
BYTECODE = os.path.join(tempfile.gettempdir(), "hc-bench-bytecode")
COMPARED = {"deb", "python", "npm"}
HULLCHECK = os.path.join(os.path.dirname(sys.executable), "hullcheck")
"""The console script pip installs, as users run it (``python -m`` would add runpy's imports)."""
GNU_TIME = "/usr/bin/time"
"""Debian's ``time`` package (scripts/install-system.sh installs it)."""


@dataclass
class Run:
    seconds: float
    rss_mb: float
    stdout: str


def measure(command: list[str], env: dict[str, str] | None = None) -> Run:
    """Wall time and peak RSS of ``command``. The peak is read by GNU time, which forks the
    command from its own small process: a child spawned from this one (vfork, then exec)
    inherits this process's high-water mark in its ``ru_maxrss``, which grows as the bench
    collects outputs (it read 50 MB for a 36 MB scan)."""
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as peak:
        start = time.perf_counter()
        process = subprocess.run(
            [GNU_TIME, "-f", "%M", "-o", peak.name, *command],
            stdout=out,
            stderr=subprocess.DEVNULL,
            env=env,
            check=False,
        )
        elapsed = time.perf_counter() - start
        if process.returncode:
            raise RuntimeError(f"{command} exited {process.returncode}")
        out.seek(0)
        return Run(elapsed, int(peak.read().split()[-1]) / 1024, out.read().decode())


def median(runs: list[Run]) -> Run:
    ordered = sorted(runs, key=lambda r: r.seconds)
    middle = ordered[len(ordered) // 2]
    return Run(middle.seconds, max(r.rss_mb for r in runs), middle.stdout)


def _key(kind: str, name: str, version: str) -> tuple[str, str, str]:
    # Python names compare as PEP 503 normalises them (Syft lower-cases, hullcheck keeps
    # the METADATA spelling); everything else compares exactly.
    if kind == "python":
        name = re.sub(r"[-_.]+", "-", name).lower()
    return kind, name, version


def syft_packages(text: str) -> set[tuple[str, str, str]]:
    return {
        _key(a["type"], a["name"], a["version"])
        for a in json.loads(text)["artifacts"]
        if a["type"] in COMPARED
    }


def hullcheck_packages(text: str) -> set[tuple[str, str, str]]:
    return {
        _key(p["type"], p["name"], p["version"])
        for p in json.loads(text)["packages"]
        if p["type"] in COMPARED
    }


def bench_one(label: str, reference: str, syft_ref: str) -> dict[str, object]:
    syft = shutil.which("syft") or os.path.join(os.path.dirname(sys.executable), "syft")
    syft_env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    syft_runs = [measure([syft, "-q", syft_ref, "-o", "json"], syft_env) for _ in range(RUNS)]
    cold_runs, warm_runs, served_runs, daemon_mb = [], [], [], 0.0
    command = [HULLCHECK, "sbom", "-q", "-f", "json", reference]
    for turn in range(RUNS + 1):
        home = tempfile.mkdtemp(prefix="hc-bench-")
        env = {**os.environ, "HULLCHECK_HOME": home, "PYTHONPYCACHEPREFIX": BYTECODE}
        for name in ("HULLCHECK_DB", "HULLCHECK_SOCKET", "PYTHONDONTWRITEBYTECODE"):
            env.pop(name, None)
        alone = {**env, "HULLCHECK_DAEMON": "off"}
        cold, warm = measure(command, alone), measure(command, alone)
        subprocess.run(
            [HULLCHECK, "daemon", "start"], env=env, check=True, stdout=subprocess.DEVNULL
        )
        try:
            served = measure(command, env)
            daemon_mb = max(daemon_mb, _daemon_rss_mb(env))
        finally:
            subprocess.run(
                [HULLCHECK, "daemon", "stop"], env=env, check=True, stdout=subprocess.DEVNULL
            )
        if hullcheck_packages(served.stdout) != hullcheck_packages(warm.stdout):
            raise RuntimeError(f"{label}: the daemon's SBOM differs from the process's")
        if turn:  # the first turn fills the bytecode cache
            cold_runs.append(cold)
            warm_runs.append(warm)
            served_runs.append(served)
        shutil.rmtree(home)
    syft_run, cold, warm = median(syft_runs), median(cold_runs), median(warm_runs)
    ours, theirs = hullcheck_packages(cold.stdout), syft_packages(syft_run.stdout)
    return {
        "image": label,
        "syft": syft_run,
        "cold": cold,
        "warm": warm,
        "served": median(served_runs),
        "daemon_mb": daemon_mb,
        "ours": ours,
        "theirs": theirs,
    }


def _daemon_rss_mb(env: dict[str, str]) -> float:
    """Resident memory of the daemon process (its workers share its pages until they write)."""
    status = subprocess.run(
        [HULLCHECK, "daemon", "status", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    pid = json.loads(status.stdout)["pid"]
    with open(f"/proc/{pid}/status") as handle:
        rss = next(line for line in handle if line.startswith("VmRSS:"))
    return int(rss.split()[1]) / 1024


def machine() -> str:
    cpu = "unknown cpu"
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(
                line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    return (
        f"{platform.node()} · {cpu} · {os.cpu_count()} cores · Python {platform.python_version()}"
    )


def main() -> int:
    engine = PrivateEngine("bench")
    engine.start()
    try:
        factory = ImageFactory(engine.client())
        subjects = []
        for name in ("debian", "python", "npm"):
            tag = getattr(factory, name)()
            archive = factory.save(tag)
            layout = factory.oci(tag)
            subjects.append(
                (f"{name} docker-archive", f"docker-archive:{archive}", f"docker-archive:{archive}")
            )
            subjects.append((f"{name} oci-dir", f"oci-dir:{layout}", f"oci-dir:{layout}"))
    finally:
        engine.stop()
    results = [bench_one(*subject) for subject in subjects]
    print_table(results)
    return 0


def print_table(results: list[dict[str, object]]) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nSBOM benchmark · {now} · {machine()} · median of {RUNS} runs\n")
    header = (
        "image",
        "pkgs hc/syft",
        "syft s",
        "hc cold s",
        "x",
        "hc warm s",
        "x",
        "hc served s",
        "x",
        "syft MB",
        "hc MB",
        "mem",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    daemon_mb = 0.0
    for row in results:
        syft, cold, warm, served = row["syft"], row["cold"], row["warm"], row["served"]
        assert isinstance(syft, Run) and isinstance(cold, Run) and isinstance(warm, Run)
        assert isinstance(served, Run) and isinstance(row["daemon_mb"], float)
        ours, theirs = row["ours"], row["theirs"]
        assert isinstance(ours, set) and isinstance(theirs, set)
        peak = max(cold.rss_mb, warm.rss_mb)
        daemon_mb = max(daemon_mb, row["daemon_mb"])
        print(
            f"| {row['image']} | {len(ours)}/{len(theirs)} | {syft.seconds:.2f} | "
            f"{cold.seconds:.2f} | {syft.seconds / cold.seconds:.1f} | {warm.seconds:.3f} | "
            f"{syft.seconds / warm.seconds:.1f} | {served.seconds:.3f} | "
            f"{syft.seconds / served.seconds:.1f} | {syft.rss_mb:.0f} | "
            f"{peak:.0f} | {peak / syft.rss_mb:.2f} |"
        )
    print("\nx = Syft time / hullcheck time; mem = hullcheck peak RSS / Syft peak RSS.")
    print("cold: empty store; warm: layer cache hit, in a process of its own; served: layer")
    print("cache hit, handed to a running `hullcheck daemon` (the command's own process is")
    print(f"the client; the daemon held {daemon_mb:.0f} MB resident at most).")
    print("hullcheck runs with its bytecode cached, as installed (one untimed scan first).")
    print("Package differences (type, name, version) for deb, python and npm:")
    for row in results:
        ours, theirs = row["ours"], row["theirs"]
        assert isinstance(ours, set) and isinstance(theirs, set)
        only_ours, only_theirs = sorted(ours - theirs), sorted(theirs - ours)
        if only_ours or only_theirs:
            print(
                f"- {row['image']}: only hullcheck {only_ours or '—'}; only syft "
                f"{only_theirs or '—'}"
            )
        else:
            print(f"- {row['image']}: identical")


if __name__ == "__main__":
    sys.exit(main())
