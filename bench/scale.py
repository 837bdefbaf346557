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


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "HULLCHECK_DAEMON": "off"},
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{command}: exit {done.returncode}: {done.stderr.decode()[-500:]}")
    return time.perf_counter() - start


def main() -> int:
    results: dict[tuple[int, str], float] = {}
    with tempfile.TemporaryDirectory(prefix="hc-scale-") as root:
        for count in SIZES:
            layout = image(root, count)
            for output in OUTPUTS:
                command = [sys.executable, "-m", "hullcheck", "sbom", f"oci-dir:{layout}"]
                command += ["--no-store", "-q", "-f", output, "-o", os.devnull]
                results[count, output] = timed(command)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nScale benchmark · {now} · {machine()}\n")
    print("| output | 10k packages s | 100k packages s | ratio (linear ≈ 10) |")
    print("|---|---|---|---|")
    for output in OUTPUTS:
        small, large = results[SIZES[0], output], results[SIZES[1], output]
        print(f"| sbom -f {output} | {small:.2f} | {large:.2f} | {large / small:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
