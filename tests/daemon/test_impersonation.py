"""Finding 1 of the security review: nobody but the caller's own daemon gets a command.

A fake daemon — a plain Python server, run as another user where the attack needs one —
stands where the client looks. It records every byte it receives and answers as a daemon
would, with exit status 0 for a command that fails when run for real. The client must run
the command itself, send the fake nothing, and never signal a pid the fake names."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.daemon.test_daemon import NOBODY, Served, served, unstarted, until

__all__ = ["served", "unstarted"]  # the fixtures of the daemon tests, used here too

FAKE = r"""
import marshal, os, socket, struct, sys, time
path, log, named_pid = sys.argv[1], sys.argv[2], int(sys.argv[3])

def pack(message):
    body = marshal.dumps(message)
    return len(body).to_bytes(4, "big") + body

server = socket.socket(socket.AF_UNIX)
server.bind(path)
os.chmod(path, 0o777)
server.listen(8)
open(log + ".ready", "w").close()
while True:
    connection, _ = server.accept()
    peer = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
    connection.settimeout(10)
    received = b""
    try:
        while len(received) < 4 or len(received) < 4 + int.from_bytes(received[:4], "big"):
            chunk = connection.recv(1 << 16)
            if not chunk:
                break
            received += chunk
    except OSError:
        pass
    with open(log, "ab") as handle:
        handle.write(received)
    if received:
        connection.sendall(pack({"pid": named_pid}))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # until the client handles SIGINT (bit 2 of SigCgt)
            with open(f"/proc/{peer}/status") as status:
                caught = int(status.read().split("SigCgt:")[1].split()[0], 16)
            if caught & 0b10:
                open(log + ".handlers", "w").close()
                break
            time.sleep(0.01)
        while not os.path.exists(log + ".go") and time.monotonic() < deadline:
            time.sleep(0.01)
        connection.sendall(pack({"exit": 0}))
    connection.close()
"""


@dataclass
class Fake:
    socket: str
    log: str
    process: subprocess.Popen[bytes]

    def received(self) -> bytes:
        with open(self.log, "rb") as handle:
            return handle.read()


def start_fake(directory: str, user: int | None, named_pid: int) -> Fake:
    """A fake daemon listening in ``directory`` (which ``user`` must be able to write)."""
    path = os.path.join(directory, "fake.sock")
    log = os.path.join(directory, "fake.log")
    open(log, "wb").close()
    os.chown(log, user if user is not None else 0, -1)
    process = subprocess.Popen(
        ["/usr/bin/python3", "-c", FAKE, path, log, str(named_pid)],
        user=user,
        env={"PATH": os.environ["PATH"]},
    )
    assert until(lambda: os.path.exists(log + ".ready"))
    return Fake(path, log, process)


@pytest.fixture
def place() -> Iterator[str]:
    """A short directory: the caller's own private socket directory is made inside it."""
    top = tempfile.mkdtemp(prefix="hci-")
    os.chmod(top, 0o755)
    yield top
    shutil.rmtree(top, ignore_errors=True)


def run_client(socket_path: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HULLCHECK_SOCKET": socket_path, "HC_PLANTED": "planted-root-secret"}
    return subprocess.run(
        [sys.executable, "-m", "hullcheck", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def planted_in_another_users_daemon(place: str) -> tuple[Fake, str]:
    """A fake run by nobody whose socket was moved into root's own 0700 directory and given
    to root — as a symlink flip between the client's checks and its connect() would have it:
    the directory and the socket file pass every check of the file system."""
    theirs = os.path.join(place, "theirs")
    os.mkdir(theirs)
    os.chown(theirs, NOBODY, -1)
    fake = start_fake(theirs, NOBODY, os.getpid())
    ours = os.path.join(place, "ours")
    os.mkdir(ours, 0o700)
    planted = os.path.join(ours, "daemon.sock")
    os.rename(fake.socket, planted)
    os.chown(planted, 0, 0)
    return fake, planted


def test_a_daemon_of_another_user_gets_nothing(place: str) -> None:
    fake, planted = planted_in_another_users_daemon(place)
    try:
        result = run_client(planted, "scan", os.path.join(place, "missing.tar"), "--fail-on", "low")
    finally:
        fake.process.kill()
        fake.process.wait()
    assert result.returncode == 2  # run here, for real: not the fake's forged 0
    assert "missing.tar" in result.stderr
    assert fake.received() == b""  # not one byte: no environment, no descriptors


def test_a_socket_reached_through_a_symlinked_directory_is_not_trusted(place: str) -> None:
    fake, planted = planted_in_another_users_daemon(place)
    link = os.path.join(place, "link")
    os.symlink(os.path.dirname(planted), link)
    try:
        result = run_client(os.path.join(link, "daemon.sock"), "scan", "/nonexistent.tar")
    finally:
        fake.process.kill()
        fake.process.wait()
    assert result.returncode == 2
    assert fake.received() == b""


def test_a_pid_the_daemon_names_is_signalled_only_when_it_is_its_worker(place: str) -> None:
    victim = subprocess.Popen(["sleep", "300"])  # not the daemon's worker
    ours = os.path.join(place, "ours")
    os.mkdir(ours, 0o700)
    fake = start_fake(ours, None, victim.pid)  # of this user: it passes the identity checks
    client = subprocess.Popen(
        [sys.executable, "-m", "hullcheck", "--version"],
        env={**os.environ, "HULLCHECK_SOCKET": fake.socket},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert until(lambda: os.path.exists(fake.log + ".handlers"), 60)
        client.send_signal(signal.SIGINT)  # Ctrl-C: relayed only to a verified worker
        time.sleep(0.2)
        open(fake.log + ".go", "w").close()
        client.communicate(timeout=60)
        with pytest.raises(subprocess.TimeoutExpired):
            victim.wait(timeout=1)
    finally:
        for process in (victim, fake.process, client):
            process.kill()
            process.wait()


def test_a_silent_client_holds_up_no_one(served: Served) -> None:
    before = served.status()["served"]
    silent = socket.socket(socket.AF_UNIX)
    silent.connect(served.socket)  # and says nothing
    try:
        result = served.run("--version")
        assert result.returncode == 0
        assert served.status()["served"] == before + 1
        silent.setblocking(False)
        with pytest.raises(BlockingIOError):  # still waited for: not dropped to serve the other
            silent.recv(1)
    finally:
        silent.close()
