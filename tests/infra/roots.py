"""The Debian 13 root the newer test engines run from (Docker 26.1, Podman 5.4), beside the
host's Debian 12 Docker 20.10.

Built once per machine with ``debootstrap`` into ``CACHE/roots/trixie-RECIPE`` (RECIPE hashes
the package list, so a changed list builds a new root and an unchanged one is reused; ≈1 min,
≈500 MB) and mounted for a test session:

* the root onto itself, made ``rprivate`` — runc needs the container's root filesystem to sit
  on a mount point it can remount ("remount /: invalid argument" otherwise), and nothing the
  engines mount inside it may propagate back to the host;
* ``/proc``, ``/sys`` and ``/dev`` recursively, as ``rslave`` (cgroups, devices, kernel
  interfaces);
* ``/tmp`` and ``CACHE/engines`` at their own paths, so that an engine's socket, exec root and
  data root have the same path inside the root as outside (the tests reach the socket, and
  the TLS files of a test live under ``/tmp``).

Nothing is ever deleted under a path that still has a mount below it.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import subprocess
import threading

from tests.infra.cache import CACHE, MIRROR

SUITE = "trixie"
PACKAGES = (
    "docker.io",
    "containerd",
    "runc",
    "iptables",
    "ca-certificates",
    "podman",
    "crun",
    "conmon",
    "netavark",
    "aardvark-dns",
    "catatonit",
    "nftables",
)
"""Debian 13's Docker 26.1.5 (containerd 1.7.24, runc 1.1.15) and Podman 5.4.2 with what it
runs containers and bridge networks with."""

RECIPE = hashlib.sha256("\n".join((SUITE, *PACKAGES)).encode()).hexdigest()[:12]
ROOTS = os.path.join(CACHE, "roots")
PATH = os.path.join(ROOTS, f"{SUITE}-{RECIPE}")
SHARED = ("/tmp", os.path.join(CACHE, "engines"))
"""Host directories seen at the same path inside the root."""
CONTAINERS_CONF = """\
# written by tests/infra/roots.py: on these VMs (cgroup v1 with a v2 hierarchy beside it, no
# systemd) crun refuses the hybrid layout and there is no systemd to ask for scopes. Podman's
# own flags say the same, but a build's RUN steps (buildah) read only this file. Buildah gives
# RUN steps limits of 1048576 files and processes, which a sandbox that caps root's hard limits
# refuses ("error setting rlimit type 7"): they get the limits the tests run with.
[containers]
default_ulimits = ["nofile={files}:{files}", "nproc={processes}:{processes}"]

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
"""


def mounts_under(path: str) -> list[str]:
    """Mount points at or below ``path``, deepest first (as /proc/self/mountinfo lists them)."""
    path = os.path.realpath(path)
    found = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == path or point.startswith(path + "/"):
                found.append(point)
    return sorted(found, key=lambda p: p.count("/"), reverse=True)


def _remove(path: str) -> None:
    """Delete a stale tree — never while anything (a ``/dev`` bind!) is mounted below it."""
    if not os.path.lexists(path):
        return
    for point in mounts_under(path):
        subprocess.run(["umount", "-l", point], check=True)
    if mounts_under(path):
        raise RuntimeError(f"{path}: still has mounts below it; not removing it")
    shutil.rmtree(path)


def build() -> str:
    """The root, built now unless an earlier run did."""
    if os.path.exists(os.path.join(PATH, "usr", "sbin", "dockerd")):
        return PATH
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is not installed (make system)")
    os.makedirs(ROOTS, exist_ok=True)
    for entry in os.listdir(ROOTS):  # older recipes and interrupted builds
        _remove(os.path.join(ROOTS, entry))
    partial = PATH + ".tmp"
    try:
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                SUITE,
                partial,
                MIRROR,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in os.scandir(os.path.join(partial, junk)):
                if entry.is_file(follow_symlinks=False) and entry.name != "lock":
                    os.unlink(entry.path)
    except BaseException:
        _remove(partial)  # debootstrap leaves /proc and /sys mounted when it fails
        raise
    os.replace(partial, PATH)
    return PATH


class MountedRoot:
    """The root mounted while at least one engine runs from it (counted per process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0

    def acquire(self) -> str:
        with self._lock:
            if self._users == 0:
                self._mount(build())
            self._users += 1
            return PATH

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                unmount()

    def _mount(self, root: str) -> None:
        unmount()  # what a killed run left mounted
        with open(os.path.join(root, "etc", "containers", "containers.conf"), "w") as handle:
            files, processes = (
                min(resource.getrlimit(limit)[1] % (1 << 63), 1048576)  # RLIM_INFINITY is -1
                for limit in (resource.RLIMIT_NOFILE, resource.RLIMIT_NPROC)
            )
            handle.write(CONTAINERS_CONF.format(files=files, processes=processes))
        steps = [["mount", "--bind", root, root], ["mount", "--make-rprivate", root]]
        for source in ("/proc", "/sys", "/dev", *SHARED):
            target = root + source
            os.makedirs(target, exist_ok=True)
            steps += [["mount", "--rbind", source, target], ["mount", "--make-rslave", target]]
        try:
            for step in steps:
                subprocess.run(step, check=True)
        except BaseException:
            unmount()
            raise


def unmount() -> None:
    """Take every mount under the root away (the engines' own mounts too)."""
    for point in mounts_under(PATH):
        subprocess.run(["umount", "-l", point], check=False)


ROOT = MountedRoot()
