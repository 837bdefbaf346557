"""``hullcheck daemon``: commands served by a resident process behave as local ones — same
output, exit status, directory, environment, Ctrl-C — and the daemon never serves another
user or code that changed on disk."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import hullcheck
from hullcheck.daemon import protocol

NOBODY = 65534


@dataclass
class Served:
    """A daemon on its own socket, and a way to run hullcheck as a client of it."""

    socket: str
    env: dict[str, str]

    def run(
        self, *args: str, cwd: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hullcheck", *args],
            env={**self.env, **env},
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def status(self) -> dict[str, Any]:
        result = self.run("daemon", "status", "--json")
        assert result.returncode == 0, result.stderr
        return dict(json.loads(result.stdout))

    def workers(self) -> list[int]:
        """The daemon's child processes: the spare, and any worker still running."""
        pid = self.status()["pid"]
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(child) for child in handle.read().split()]


def until(condition: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def unstarted() -> Iterator[Served]:
    """A socket path of its own, no daemon on it yet (stopped at the end if one is)."""
    directory = tempfile.mkdtemp(prefix="hcd-")  # short: a socket path holds 107 bytes
    path = os.path.join(directory, "daemon.sock")
    daemon = Served(path, {**os.environ, "HULLCHECK_SOCKET": path})
    yield daemon
    if os.path.exists(path):
        daemon.run("daemon", "stop")
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def served(unstarted: Served) -> Served:
    started = unstarted.run("daemon", "start")
    assert started.returncode == 0, started.stderr
    assert f"serving on {unstarted.socket}" in started.stdout
    return unstarted


def without_created(text: str) -> dict[str, Any]:
    document = dict(json.loads(text))
    document.pop("created")
    return document


def test_a_served_scan_prints_what_a_local_one_prints(served: Served, images: Any) -> None:
    archive = f"docker-archive:{images.archive('python')}"
    local = served.run("sbom", archive, "--format", "json", HULLCHECK_DAEMON="off")
    assert local.returncode == 0, local.stderr
    before = served.status()["served"]
    remote = served.run("sbom", archive, "--format", "json")
    assert remote.returncode == 0, remote.stderr
    assert served.status()["served"] == before + 1  # it did go through the daemon
    assert without_created(remote.stdout) == without_created(local.stdout)
    assert remote.stderr == local.stderr == ""
    table = served.run("sbom", archive, "--quiet")
    assert table.returncode == 0 and "requests" in table.stdout


def test_errors_and_exit_statuses_pass_through(served: Served) -> None:
    for args, code, message in [
        (("sbom", "docker-archive:/nonexistent.tar"), 2, "/nonexistent.tar"),
        (("sbom", "--bogus"), 2, "No such option: --bogus"),
        (("affected",), 2, "hullcheck: error: missing what to look for"),
    ]:
        local = served.run(*args, HULLCHECK_DAEMON="off")
        remote = served.run(*args)
        assert (remote.returncode, local.returncode) == (code, code)
        assert message in remote.stderr and remote.stderr == local.stderr
        assert "Traceback" not in remote.stderr
    assert served.status()["served"] == 3


def test_the_worker_runs_in_the_callers_directory_and_environment(
    served: Served, images: Any, tmp_path: Any
) -> None:
    mine = tmp_path / "caller-home"
    for name in ("one.cdx.json", "two.cdx.json"):
        result = served.run(
            "sbom",
            f"docker-archive:{images.archive('python')}",
            "--format",
            "cyclonedx-json",
            "-o",
            name,
            cwd=str(tmp_path),
            HULLCHECK_HOME=str(mine),
        )
        assert result.returncode == 0, result.stderr
        assert json.loads((tmp_path / name).read_text())["bomFormat"] == "CycloneDX"
    assert (mine / "data" / "hullcheck.db").exists()  # the caller's store, not the daemon's
    assert served.status()["served"] == 2


def test_files_written_where_the_daemon_was_started_do_not_stop_it(
    served: Served, images: Any, tmp_path: Any
) -> None:
    served.run("daemon", "stop")
    assert served.run("daemon", "start", cwd=str(tmp_path)).returncode == 0
    archive = f"docker-archive:{images.archive('python')}"
    for name in ("one.json", "two.json", "three.json"):  # each changes the directory's time
        assert (
            served.run("sbom", archive, "-f", "json", "-o", name, cwd=str(tmp_path)).returncode == 0
        )
    assert served.status()["served"] == 3


def test_ctrl_c_stops_the_served_command(served: Served) -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # accepts, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    host = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
    client = subprocess.Popen(
        [sys.executable, "-m", "hullcheck", "sbom", "docker:hangs:1"],
        env={**served.env, "DOCKER_HOST": host},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert until(lambda: len(served.workers()) == 2)  # the spare, and the stuck worker
        time.sleep(0.5)
        client.send_signal(signal.SIGINT)
        _, err = client.communicate(timeout=30)
    finally:
        client.kill()
        client.communicate()
        silent.close()
    assert client.returncode == 130, err
    assert until(lambda: len(served.workers()) == 1)  # the worker ended; the spare waits


def test_changed_code_is_never_served(served: Served, images: Any) -> None:
    module = protocol.__file__
    assert module is not None
    status = os.stat(module)
    try:
        os.utime(module, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))
        result = served.run("sbom", f"docker-archive:{images.archive('python')}", "-q")
        assert result.returncode == 0 and "requests" in result.stdout  # ran locally
        assert until(lambda: not os.path.exists(served.socket))  # and the daemon left
    finally:
        os.utime(module, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert served.run("daemon", "status").returncode == 2


def test_another_user_is_not_served(served: Served) -> None:
    directory = os.path.dirname(served.socket)
    before = served.status()["served"]
    os.chmod(directory, 0o711)
    os.chmod(served.socket, 0o666)
    request = protocol.pack({"op": "status"})
    ask = (  # Debian's python3: the project's interpreter is not another user's to run
        "import socket\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        f"s.connect({served.socket!r})\n"
        "try:\n"  # the daemon may refuse before the request is sent, or after: both close
        f"    s.sendall({request!r})\n"
        "    print(s.recv(1 << 16) or 'closed')\n"
        "except (BrokenPipeError, ConnectionResetError):\n"
        "    print('closed')\n"
    )
    result = subprocess.run(
        ["/usr/bin/python3", "-c", ask],
        user=NOBODY,
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "closed"  # without a word
    # and a client of this user does not trust a socket in a directory others can enter
    os.chmod(directory, 0o755)
    assert served.run("--version").returncode == 0
    assert "no daemon answers" in served.run("daemon", "status").stderr  # nor does status
    os.chmod(directory, 0o700)
    assert served.status()["served"] == before


def test_start_stop_and_status(served: Served) -> None:
    again = served.run("daemon", "start")
    assert again.returncode == 0 and "already serving" in again.stdout
    status = served.run("daemon", "status")
    assert f"on {served.socket}" in status.stdout and "0 commands served" in status.stdout
    stopped = served.run("daemon", "stop")
    assert stopped.returncode == 0 and not os.path.exists(served.socket)
    assert served.run("--version").returncode == 0  # runs locally now
    missing = served.run("daemon", "status")
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"hullcheck: error: {served.socket}: no daemon answers")
    shared = served.run("daemon", "start", "--socket", "/tmp/hullcheck-test.sock")
    assert shared.returncode == 2
    assert shared.stderr.startswith("hullcheck: error: /tmp: not a directory of this user")
    long = os.path.join(os.path.dirname(served.socket), "x" * 100, "daemon.sock")
    assert "longer than 107 bytes" in served.run("daemon", "start", "--socket", long).stderr


def test_of_two_daemons_started_together_one_serves(unstarted: Served) -> None:
    both = [
        subprocess.Popen(
            [sys.executable, "-m", "hullcheck", "daemon", "start", "--foreground"],
            env=unstarted.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        assert until(lambda: any(p.poll() is not None for p in both))
        loser = next(p for p in both if p.poll() is not None)
        winner = next(p for p in both if p is not loser)
        assert loser.returncode == 2
        message = f"{unstarted.socket}: a daemon is already serving here"
        assert message in loser.communicate()[1]
        assert until(lambda: os.path.exists(unstarted.socket))
        assert unstarted.status()["pid"] == winner.pid
        assert unstarted.run("--version").returncode == 0
        assert unstarted.status()["served"] == 1
    finally:
        for process in both:
            process.terminate()
            process.communicate(timeout=30)


def test_a_daemon_still_loading_is_not_replaced(unstarted: Served) -> None:
    lock = os.open(f"{unstarted.socket}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a daemon holds it while it imports, no socket yet
        second = unstarted.run("daemon", "start", "--foreground")
        assert second.returncode == 2 and not os.path.exists(unstarted.socket)
        assert f"{unstarted.socket}: a daemon is already serving here" in second.stderr
    finally:
        os.close(lock)
    assert unstarted.run("daemon", "start").returncode == 0
    assert os.path.exists(unstarted.socket)


def test_an_idle_daemon_exits(unstarted: Served) -> None:
    started = unstarted.run("daemon", "start", "--idle-timeout", "1")
    assert started.returncode == 0, started.stderr
    assert until(lambda: not os.path.exists(unstarted.socket))


def test_workers_find_every_lazily_imported_module_loaded() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from hullcheck.daemon import server\n"
            "server.preload()\n"
            "print('\\n'.join(sys.modules))\n",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    from hullcheck.daemon.server import deferred_imports

    lazy = deferred_imports(hullcheck.__path__)  # read from the source: no list kept by hand
    assert {"docker", "zstandard", "hullcheck.store.fleet"} <= lazy  # it does look
    assert sorted(lazy - set(loaded)) == []
