"""`make bench`: writing CycloneDX and SPDX against writing hullcheck's own JSON.

The target (issue 15): each standard format costs at most 1.2× hullcheck JSON for the same
SBOM, at 100 and 2,000 packages. The SBOM is read once from an image whose dpkg status holds
the real stanzas of ``tests/data/fixtures/dpkg/debian-12-buildhost_var_lib_dpkg_status``
(renamed to reach the count, as in ``bench/scale.py``); each format is then rendered in this
process, best of 15 runs; and as a user runs it: a whole ``hullcheck sbom`` process (best of
3), and a command served warm by the daemon (best of 5).
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import tempfile
import time

from bench.sbom import machine
from bench.scale import image, timed
from hullcheck.api import generate_sbom
from hullcheck.report import render

SIZES = (100, 2_000)
FORMATS = ("json", "cyclonedx-json", "spdx-json")
RUNS = 15


def best_render(sbom: object, fmt: str) -> float:
    best = float("inf")
    for _ in range(RUNS):
        start = time.perf_counter()
        render(sbom, fmt)  # type: ignore[arg-type]
        best = min(best, time.perf_counter() - start)
    return best


def _served(command: list[str], home: str) -> dict[str, float]:
    """Each format through a running daemon (warm: modules loaded, layers cached), best of
    five."""
    env = {**os.environ, "HULLCHECK_HOME": home}
    env.pop("HULLCHECK_DAEMON", None)
    control = [sys.executable, "-m", "hullcheck", "daemon"]
    subprocess.run([*control, "start"], env=env, check=True, stdout=subprocess.DEVNULL)
    try:
        found = {}
        for fmt in FORMATS:
            runs = []
            for _ in range(5):
                start = time.perf_counter()
                subprocess.run(
                    [*command, "-f", fmt, "-o", os.devnull], env=env, check=True, timeout=120
                )
                runs.append(time.perf_counter() - start)
            found[fmt] = min(runs)
        return found
    finally:
        subprocess.run([*control, "stop"], env=env, check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    rows = []
    hullcheck = [sys.executable, "-m", "hullcheck"]
    with tempfile.TemporaryDirectory(prefix="hc-render-") as root:
        home = os.path.join(root, "home")
        for count in SIZES:
            layout = image(root, count)
            sbom = generate_sbom(f"oci-dir:{layout}", use_cache=False)
            rendered = {fmt: best_render(sbom, fmt) for fmt in FORMATS}
            command = [*hullcheck, "sbom", f"oci-dir:{layout}", "--no-store", "-q"]
            process = {
                fmt: min(timed([*command, "-f", fmt, "-o", os.devnull], home) for _ in range(3))
                for fmt in FORMATS
            }
            served = _served(command, home)
            rows.extend(
                (
                    len(sbom.packages),
                    fmt,
                    rendered[fmt] * 1000,
                    rendered[fmt] / rendered["json"],
                    process[fmt],
                    process[fmt] / process["json"],
                    served[fmt],
                    served[fmt] / served["json"],
                )
                for fmt in FORMATS
            )
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nRendering benchmark · {now} · {machine()}\n")
    print(
        "| packages | format | render ms | × json | `hullcheck sbom` s | × json "
        "| served by the daemon s | × json |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for packages, fmt, ms, ratio, seconds, process_ratio, warm, warm_ratio in rows:
        print(
            f"| {packages} | {fmt} | {ms:.1f} | {ratio:.2f} | {seconds:.2f} | "
            f"{process_ratio:.2f} | {warm:.3f} | {warm_ratio:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
