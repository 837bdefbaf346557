"""Outputs the user names: devices and pipes are written through, links are not followed into
a replacement, new files are private (finding 0 of the security review)."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable

import pytest

from hullcheck.errors import UsageError
from hullcheck.files import private_file, write_output
from tests.infra.cli import hullcheck
from tests.infra.vulndata import FIXTURES


@pytest.fixture
def alpine_root(rootfs: Callable[[str, dict[str, str]], str]) -> str:
    return rootfs(
        "alpine-3.18", {"/lib/apk/db/installed": f"{FIXTURES}/apk/alpine-3.18_lib_apk_db_installed"}
    )


def test_output_to_a_character_device_keeps_the_device(tmp_path, alpine_root: str) -> None:  # type: ignore[no-untyped-def]
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a /dev/null of the test's own
    done = hullcheck("sbom", alpine_root, "-f", "json", "-o", str(null), "--no-store")
    assert done.returncode == 0, done.stderr
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    assert os.lstat(null).st_rdev == os.makedev(1, 3)
    assert [n for n in os.listdir(tmp_path) if n.startswith(".null")] == []


def test_output_through_a_link_to_a_device_is_written_through(tmp_path) -> None:  # type: ignore[no-untyped-def]
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    (tmp_path / "stdout").symlink_to(null)  # as /dev/stdout is a link to /proc/self/fd/1
    write_output(str(tmp_path / "stdout"), "{}\n")
    assert os.path.islink(tmp_path / "stdout") and stat.S_ISCHR(os.lstat(null).st_mode)


def test_output_into_a_fifo_reaches_its_reader(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fifo = str(tmp_path / "pipe")
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as handle:
            received.append(handle.read())

    reader = threading.Thread(target=read)
    reader.start()
    write_output(fifo, "through the pipe\n")
    reader.join(timeout=30)
    assert received == [b"through the pipe\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_link_to_a_regular_file_is_refused_and_its_target_untouched(tmp_path) -> None:  # type: ignore[no-untyped-def]
    victim = tmp_path / "shadow"
    victim.write_text("root:secret\n")
    planted = tmp_path / "report.json"
    planted.symlink_to(victim)
    with pytest.raises(UsageError, match="report.json: is a link to a regular file"):
        write_output(str(planted), "forged\n")
    assert victim.read_text() == "root:secret\n"
    assert os.path.islink(planted)


def test_regular_files_are_replaced_keeping_their_mode_and_new_ones_are_private(tmp_path) -> None:  # type: ignore[no-untyped-def]
    existing = tmp_path / "old.json"
    existing.write_text("old")
    os.chmod(existing, 0o640)
    write_output(str(existing), "new")
    assert existing.read_text() == "new" and stat.S_IMODE(os.stat(existing).st_mode) == 0o640
    fresh = tmp_path / "fresh.json"
    write_output(str(fresh), "x")
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["fresh.json", "old.json"]


def test_a_directory_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match="is a directory"):
        write_output(str(tmp_path), "x")


def test_private_file_never_follows_a_planted_link(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "elsewhere"
    (tmp_path / "store.db").symlink_to(target)
    with pytest.raises(UsageError, match="store.db: is not a regular file"):
        private_file(str(tmp_path / "store.db"))
    assert not target.exists()
