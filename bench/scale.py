"""`make bench`: hullcheck on images with 10,000 and 100,000 packages — every stage linear.

A small image must not stall ``sbom``, ``scan`` or a ``fleet sync`` (finding 3 of the
security review: a 2 MB dpkg status took a sync from 1 s to 34 s). Each image has two layers,
both carrying a dpkg ``status`` of N stanzas (the second changes one version), as an image
whose later layer ran ``apt-get install`` has. The stanzas are the real ones of
``tests/data/fixtures/dpkg/debian-12-buildhost_var_lib_dpkg_status`` without their
continuation lines (long descriptions, conffiles), renamed ``NAME-iK`` to reach N. Each
output is timed in a process of its own; the ratio of 100k to 10k is ~10 for linear work
and ~100 for quadratic.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import tempfile
import time

from tests.infra.layouts import oci_layout, tar_bytes

from bench.sbom import machine

SIZES = (10_000, 100_000)
STATUS = os.path.join(
    os.path.dirname(__file__),
    "..",
    "tests",
    "data",
    "fixtures",
    "dpkg",
    "debian-12-buildhost_var_lib_dpkg_status",
)
OUTPUTS = ("json", "table", "cyclonedx-json")
DEBIAN_RECORDS = os.path.join(os.path.dirname(STATUS), "..", "..", "vuln", "debian")
RELEASE = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'


def status(count: int, bump: bool) -> bytes:
    with open(STATUS, "rb") as handle:
        stanzas = [s for s in handle.read().split(b"\n\n") if s.strip()]
    out = []
    for index in range(count):
        stanza = stanzas[index % len(stanzas)]
        lines = stanza.split(b"\n")
        copy = index // len(stanzas)
        renamed = []
        for line in lines:
            if line.startswith(b" "):
                continue  # long descriptions and conffiles: 100k stanzas stay under 64 MiB
            if line.startswith(b"Package: ") and copy:
                line = line + b"-i%d" % copy
            if line.startswith(b"Version: ") and bump and index == 0:
                line = line + b"+bench1"
            renamed.append(line)
        out.append(b"\n".join(renamed))
    return b"\n\n".join(out) + b"\n"


def image(root: str, count: int) -> str:
    lower = tar_bytes(
        ("file", "etc/os-release", RELEASE), ("file", "var/lib/dpkg/status", status(count, False))
    )
    upper = tar_bytes(("file", "var/lib/dpkg/status", status(count, True)))
    return oci_layout(os.path.join(root, f"img-{count}"), [lower, upper])


def timed(command: list[str], home: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "HULLCHECK_DAEMON": "off", "HULLCHECK_HOME": home},
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{command}: exit {done.returncode}: {done.stderr.decode()[-500:]}")
    return time.perf_counter() - start


def main() -> int:
    results: dict[tuple[int, str], float] = {}
    hullcheck = [sys.executable, "-m", "hullcheck"]
    with tempfile.TemporaryDirectory(prefix="hc-scale-") as root:
        home = os.path.join(root, "home")
        timed([*hullcheck, "db", "import", DEBIAN_RECORDS], home)
        for count in SIZES:
            layout = image(root, count)
            for output in OUTPUTS:
                command = [*hullcheck, "sbom", f"oci-dir:{layout}", "--no-store", "-q"]
                command += ["-f", output, "-o", os.devnull]
                results[count, f"sbom -f {output}"] = timed(command, home)
            command = [*hullcheck, "scan", f"oci-dir:{layout}", "-q", "-o", os.devnull]
            results[count, "scan (first: sbom, store, match)"] = timed(command, home)
            command = [*hullcheck, "scan", "--stored", "-q"]
            results[count, "scan --stored (rematch)"] = timed(command, home)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nScale benchmark · {now} · {machine()}\n")
    print("| task | 10k packages s | 100k packages s | ratio (linear ≈ 10) |")
    print("|---|---|---|---|")
    for task in dict.fromkeys(task for _, task in results):
        small, large = results[SIZES[0], task], results[SIZES[1], task]
        print(f"| {task} | {small:.2f} | {large:.2f} | {large / small:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
