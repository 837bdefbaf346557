"""A private Docker Engine for tests and benchmarks.

Each engine gets its own socket, exec root and pidfile under a short /tmp path and its own
data root under the test cache directory (so images built once survive between runs).
A second engine beside it runs with ``--bridge none --iptables=false``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any

import docker

CACHE = os.environ.get(
    "HULLCHECK_TEST_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "hullcheck-test")
)


@dataclass
class PrivateEngine:
    name: str
    extra_args: tuple[str, ...] = ()
    """More dockerd arguments (another ``-H`` listener with TLS, say)."""
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None

    @property
    def run_dir(self) -> str:
        return f"/tmp/hullcheck-test-{os.getuid()}/{self.name}"

    @property
    def socket(self) -> str:
        return os.path.join(self.run_dir, "docker.sock")

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def data_root(self) -> str:
        return os.path.join(CACHE, "engines", self.name)

    def start(self, timeout: float = 90.0) -> None:
        if shutil.which("dockerd") is None:
            raise RuntimeError("dockerd is not installed (apt-get install docker.io)")
        os.makedirs(self.run_dir, exist_ok=True)
        os.makedirs(self.data_root, exist_ok=True)
        self._kill_stale()
        log = open(os.path.join(self.run_dir, "dockerd.log"), "wb")  # noqa: SIM115 - closed in stop()
        self.log = log
        self.process = subprocess.Popen(
            [
                "dockerd",
                "--data-root",
                self.data_root,
                "--exec-root",
                os.path.join(self.run_dir, "exec"),
                "-H",
                self.host,
                "--pidfile",
                os.path.join(self.run_dir, "dockerd.pid"),
                "--bridge",
                "none",
                "--iptables=false",
                "--ip-masq=false",
                # containers whose PID 1 ignores SIGTERM (`sleep infinity`) are killed after 2 s
                # instead of 10, so a test engine stops within stop()'s 30 s (a killed dockerd
                # leaves every container's shim running; hundreds of containers must be killed
                # before stop(), as bench.fleet does)
                "--shutdown-timeout",
                "2",
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait(timeout, log.name)
        except BaseException:
            self.stop()
            raise

    def _wait(self, timeout: float, log: str) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dockerd {self.name} exited; see {log}")
            if os.path.exists(self.socket):
                # a socket left by an earlier run exists before this dockerd listens on it:
                # creating the client (which asks for the API version) fails until it does
                try:
                    client = self.client()
                except docker.errors.DockerException:
                    time.sleep(0.3)
                    continue
                try:
                    client.ping()
                    return
                except docker.errors.DockerException:
                    pass
                finally:
                    client.close()
            time.sleep(0.3)
        raise RuntimeError(f"dockerd {self.name} did not answer /_ping in {timeout}s")

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.host, timeout=600)

    def _kill_stale(self) -> None:
        pidfile = os.path.join(self.run_dir, "dockerd.pid")
        try:
            with open(pidfile) as handle:
                pid = int(handle.read().strip())
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        if self.log is not None:
            self.log.close()
            self.log = None


def load_archive(client: docker.DockerClient, archive: str) -> Any:
    """The one image of a docker-archive file, loaded into the engine of ``client``."""
    with open(archive, "rb") as handle:
        (loaded,) = client.images.load(handle.read())
    return loaded


def kill_running(client: docker.DockerClient) -> None:
    """SIGKILL every running container, 16 at a time (``sleep`` ignores SIGTERM as PID 1: an
    engine asked to stop hundreds of them gives up and leaves their shims running)."""
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda container: container.kill(), client.containers.list()))


def run_idle(client: docker.DockerClient, image: str, name: str, **options: Any) -> Any:
    """A detached container named ``name`` that sleeps forever, without a network."""
    return client.containers.run(
        image, ["sleep", "infinity"], detach=True, network_mode="none", name=name, **options
    )
