"""A private PostgreSQL server for the store tests: initdb in a temp dir, a free loopback port.

PostgreSQL refuses to run as root, so when the tests run as root the cluster belongs to the
``postgres`` system user that Debian's package creates, and is run through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"{name} not found: install Debian's postgresql (make system)")
    return found[-1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivatePostgres:
    """One cluster for the test session; :meth:`database` makes a fresh database per test."""

    def __init__(self) -> None:
        self.root = tempfile.mkdtemp(prefix="hc-pg-")
        self.data = os.path.join(self.root, "data")
        self.port = _free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as_user, *command], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run(
            _bin("initdb"), "-D", self.data, "-U", "hullcheck", "--auth=trust",
            "--encoding=UTF8", "--locale=en_US.UTF-8" if _has_locale() else "--no-locale",
        )  # fmt: skip
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = os.path.join(self.root, "server.log")
        self._run(_bin("pg_ctl"), "-D", self.data, "-l", log, "-o", options, "-w", "start")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not start on port {self.port}; see {log}")

    def database(self) -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self._url("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://hullcheck@127.0.0.1:{self.port}/{name}"

    def _url(self, name: str) -> str:
        return f"postgresql://hullcheck@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run(_bin("pg_ctl"), "-D", self.data, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _has_locale() -> bool:
    """A non-C locale, so that a text column's default collation is not byte order."""
    result = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False)
    return "en_US.utf8" in result.stdout.split()
