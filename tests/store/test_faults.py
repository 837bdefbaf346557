"""Stores that are not as they should be (finding 8 of the security review): a damaged
store is said to be damaged by every command, with the way back, and exit 2; a store on a
read-only mount can still be queried."""

from __future__ import annotations

import os
import random
import subprocess
from collections.abc import Callable, Iterator

import pytest

from tests.infra.cli import hullcheck
from tests.infra.vulndata import FIXTURES, vuln_path

READERS = [
    ("db", "status"),
    ("hosts", "list"),
    ("packages", "idna"),
    ("affected", "CVE-2023-29383"),
    ("fleet", "report"),
    ("scan", "--stored"),
]


@pytest.fixture
def ubuntu_root(rootfs: Callable[[str, dict[str, str]], str]) -> str:
    return rootfs(
        "ubuntu-18.04",
        {"/var/lib/dpkg/status": f"{FIXTURES}/dpkg/ubuntu-18.04_var_lib_dpkg_status"},
    )


def filled_store(path: str, root: str) -> str:
    """A store with the Ubuntu records and a stored scan, closed."""
    db = f"sqlite:///{path}"
    assert hullcheck("db", "import", vuln_path("ubuntu"), env={"HULLCHECK_DB": db}).returncode == 0
    assert hullcheck("scan", root, env={"HULLCHECK_DB": db}).returncode == 0
    return db


def test_a_damaged_store_is_said_to_be_damaged_by_every_command(tmp_path, ubuntu_root: str) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "hc.db")
    db = filled_store(path, ubuntu_root)
    size = os.path.getsize(path)
    with open(path, "r+b") as handle:  # every page but the first (the schema) is garbage
        handle.seek(4096)
        handle.write(random.Random(14).randbytes(size - 4096))
    for command in [*READERS, ("scan", ubuntu_root), ("sbom", ubuntu_root)]:
        done = hullcheck(*command, env={"HULLCHECK_DB": db})
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert f"hullcheck: error: {path}: the store is damaged" in done.stderr, command
        assert "hint: restore it from a backup" in done.stderr
        assert "Traceback" not in done.stderr and "[SQL:" not in done.stderr, command


@pytest.fixture
def read_only_mount(tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    mount = str(tmp_path / "mnt")
    os.mkdir(mount)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mount], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", mount], check=True)


def test_a_store_on_a_read_only_mount_can_be_queried(
    read_only_mount: str, ubuntu_root: str
) -> None:
    path = os.path.join(read_only_mount, "hc.db")
    db = filled_store(path, ubuntu_root)
    subprocess.run(["mount", "-o", "remount,ro", read_only_mount], check=True)
    for command in [*READERS[:-1], ("scan", ubuntu_root, "--fail-on", "low")]:
        done = hullcheck(*command, env={"HULLCHECK_DB": db})
        assert done.returncode in (0, 1), (command, done.stderr)
        assert "error" not in done.stderr, (command, done.stderr)
    scanned = hullcheck("scan", ubuntu_root, env={"HULLCHECK_DB": db})
    assert "CVE-2023-29383" in scanned.stdout  # matched against the read-only database
    written = hullcheck("db", "import", vuln_path("ubuntu"), env={"HULLCHECK_DB": db})
    assert written.returncode == 2
    assert "the store is read-only here" in written.stderr and "[SQL:" not in written.stderr


def test_a_store_others_can_read_is_named_and_a_new_one_is_private(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "new" / "hc.db")
    db = f"sqlite:///{path}"
    assert hullcheck("db", "status", env={"HULLCHECK_DB": db}).returncode == 0
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700
    os.chmod(path, 0o644)
    done = hullcheck("db", "status", env={"HULLCHECK_DB": db})
    assert done.returncode == 0
    assert f"hullcheck: warning: {path}: the store is readable by other users" in done.stderr
