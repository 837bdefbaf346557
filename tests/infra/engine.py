"""Private container engines for tests and benchmarks: the engine matrix.

Each engine gets its own socket, exec root and pidfile under a short /tmp path and its own
data root under the test cache directory (so images loaded once survive between runs). Every
engine runs without a default bridge network and without touching the host's firewall, so
any number of them run beside the host's own engine.

Kinds (``KINDS``; docs/engines.md has the support table):

* ``docker20`` — the host's Debian 12 ``docker.io`` (Docker 20.10, API 1.41);
* ``docker26`` — Debian 13's Docker 26.1 (API 1.45), run from the cached root of
  ``tests.infra.roots`` with ``chroot``, classic image store (overlay2);
* ``docker26-containerd`` — the same with the containerd image store
  (``features.containerd-snapshotter``, Docker 29's default);
* ``podman5`` — Debian 13's Podman 5.4 serving the Docker API (``podman system service``).

``HULLCHECK_TEST_ENGINES=docker20,podman5`` narrows the matrix of a quick local run; CI runs
all of it.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any

import docker
import requests

from hullcheck.audit.authz import PLUGINS_DIR
from tests.infra import roots
from tests.infra.cache import CACHE

__all__ = [
    "CACHE",
    "KINDS",
    "PrivateEngine",
    "free_port",
    "kill_running",
    "load_archive",
    "matrix",
    "remove_dead_plugins",
    "run_idle",
]


@dataclass(frozen=True)
class Kind:
    name: str
    program: str
    """``dockerd`` or ``podman``."""
    chrooted: bool
    """Runs from the Debian 13 root (``tests.infra.roots``), not from the host."""
    config: dict[str, Any] = field(default_factory=dict)
    """dockerd's daemon configuration file."""
    api_version: str = "auto"
    """The API version a client asks for. Podman 5 says it speaks 1.41 and answers every
    version in the path, so ``auto`` works for all four."""
    networks: tuple[str, ...] = ("host", "none")
    """The networks a new engine lists: Docker's ``host`` and ``none`` (its ``bridge`` is
    turned off here); Podman its default network only, ``podman``, which its Docker API
    calls ``bridge`` (host and none are network modes there, not network objects)."""


KINDS = {
    kind.name: kind
    for kind in (
        Kind("docker20", "dockerd", chrooted=False),
        Kind("docker26", "dockerd", chrooted=True),
        Kind(
            "docker26-containerd",
            "dockerd",
            chrooted=True,
            config={"features": {"containerd-snapshotter": True}},
        ),
        Kind("podman5", "podman", chrooted=True, networks=("bridge",)),
    )
}


def matrix() -> list[str]:
    """The engine kinds this run tests: ``HULLCHECK_TEST_ENGINES`` (comma-separated) or all."""
    chosen = os.environ.get("HULLCHECK_TEST_ENGINES", "").replace(" ", "")
    if not chosen:
        return list(KINDS)
    names = chosen.split(",")
    unknown = [name for name in names if name not in KINDS]
    if unknown:
        raise ValueError(f"HULLCHECK_TEST_ENGINES: unknown {unknown}; known: {list(KINDS)}")
    return names


@dataclass
class PrivateEngine:
    name: str
    extra_args: tuple[str, ...] = ()
    """More dockerd arguments (another ``-H`` listener with TLS, say)."""
    kind: str = "docker20"
    config: dict[str, Any] = field(default_factory=dict)
    """More of dockerd's configuration file (over the kind's)."""
    own_data_root: bool = False
    """Keep the data root in the run directory, not in the cache (user namespace remapping
    needs every directory above it searchable by others, which the cache under root's home
    is not)."""
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None

    @property
    def spec(self) -> Kind:
        return KINDS[self.kind]

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
        if self.own_data_root:
            return os.path.join(self.run_dir, "data")
        return os.path.join(CACHE, "engines", self.name)

    def seen_from_host(self, path: str) -> str:
        """Where a path the engine names (a network namespace, a mount) is on this host: the
        engines of Debian 13 run chrooted into their root."""
        return roots.PATH + path if self.spec.chrooted else path

    @property
    def is_podman(self) -> bool:
        return self.spec.program == "podman"

    def start(self, timeout: float = 90.0) -> None:
        spec = self.spec
        if not spec.chrooted and shutil.which("dockerd") is None:
            raise RuntimeError("dockerd is not installed (apt-get install docker.io)")
        os.makedirs(self.run_dir, exist_ok=True)
        os.makedirs(self.data_root, exist_ok=True)
        self._kill_stale()
        self._forget_runtime_state()
        with contextlib.suppress(FileNotFoundError):  # left by an engine killed before it ended
            os.unlink(self._pidfile)
        prefix: list[str] = []
        if spec.chrooted:
            prefix = ["chroot", roots.ROOT.acquire()]
        log = open(os.path.join(self.run_dir, "engine.log"), "wb")  # noqa: SIM115 - closed in stop()
        self.log = log
        command = self._podman() if spec.program == "podman" else self._dockerd()
        self.process = subprocess.Popen(
            [*prefix, *command], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        with open(os.path.join(self.run_dir, "engine.group"), "w") as handle:
            handle.write(str(self.process.pid))
        try:
            self._wait(timeout, log.name)
        except BaseException:
            self.stop()
            raise

    @property
    def config_file(self) -> str:
        """dockerd's configuration file."""
        return os.path.join(self.run_dir, "daemon.json")

    def _dockerd(self) -> list[str]:
        config = self.config_file
        with open(config, "w") as handle:
            json.dump({**self.spec.config, **self.config}, handle)
        return [
            "dockerd",
            "--config-file",
            config,
            "--data-root",
            self.data_root,
            "--exec-root",
            os.path.join(self.run_dir, "exec"),
            "-H",
            self.host,
            "--pidfile",
            self._pidfile,
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
        ]

    def _podman(self) -> list[str]:
        # cgroupfs and runc: on these VMs (cgroup v1 with a v2 hierarchy beside it) crun refuses
        # the hybrid layout and there is no systemd to ask for scopes; events go to a file (no
        # journald); networks are configured per engine, not in the root's shared /etc
        return [
            "podman",
            "--root",
            os.path.join(self.data_root, "storage"),
            "--runroot",
            os.path.join(self.run_dir, "run"),
            "--tmpdir",
            os.path.join(self.run_dir, "libpod"),
            "--network-config-dir",
            os.path.join(self.data_root, "networks"),
            "--volumepath",
            os.path.join(self.data_root, "volumes"),
            "--cgroup-manager",
            "cgroupfs",
            "--runtime",
            "runc",
            "--events-backend",
            "file",
            "system",
            "service",
            "--time=0",
            self.host,
        ]

    @property
    def _pidfile(self) -> str:
        return os.path.join(self.run_dir, "engine.pid")

    def _wait(self, timeout: float, log: str) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} engine {self.name} exited; see {log}")
            # (a socket left by an earlier run exists before this engine listens on it)
            if accepting(self.socket):
                # a client that asks nothing while it is made: one that fails to make would
                # leave its connection to the garbage collector
                probe = docker.APIClient(base_url=self.host, version=PROBE_API, timeout=30)
                try:
                    probe.ping()
                    return
                except (docker.errors.DockerException, requests.RequestException):
                    pass
                finally:
                    probe.close()
            time.sleep(0.3)
        raise RuntimeError(f"{self.kind} engine {self.name} did not answer /_ping in {timeout}s")

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.host, timeout=600, version=self.spec.api_version)

    def _kill_stale(self) -> None:
        """An engine a killed run left behind (its process group: podman's conmons too)."""
        stale = os.path.join(self.run_dir, "engine.group")
        try:
            with open(stale) as handle:
                group = int(handle.read().strip())
        except (OSError, ValueError):
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        os.unlink(stale)
        if self.is_podman:
            _kill_mentioning(self.data_root)  # the conmons, which left the group

    def _forget_runtime_state(self) -> None:
        """Podman's containers outlive its service, and their state lives on disk: a run
        killed midway, or a reboot (which takes the network namespace mounts away), leaves
        containers Podman believes running and cannot read. With its ``alive`` file gone,
        Podman does what it does after a reboot: every container is marked stopped."""
        if self.is_podman:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.run_dir, "libpod", "alive"))

    def stop(self) -> None:
        if self.process is None:
            return
        # Podman's containers outlive its API service (each has its own conmon), and dockerd
        # stops its containers one `--shutdown-timeout` after another (sleepers ignore
        # SIGTERM): killed all at once first, an engine stops in a second or two
        if accepting(self.socket):
            with contextlib.suppress(docker.errors.DockerException, requests.RequestException):
                client = self.client()
                try:
                    kill_running(client)
                finally:
                    client.close()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        # what the engine started in its own session (containerd, shims), and Podman's
        # conmons, which leave it (an exec's lingers for five minutes after the exec ended)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.is_podman:
            _kill_mentioning(self.data_root)
        os.unlink(os.path.join(self.run_dir, "engine.group"))
        self.process = None
        if self.log is not None:
            self.log.close()
            self.log = None
        if self.spec.chrooted:
            roots.ROOT.release()


def load_archive(client: docker.DockerClient, archive: str) -> Any:
    """The one image of a docker-archive file, loaded into the engine of ``client``."""
    with open(archive, "rb") as handle:
        (loaded,) = client.images.load(handle.read())
    return loaded


def _kill_mentioning(path: str) -> None:
    """SIGKILL every process whose command line names ``path``."""
    needle = os.fsencode(path)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if needle in handle.read():
                    os.kill(int(entry), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue


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


PROBE_API = "1.41"
"""The API version asked while waiting for an engine: every engine of the matrix speaks it."""


def accepting(path: str) -> bool:
    """Whether something listens on the Unix socket ``path``. Asked before docker-py
    connects: its own connection leaves the socket of a refused connect to the garbage
    collector, and a ResourceWarning then fails whichever test is running (seen in CI after
    an engine was restarted, and on a socket file a killed run left)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(5)
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback TCP port free now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def remove_dead_plugins() -> None:
    """Sockets a killed run left in dockerd's plugin directory: every engine of this machine
    would ask each of them for volume drivers (15 s apiece) on `docker volume ls`."""
    for name in glob.glob(os.path.join(PLUGINS_DIR, "hc-authz-*.sock")):
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(name)
            except OSError:
                os.unlink(name)
